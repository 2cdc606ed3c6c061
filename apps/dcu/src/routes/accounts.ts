import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import {
  AccountParams,
  AccountView,
  BearerHeaders,
  ErrorResponse,
  OpenAccountRequest,
  OpenAccountResponse,
} from '@grantline/contracts';
import { requireBearerSecret } from '@grantline/service-kit';

export interface AccountsRoutesOptions {
  serviceToken: string;
}

/** Opening an account (the agency, with the service token) and reading it (its researchers). */
export const accountsRoutes: FastifyPluginAsyncTypebox<AccountsRoutesOptions> = async (app, options) => {
  app.post(
    '/accounts',
    {
      preHandler: requireBearerSecret(options.serviceToken, 'SERVICE_TOKEN'),
      schema: {
        tags: ['accounts'],
        summary: 'Open the account of an accepted proposal (the same proposalId answers with the same account)',
        security: [{ serviceToken: [] }],
        headers: BearerHeaders,
        body: OpenAccountRequest,
        response: {
          201: OpenAccountResponse,
          400: ErrorResponse,
          401: ErrorResponse,
          409: ErrorResponse,
          503: ErrorResponse,
        },
      },
    },
    async (request, reply) => {
      const { accountId, ownerKey, created } = await app.accounts.open(request.body);
      if (created) request.log.info({ accountId, proposalId: request.body.proposalId }, 'account opened');
      return reply.status(201).send({ accountId, ownerKey });
    },
  );

  app.get(
    '/accounts/:accountId',
    {
      preHandler: app.requireAccountKey,
      schema: {
        tags: ['accounts'],
        summary: 'Read an account: balance, researchers, days remaining, status (and what it returned once closed)',
        security: [{ accountKey: [] }],
        headers: BearerHeaders,
        params: AccountParams,
        response: { 200: AccountView, 400: ErrorResponse, 401: ErrorResponse, 404: ErrorResponse, 503: ErrorResponse },
      },
    },
    // Answered from the store's promise, and nothing returned (Fastify then waits for the send):
    // an async handler, or a promise handed back, cost every read more trips through the
    // microtask queue.
    (request, reply) => {
      app.accounts.view(request.params.accountId).then(
        (view) => sendView(reply, view),
        (error: unknown) => (reply as FastifyReply).send(error), // a refusal or damage: the error handler answers
      );
    },
  );
};

/** Serialized answers of shared views (see `sendView`); an entry goes when its view is collected. */
const serializedViews = new WeakMap<AccountView, string>();

/**
 * Answers a read. A frozen view is one the store hands out unchanged to every read while the
 * account is unchanged (the file store's `sharedAccountView`), so its answer is serialized once,
 * by this route's own response schema, and sent as it is: a string with a JSON content type is
 * not serialized again. Any other view is serialized by Fastify as usual.
 */
function sendView(reply: FastifyReply, view: AccountView): void {
  if (!Object.isFrozen(view)) {
    void reply.send(view);
    return;
  }
  let body = serializedViews.get(view);
  if (body === undefined) {
    try {
      body = reply.serialize(view) as string;
    } catch (error) {
      void reply.send(error); // answered as Fastify answers a view its schema cannot serialize
      return;
    }
    serializedViews.set(view, body);
  }
  void reply.type('application/json; charset=utf-8').send(body);
}
