import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { BudgetView, ErrorResponse } from '@grantline/contracts';
import { availableCents } from '../domain/funding';

export interface BudgetRoutesOptions {
  /** null: unlimited. */
  totalCents: number | null;
}

/** `GET /budget`: the one budget every agency instance on the same store shares. */
export const budgetRoutes: FastifyPluginAsyncTypebox<BudgetRoutesOptions> = async (app, { totalCents }) => {
  app.get(
    '/budget',
    {
      schema: {
        tags: ['budget'],
        summary: 'The budget: total, committed, returned, available',
        description:
          'committedCents is the sum of accepted amounts (closed ones included), returnedCents the sum of ' +
          'closeouts; availableCents = totalCents - committedCents + returnedCents. null: unlimited.',
        response: { 200: BudgetView, 503: ErrorResponse },
      },
    },
    async () => {
      const budget = await app.agencyStore.budget();
      return { totalCents, ...budget, availableCents: availableCents(totalCents, budget) };
    },
  );
};
