import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  ErrorResponse,
  OptionalIdempotencyHeaders,
  ProposalParams,
  ProposalRequest,
  ProposalResponse,
  ProposalView,
} from '@grantline/contracts';
import { HttpError } from '@grantline/service-kit';
import type { ProposalRecord } from '../domain/funding';
import { proposalIdFor } from '../domain/proposal';
import type { Funder } from '../funder';

export interface ProposalRoutesOptions {
  funder: Funder;
}

/** What anyone may read of a decision: never a key, never the DCU's internals. */
export function proposalView(record: ProposalRecord): ProposalView {
  return {
    proposalId: record.proposalId,
    ...record.terms,
    // A reservation is an acceptance whose account is still being opened.
    status: record.status === 'pending' ? 'accepted' : (record.status as ProposalView['status']),
    ...(record.status === 'rejected' && record.reason !== undefined ? { reason: record.reason } : {}),
    ...(record.accountId === undefined ? {} : { accountId: record.accountId }),
    decidedAt: record.decidedAt,
    ...(record.returnedCents === undefined ? {} : { returnedCents: record.returnedCents }),
  };
}

/** `POST /proposals` decides and funds; `GET /proposals/:proposalId` shows a decision on record. */
export const proposalRoutes: FastifyPluginAsyncTypebox<ProposalRoutesOptions> = async (app, { funder }) => {
  app.post(
    '/proposals',
    {
      schema: {
        tags: ['proposals'],
        summary: 'Submit a grant proposal',
        description:
          'A proposal asking for 30,000,000 to 50,000,000 cents (300,000 to 500,000 euro) is accepted while ' +
          'it fits in the budget, and its account opened on a DCU; any other is rejected at once and nothing ' +
          'is opened. Every decision is kept: the same Idempotency-Key, sent again to any agency instance, ' +
          'answers with the same decision and the same account.',
        headers: OptionalIdempotencyHeaders,
        body: ProposalRequest,
        response: {
          201: ProposalResponse,
          400: ErrorResponse,
          413: ErrorResponse,
          415: ErrorResponse,
          422: ErrorResponse,
          502: ErrorResponse,
          503: ErrorResponse,
        },
      },
    },
    async (request, reply) => {
      const idempotencyKey = request.headers['idempotency-key'];
      const proposalId = proposalIdFor(idempotencyKey);
      const { answer, replay } = await funder.submit(proposalId, request.body, {
        withKey: idempotencyKey !== undefined,
        requestId: request.id,
      });
      if (replay) reply.header('idempotent-replayed', 'true');
      else if (answer.status === 'rejected') {
        request.log.info({ proposalId, amountCents: request.body.amountCents }, 'proposal rejected');
      } else {
        // With the DCU's "account opened", one request id follows the proposal across both logs.
        request.log.info({ proposalId, accountId: answer.accountId, dcuUrl: answer.dcuUrl }, 'proposal accepted; account opened');
      }
      return reply.status(201).send(answer);
    },
  );

  app.get(
    '/proposals/:proposalId',
    {
      schema: {
        tags: ['proposals'],
        summary: 'Look a decision up',
        description: 'The proposal, its decision and, once its account closed, what was returned. Never a key.',
        params: ProposalParams,
        response: { 200: ProposalView, 400: ErrorResponse, 404: ErrorResponse, 503: ErrorResponse },
      },
    },
    async (request) => {
      const record = await app.agencyStore.proposal(request.params.proposalId.toLowerCase());
      if (record === undefined || record.status === 'released') {
        throw new HttpError(404, `The agency has no proposal ${request.params.proposalId}.`, 'proposal-not-found');
      }
      return proposalView(record);
    },
  );
};
