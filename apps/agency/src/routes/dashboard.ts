import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AgencyDashboardState, ErrorResponse } from '@grantline/contracts';
import { dashboardPageRoute, describedResponse } from '@grantline/service-kit';
import { dashboardPage } from '../dashboard/page';
import { availableCents } from '../domain/funding';
import { proposalView } from './proposals';

export interface DashboardRoutesOptions {
  totalCents: number | null;
  /** Decisions the page lists. Default 20. */
  latest?: number;
}

/** The live page at `/` and the state it polls. */
export const dashboardRoutes: FastifyPluginAsyncTypebox<DashboardRoutesOptions> = async (app, options) => {
  await app.register(dashboardPageRoute, {
    page: dashboardPage,
    summary: 'Live page: the budget as a bar and the latest decisions (HTML)',
    description: 'A self-contained page that polls `/dashboard/state` every second and updates in place.',
    responseDescription: 'The page.',
  });

  app.get(
    '/dashboard/state',
    {
      schema: {
        tags: ['dashboard'],
        summary: 'What the live page shows: the budget and the latest decisions, newest first',
        response: {
          200: describedResponse(AgencyDashboardState, 'The budget, the newest decisions and the agency clock.'),
          503: ErrorResponse,
        },
      },
    },
    async () => {
      const [budget, latest] = await Promise.all([app.agencyStore.budget(), app.agencyStore.latest(options.latest ?? 20)]);
      return {
        now: new Date().toISOString(),
        budget: { totalCents: options.totalCents, ...budget, availableCents: availableCents(options.totalCents, budget) },
        latest: latest.map(proposalView),
      };
    },
  );
};
