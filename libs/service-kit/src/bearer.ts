import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { HttpError } from './errors';

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

/**
 * A preHandler that lets through only requests carrying `secret` as their bearer token;
 * `name` says which secret in the 401 message (e.g. "SERVICE_TOKEN").
 */
export function requireBearerSecret(secret: string, name: string) {
  return async function checkBearerSecret(request: FastifyRequest): Promise<void> {
    const presented = bearerToken(request.headers.authorization);
    if (presented === undefined) throw new HttpError(401, `Missing "Authorization: Bearer <${name}>" header.`);
    if (!secretsEqual(presented, secret)) throw new HttpError(401, `The bearer token is not the ${name}.`);
  };
}
