import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  AccountParams,
  BearerHeaders,
  DEFAULT_TRANSACTIONS_PAGE,
  ErrorResponse,
  TransactionsQuery,
  TransactionsResponse,
} from '@grantline/contracts';

/** The account's history as the ledger has it, oldest first, one page at a time. */
export const transactionsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/accounts/:accountId/transactions',
    {
      preHandler: app.requireAccountKey,
      schema: {
        tags: ['accounts'],
        summary: 'The deposit and every withdrawal, oldest first, in pages (owner or member)',
        description:
          'At most `limit` transactions (1 to 1000, default 100); pass `next` back as `after` for the ' +
          'following page; `next` is null on the last page.',
        security: [{ accountKey: [] }],
        headers: BearerHeaders,
        params: AccountParams,
        querystring: TransactionsQuery,
        response: { 200: TransactionsResponse, 400: ErrorResponse, 401: ErrorResponse, 404: ErrorResponse, 503: ErrorResponse },
      },
    },
    async (request) =>
      app.accounts.transactions(request.params.accountId, {
        limit: request.query.limit === undefined ? DEFAULT_TRANSACTIONS_PAGE : Number(request.query.limit),
        after: request.query.after,
      }),
  );
};
