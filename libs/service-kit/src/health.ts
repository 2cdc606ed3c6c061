import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { HealthResponse } from '@grantline/contracts';

/** `GET /health`: answers while the process can serve requests. */
export const healthRoute: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/health',
    { schema: { tags: ['health'], summary: 'Liveness check', response: { 200: HealthResponse } } },
    async () => ({ status: 'ok' as const }),
  );
};
