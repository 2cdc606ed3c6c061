/// <reference types="@fastify/swagger" preserve="true" />
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

export interface OpenApiOptions {
  title: string;
  description: string;
  version?: string;
  /** Bearer schemes the service's routes name in `security`, with what each secret is. */
  bearerSchemes?: Record<string, string>;
}

/**
 * The OpenAPI 3 document at `/openapi.json` and Swagger UI at `/docs`, both generated from
 * the TypeBox schemas the routes validate with. Register before any route.
 */
export async function registerOpenApi(app: FastifyInstance, options: OpenApiOptions): Promise<void> {
  const securitySchemes = Object.fromEntries(
    Object.entries(options.bearerSchemes ?? {}).map(([name, description]) => [
      name,
      { type: 'http' as const, scheme: 'bearer', description },
    ]),
  );
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: options.title, description: options.description, version: options.version ?? '0.1.0' },
      components: { securitySchemes },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
