import { uuidV5 } from './uuid-v5';

/** Namespace of account ids: accountId = uuidV5(proposalId, ACCOUNT_NAMESPACE). Fixed forever. */
export const ACCOUNT_NAMESPACE = '1b4e28ba-2fa1-4d3b-a3f5-8d7a0c2e6f10';

/**
 * The account of a proposal: the DCU opens it under this id, and the agency believes a DCU's
 * answer only when it names this id (so a DCU cannot hand one account to several proposals).
 */
export const accountIdFor = (proposalId: string) => uuidV5(proposalId.toLowerCase(), ACCOUNT_NAMESPACE);
