import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AccountParams, BearerHeaders, ErrorResponse, TransactionsResponse } from '@grantline/contracts';

/** The account's history as the ledger on disk has it, oldest first. */
export const transactionsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/accounts/:accountId/transactions',
    {
      preHandler: app.requireAccountKey('any'),
      schema: {
        tags: ['accounts'],
        summary: 'The deposit and every withdrawal, oldest first (owner or member)',
        security: [{ accountKey: [] }],
        headers: BearerHeaders,
        params: AccountParams,
        response: { 200: TransactionsResponse, 400: ErrorResponse, 401: ErrorResponse, 404: ErrorResponse },
      },
    },
    async (request) => ({ transactions: await app.accounts.transactions(request.params.accountId) }),
  );
};
