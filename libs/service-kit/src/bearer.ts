import { createHash, timingSafeEqual } from 'node:crypto';

/** The secret in an `Authorization: Bearer <secret>` header, or undefined. */
export function bearerToken(authorization: string | string[] | undefined): string | undefined {
  if (typeof authorization !== 'string') return undefined;
  const match = /^Bearer ([\x21-\x7E]+)$/i.exec(authorization.trim());
  return match?.[1];
}

/** Compares two secrets in constant time (hashing first so lengths leak nothing). */
export function secretsEqual(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
