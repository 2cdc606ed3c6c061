import { uuidV5 } from '@grantline/service-kit';

/** accountId = uuidV5(proposalId, ACCOUNT_NAMESPACE), shared with the agency, which checks it. */
export { ACCOUNT_NAMESPACE, accountIdFor } from '@grantline/service-kit';

/** The owner's researcher id is fixed by the account, so opening again names the same owner. */
export const ownerIdFor = (accountId: string) => uuidV5('owner', accountId);

/** The deposit that funds the account, one per account. */
export const depositIdFor = (accountId: string) => uuidV5('deposit', accountId);

/** A student added with an Idempotency-Key gets the same id when the request is repeated. */
export const memberIdFor = (accountId: string, idempotencyKey: string) =>
  uuidV5(`member:${idempotencyKey}`, accountId);
