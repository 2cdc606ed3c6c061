import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DashboardState } from '@grantline/contracts';
import { describedResponse, htmlResponse } from '@grantline/service-kit';
import { toServiceInstance } from '../domain/instance-table';
import { dashboardPage } from '../dashboard/page';

/** The live dashboard at `/`, and the state it polls (with the server's clock, so ages are right). */
export const dashboardRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/',
    {
      schema: {
        tags: ['dashboard'],
        summary: 'Live dashboard of registered instances (HTML)',
        description: 'A self-contained page that polls `/dashboard/state` once per heartbeat interval.',
        response: { 200: htmlResponse('The dashboard page.') },
      },
    },
    async (_request, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-cache')
        .header(
          'content-security-policy',
          "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:",
        )
        .send(dashboardPage),
  );

  app.get(
    '/dashboard/state',
    {
      schema: {
        tags: ['dashboard'],
        summary: 'What the dashboard shows: live instances by type, with the registry clock',
        response: {
          200: describedResponse(DashboardState, 'Live instances by type, the registry clock and its timings.'),
        },
      },
    },
    async () => {
      const services: Record<string, ReturnType<typeof toServiceInstance>[]> = {};
      for (const [type, entries] of app.instances.liveByType()) {
        services[type] = entries.map(toServiceInstance);
      }
      return {
        now: app.instances.now(),
        heartbeatIntervalMs: app.heartbeatIntervalMs,
        ttlMs: app.instances.ttlMs,
        services,
      };
    },
  );
};
