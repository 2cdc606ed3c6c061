import type { FastifyReply, FastifyRequest } from 'fastify';
import { bearerToken, HttpError, secretsEqual } from '@grantline/service-kit';

/** A preHandler that lets through only requests carrying the registry token. */
export function requireRegistryToken(registryToken: string) {
  return async function checkRegistryToken(request: FastifyRequest, _reply: FastifyReply) {
    const presented = bearerToken(request.headers.authorization);
    if (presented === undefined) {
      throw new HttpError(401, 'Missing "Authorization: Bearer <REGISTRY_TOKEN>" header.');
    }
    if (!secretsEqual(presented, registryToken)) {
      throw new HttpError(401, 'The registry token is not valid.');
    }
  };
}
