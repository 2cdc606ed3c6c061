import { createHash } from 'node:crypto';

/**
 * A name-based UUID (RFC 9562, version 5): the same namespace and name always give the same
 * id. The DCU uses it so that opening an account, or adding a student, can be repeated
 * safely: the repeat computes the id of what the first attempt made.
 */
export function uuidV5(name: string, namespace: string): string {
  const namespaceBytes = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  if (namespaceBytes.length !== 16) throw new Error(`namespace is not a UUID: ${namespace}`);
  const hash = createHash('sha1').update(namespaceBytes).update(name, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

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
