import { uuidV5 } from '@grantline/service-kit';

/** Namespace of account ids: accountId = uuidV5(proposalId, ACCOUNT_NAMESPACE). */
export const ACCOUNT_NAMESPACE = '1b4e28ba-2fa1-4d3b-a3f5-8d7a0c2e6f10';

export const accountIdFor = (proposalId: string) => uuidV5(proposalId.toLowerCase(), ACCOUNT_NAMESPACE);

/** The owner's researcher id is fixed by the account, so opening again names the same owner. */
export const ownerIdFor = (accountId: string) => uuidV5('owner', accountId);

/** The deposit that funds the account, one per account. */
export const depositIdFor = (accountId: string) => uuidV5('deposit', accountId);

/** A student added with an Idempotency-Key gets the same id when the request is repeated. */
export const memberIdFor = (accountId: string, idempotencyKey: string) =>
  uuidV5(`member:${idempotencyKey}`, accountId);
