/// <reference types="@fastify/swagger" preserve="true" />
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TSchema } from '@sinclair/typebox';
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

/**
 * The same response schema with a description, which the document shows for that status
 * (instead of "Default Response"); the shared contract schema is left untouched.
 */
export function describedResponse<T extends TSchema>(schema: T, description: string): T {
  return { ...schema, description };
}

/** A response that is an HTML page rather than JSON, for routes that serve one. */
export function htmlResponse(description: string) {
  return { description, content: { 'text/html': { schema: { type: 'string' as const } } } };
}
