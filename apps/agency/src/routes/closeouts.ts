import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { BearerHeaders, CloseoutReceipt, CloseoutRequest, ErrorResponse } from '@grantline/contracts';
import { requireBearerSecret } from '@grantline/service-kit';

export interface CloseoutRoutesOptions {
  serviceToken: string;
  now?: () => Date;
}

/** `POST /closeouts`: a DCU hands back what an ended account did not spend, counted once. */
export const closeoutRoutes: FastifyPluginAsyncTypebox<CloseoutRoutesOptions> = async (app, options) => {
  const now = options.now ?? (() => new Date());
  app.post(
    '/closeouts',
    {
      preHandler: requireBearerSecret(options.serviceToken, 'SERVICE_TOKEN'),
      schema: {
        tags: ['closeouts'],
        summary: 'Hand back the unspent balance of an ended account (the DCU)',
        description:
          'Repeat until acknowledged: 201 the first time, 200 for a repeat of the same closeout; the money is ' +
          'counted once. Nothing changes on an error.',
        headers: BearerHeaders,
        body: CloseoutRequest,
        response: {
          200: CloseoutReceipt,
          201: CloseoutReceipt,
          400: ErrorResponse,
          401: ErrorResponse,
          404: ErrorResponse,
          409: ErrorResponse,
          415: ErrorResponse,
          422: ErrorResponse,
          503: ErrorResponse,
        },
      },
    },
    async (request, reply) => {
      const { proposalId, accountId, returnedCents } = request.body;
      const result = await app.agencyStore.execute({
        type: 'closeout',
        proposalId: proposalId.toLowerCase(),
        accountId: accountId.toLowerCase(),
        returnedCents,
        now: now().toISOString(),
      });
      const record = result.proposal;
      if (result.outcome === 'created') request.log.info({ proposalId, accountId, returnedCents }, 'account closed out; money returned');
      return reply.status(result.outcome === 'created' ? 201 : 200).send({
        proposalId: record.proposalId,
        accountId: record.accountId ?? accountId,
        returnedCents: record.returnedCents ?? returnedCents,
        closedAt: record.closedAt ?? now().toISOString(),
      });
    },
  );
};
