import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  AccountParams,
  AddResearcherRequest,
  AddResearcherResponse,
  BearerHeaders,
  ErrorResponse,
  OptionalIdempotentBearerHeaders,
  ResearcherParams,
} from '@grantline/contracts';
import { Type } from '@sinclair/typebox';

/** The owner adds students (one key each) and removes them (their key dies with them). */
export const researchersRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const ownerOnly = app.requireAccountKey; // the core refuses a member with 403
  const security = [{ accountKey: [] }];
  const refusals = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse };

  app.post(
    '/accounts/:accountId/researchers',
    {
      preHandler: ownerOnly,
      schema: {
        tags: ['researchers'],
        summary: 'Add a student to the account and get their key (owner only)',
        description:
          'With an Idempotency-Key, repeating the request answers with the same student and key ' +
          'instead of adding another one.',
        security,
        headers: OptionalIdempotentBearerHeaders,
        params: AccountParams,
        body: AddResearcherRequest,
        response: { 201: AddResearcherResponse, ...refusals, 422: ErrorResponse, 503: ErrorResponse },
      },
    },
    async (request, reply) => {
      const added = await app.accounts.addResearcher(
        request.params.accountId,
        request.researcher.researcherId,
        request.body.name,
        request.headers['idempotency-key'],
      );
      if (added.created) {
        request.log.info({ accountId: request.params.accountId, researcherId: added.researcherId }, 'student added');
      }
      return reply.status(201).send({ researcherId: added.researcherId, key: added.key });
    },
  );

  app.delete(
    '/accounts/:accountId/researchers/:researcherId',
    {
      preHandler: ownerOnly,
      schema: {
        tags: ['researchers'],
        summary: 'Remove a student; their key opens nothing from then on (owner only)',
        security,
        headers: BearerHeaders,
        params: ResearcherParams,
        response: { 204: Type.Null(), ...refusals, 503: ErrorResponse },
      },
    },
    async (request, reply) => {
      await app.accounts.removeResearcher(
        request.params.accountId,
        request.researcher.researcherId,
        request.params.researcherId.toLowerCase(),
      );
      return reply.status(204).send(null);
    },
  );
};
