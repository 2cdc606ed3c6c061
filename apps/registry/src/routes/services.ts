import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  AllServicesResponse,
  ErrorResponse,
  ServiceListResponse,
  ServiceTypeParams,
} from '@grantline/contracts';
import { toServiceInstance } from '../domain/instance-table';

/** Discovery: open to anyone, live instances only. */
export const servicesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/services/:type',
    {
      schema: {
        tags: ['registry'],
        summary: 'Live instances of one service type',
        params: ServiceTypeParams,
        response: { 200: ServiceListResponse, 400: ErrorResponse },
      },
    },
    async (request) => ({
      type: request.params.type,
      instances: app.instances.live(request.params.type).map(toServiceInstance),
    }),
  );

  app.get(
    '/services',
    {
      schema: {
        tags: ['registry'],
        summary: 'Live instances of every service type',
        response: { 200: AllServicesResponse },
      },
    },
    async () => {
      const services: Record<string, ReturnType<typeof toServiceInstance>[]> = {};
      for (const [type, entries] of app.instances.liveByType()) {
        services[type] = entries.map(toServiceInstance);
      }
      return { services };
    },
  );
};
