import { createHash, createHmac, hash } from 'node:crypto';

/**
 * Researcher keys are derived, never stored: key = HMAC-SHA256(secret, accountId:researcherId).
 * The DCU can recompute every key from the ledger after a restart, and a stolen account folder
 * holds no key at all. Lookups go through a digest of the key, never the key itself.
 */
export class KeyDeriver {
  constructor(private readonly secret: string) {}

  keyFor(accountId: string, researcherId: string): string {
    return createHmac('sha256', this.secret).update(`${accountId}:${researcherId}`).digest('base64url');
  }
}

export function keyDigest(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

/**
 * The SHA-256 of a key as a map key. One-shot `hash` costs half of `createHash`, and every
 * researcher's read pays for it once.
 */
function digestText(key: string): string {
  return hash('sha256', key, 'base64');
}

/**
 * Which researcher of one account a key opens. Found by the SHA-256 of the key: how long the
 * lookup takes depends on the digest, which tells a caller nothing about any real key (a
 * constant-time compare of the digest afterwards would add nothing), and a key opens an entry
 * only if its digest is exactly that entry's.
 */
export class AccountKeys {
  private readonly byDigest = new Map<string, string>();

  add(researcherId: string, key: string): void {
    this.byDigest.set(digestText(key), researcherId);
  }

  remove(researcherId: string): void {
    for (const [digest, owner] of this.byDigest) {
      if (owner === researcherId) this.byDigest.delete(digest);
    }
  }

  /** The researcher the key belongs to, or undefined. */
  researcherFor(key: string): string | undefined {
    return this.byDigest.get(digestText(key));
  }
}
