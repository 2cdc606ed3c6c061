import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  ErrorResponse,
  OptionalIdempotencyHeaders,
  ProposalRequest,
  ProposalResponse,
} from '@grantline/contracts';
import { errorBody } from '@grantline/service-kit';
import { openDcuAccount, type DcuProblem, type OpenAccountOptions } from '../dcu/open-account';
import { fundingDecision, proposalIdFor } from '../domain/proposal';

export type ProposalRoutesOptions = OpenAccountOptions;

const RETRY_WITH_KEY = 'Retry with the same Idempotency-Key.';
const RETRY_WITHOUT_KEY =
  'Retry, and send an Idempotency-Key header so that a retry can never open a second account.';

/** `POST /proposals`: funds a proposal in range by opening its account on a DCU. */
export const proposalRoutes: FastifyPluginAsyncTypebox<ProposalRoutesOptions> = async (app, options) => {
  app.post(
    '/proposals',
    {
      schema: {
        tags: ['proposals'],
        summary: 'Submit a grant proposal',
        description:
          'A proposal asking for 30,000,000 to 50,000,000 cents (300,000 to 500,000 euro) is accepted ' +
          'and its account opened on a DCU; any other amount is rejected at once and nothing is opened. ' +
          'The same Idempotency-Key, sent again to any agency instance, answers with the same account.',
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
      const decision = fundingDecision(request.body.amountCents);
      if (!decision.funded) {
        request.log.info({ proposalId, amountCents: request.body.amountCents }, 'proposal rejected');
        return reply.status(201).send({ proposalId, status: 'rejected', reason: decision.reason });
      }

      const outcome = await openDcuAccount({ proposalId, ...request.body }, { ...options, requestId: request.id });
      const retry = idempotencyKey === undefined ? RETRY_WITHOUT_KEY : RETRY_WITH_KEY;
      switch (outcome.kind) {
        case 'opened':
          request.log.info(
            { proposalId, accountId: outcome.accountId, dcuUrl: outcome.dcuUrl },
            'proposal accepted; account opened',
          );
          return reply.status(201).send({
            proposalId,
            status: 'accepted',
            accountId: outcome.accountId,
            ownerKey: outcome.ownerKey,
            dcuUrl: outcome.dcuUrl,
          });
        case 'conflict':
          request.log.warn({ proposalId, dcuUrl: outcome.dcuUrl }, 'idempotency key reused with other terms');
          return reply.status(422).send(errorBody(422, conflictMessage(idempotencyKey)));
        case 'unavailable':
          request.log.warn({ proposalId, detail: outcome.detail }, 'no DCU instance reachable');
          return reply
            .status(503)
            .header('retry-after', '1')
            .send(errorBody(503, `No DCU instance can be reached right now; nothing was created. ${retry}`));
        case 'failed':
          request.log.error({ proposalId, problem: outcome.problem, ...outcome.detail }, 'opening the account failed');
          return reply.status(502).send(errorBody(502, `${failureMessage(outcome.problem)} ${retry}`));
      }
    },
  );
};

function conflictMessage(idempotencyKey: string | undefined): string {
  if (idempotencyKey === undefined) {
    return 'The DCU already holds a different proposal under this proposal id; nothing was created.';
  }
  return (
    `The Idempotency-Key ${JSON.stringify(idempotencyKey)} was already used for a different proposal ` +
    '(another title, investigator, amount or duration), so nothing was created. ' +
    'Send the original proposal unchanged to get its account again, or use a new key for a new proposal.'
  );
}

function failureMessage(problem: DcuProblem): string {
  switch (problem) {
    case 'refused-credentials':
      return 'The DCU refused the agency\'s credentials, so no account could be opened; the problem is on our side and has been logged.';
    case 'bad-answer':
      return 'The DCU answered with something that is not an account, so the agency cannot confirm one was opened; the problem has been logged.';
    case 'uncertain':
      return 'The connection to the DCU broke mid-request, so whether an account was opened is unknown; the problem has been logged.';
    case 'error-status':
    case 'transport':
      return 'The DCU failed to open the account; the problem has been logged.';
  }
}
