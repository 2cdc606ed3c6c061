import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  AllServicesResponse,
  ErrorResponse,
  ServiceListResponse,
  ServiceTypeParams,
} from '@grantline/contracts';
import { describedResponse } from '@grantline/service-kit';
import { toServiceInstance } from '../domain/instance-table';

/** Discovery: open to anyone, live instances only. */
export const servicesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/services/:type',
    {
      schema: {
        tags: ['registry'],
        summary: 'Live instances of one service type',
        description: 'Live instances only; an unknown type has an empty list.',
        params: ServiceTypeParams,
        response: {
          200: describedResponse(ServiceListResponse, 'The live instances of the type (perhaps none).'),
          400: describedResponse(ErrorResponse, '`type` does not match `^[a-z][a-z0-9-]{0,62}$`.'),
        },
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
        response: { 200: describedResponse(AllServicesResponse, 'Live instances by service type.') },
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
