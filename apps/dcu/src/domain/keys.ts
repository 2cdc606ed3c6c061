import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Researcher keys are derived, never stored: key = HMAC-SHA256(secret, accountId:researcherId).
 * The DCU can recompute every key from the ledger after a restart, and a stolen account folder
 * holds no key at all. Lookups go through a digest of the key, compared in constant time.
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

/** Which researcher of one account a key opens. */
export class AccountKeys {
  private readonly byDigest = new Map<string, { researcherId: string; digest: Buffer }>();

  add(researcherId: string, key: string): void {
    const digest = keyDigest(key);
    this.byDigest.set(digest.toString('base64'), { researcherId, digest });
  }

  remove(researcherId: string): void {
    for (const [hash, entry] of this.byDigest) {
      if (entry.researcherId === researcherId) this.byDigest.delete(hash);
    }
  }

  /** The researcher the key belongs to, or undefined. */
  researcherFor(key: string): string | undefined {
    const digest = keyDigest(key);
    const entry = this.byDigest.get(digest.toString('base64'));
    return entry && timingSafeEqual(entry.digest, digest) ? entry.researcherId : undefined;
  }
}
