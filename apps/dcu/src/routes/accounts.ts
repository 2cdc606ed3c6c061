import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
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
    async (request) => app.accounts.view(request.params.accountId),
  );
};
