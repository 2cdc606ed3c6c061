import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  AccountParams,
  ErrorResponse,
  IdempotentBearerHeaders,
  WithdrawalRequest,
  WithdrawalResponse,
} from '@grantline/contracts';

/** Withdrawals: durable before answered, never twice for one Idempotency-Key. */
export const withdrawalsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/accounts/:accountId/withdrawals',
    {
      preHandler: app.requireAccountKey,
      schema: {
        tags: ['withdrawals'],
        summary: 'Withdraw from the account (owner or member); on disk before the answer',
        description:
          'The Idempotency-Key makes the request safe to retry: a repeat answers as the first ' +
          'time (with the header Idempotent-Replayed: true) and moves no money; the same key with ' +
          'another body is refused with 422. 409: it would overdraw; 410: the account has expired.',
        security: [{ accountKey: [] }],
        headers: IdempotentBearerHeaders,
        params: AccountParams,
        body: WithdrawalRequest,
        response: {
          201: WithdrawalResponse,
          400: ErrorResponse,
          401: ErrorResponse,
          404: ErrorResponse,
          409: ErrorResponse,
          410: ErrorResponse,
          422: ErrorResponse,
          503: ErrorResponse,
        },
      },
    },
    async (request, reply) => {
      const { withdrawal, replayed } = await app.accounts.withdraw(request.params.accountId, {
        researcherId: request.researcher.researcherId,
        amountCents: request.body.amountCents,
        note: request.body.note,
        idempotencyKey: request.headers['idempotency-key'],
      });
      if (replayed) reply.header('idempotent-replayed', 'true');
      return reply.status(201).send({
        withdrawalId: withdrawal.id,
        amountCents: withdrawal.amountCents,
        balanceCents: withdrawal.balanceAfterCents,
      });
    },
  );
};
