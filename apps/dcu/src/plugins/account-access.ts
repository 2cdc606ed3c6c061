import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
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
    requireAccountKey: (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void;
  }
}

/**
 * Researcher keys: the bearer key must open the account named in the URL. A key of another
 * account, a removed student's key or a made-up one all get the same 401.
 */
export default fp(
  async (app) => {
    app.decorateRequest('researcher', null as unknown as Member);
    // A callback hook on the store's promise, not an async function around it: every read runs
    // it, and an async function's own promise and await cost a read another microtask turn.
    app.decorate('requireAccountKey', function checkAccountKey(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
      const { accountId } = request.params as { accountId: string };
      const key = bearerToken(request.headers.authorization);
      if (key === undefined) {
        done(new HttpError(401, 'Missing "Authorization: Bearer <key>" header with a key of this account.'));
        return;
      }
      app.accounts.authenticate(accountId, key).then((member) => {
        if (member) {
          request.researcher = member;
          done();
          return;
        }
        app.accounts.exists(accountId).then(
          (exists) =>
            done(exists ? new HttpError(401, 'This key does not open this account.') : new HttpError(404, `There is no account ${accountId}.`)),
          done,
        );
      }, done);
    });
  },
  { name: 'account-access', dependencies: ['account-store'] },
);
