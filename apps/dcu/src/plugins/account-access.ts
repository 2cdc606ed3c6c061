import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { bearerToken, HttpError } from '@grantline/service-kit';
import type { Member } from '../domain/account';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who the bearer key belongs to, set by `requireAccountKey`. */
    researcher: Member;
  }
  interface FastifyInstance {
    /** A preHandler: the bearer key must open the account in the URL (what it may do there, the core decides). */
    requireAccountKey: (request: FastifyRequest) => Promise<void>;
  }
}

/**
 * Researcher keys: the bearer key must open the account named in the URL. A key of another
 * account, a removed student's key or a made-up one all get the same 401.
 */
export default fp(
  async (app) => {
    app.decorateRequest('researcher', null as unknown as Member);
    app.decorate('requireAccountKey', async function checkAccountKey(request: FastifyRequest): Promise<void> {
      const { accountId } = request.params as { accountId: string };
      const key = bearerToken(request.headers.authorization);
      if (key === undefined) {
        throw new HttpError(401, 'Missing "Authorization: Bearer <key>" header with a key of this account.');
      }
      const member = await app.accounts.authenticate(accountId, key);
      if (!member) {
        if (!(await app.accounts.exists(accountId))) throw new HttpError(404, `There is no account ${accountId}.`);
        throw new HttpError(401, 'This key does not open this account.');
      }
      request.researcher = member;
    });
  },
  { name: 'account-access', dependencies: ['account-store'] },
);
