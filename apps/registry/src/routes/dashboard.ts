import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DashboardState, ErrorResponse, WatchQuery } from '@grantline/contracts';
import { dashboardPageRoute, describedResponse } from '@grantline/service-kit';
import { toServiceInstance } from '../domain/instance-table';
import { dashboardPage } from '../dashboard/page';
import { ALL_TYPES } from '../plugins/instance-table';
import { readWatch } from './services';

/** The live dashboard at `/`, and the state it polls (with the server's clock, so ages are right). */
export const dashboardRoutes: FastifyPluginAsyncTypebox = async (app) => {
  await app.register(dashboardPageRoute, {
    page: dashboardPage,
    summary: 'Live dashboard of registered instances (HTML)',
    description: 'A self-contained page that polls `/dashboard/state` once per heartbeat interval.',
    responseDescription: 'The dashboard page.',
  });

  app.get(
    '/dashboard/state',
    {
      schema: {
        tags: ['dashboard'],
        summary: 'What the dashboard shows: live instances by type, with the registry clock',
        description:
          '`index=I&wait=MS` answers as soon as the table differs from the one whose `index` was I, ' +
          'or after MS: the page hears of a change at once without polling.',
        querystring: WatchQuery,
        response: {
          200: describedResponse(DashboardState, 'Live instances by type, the registry clock and its timings.'),
          400: describedResponse(ErrorResponse, '`index` or `wait` is malformed or out of range.'),
        },
      },
    },
    async (request, reply) => {
      const watch = readWatch(request.query);
      if (watch && watch.index === app.instances.index && watch.waitMs > 0) {
        const gone = new AbortController();
        reply.raw.once('close', () => gone.abort());
        await app.changes.wait(ALL_TYPES, watch.waitMs, gone.signal);
      }
      const services: Record<string, ReturnType<typeof toServiceInstance>[]> = {};
      for (const [type, entries] of app.instances.liveByType()) {
        services[type] = entries.map(toServiceInstance);
      }
      return {
        now: app.instances.now(),
        index: app.instances.index,
        watchers: app.changes.waiting(),
        heartbeatIntervalMs: app.heartbeatIntervalMs,
        ttlMs: app.instances.ttlMs,
        services,
      };
    },
  );
};
