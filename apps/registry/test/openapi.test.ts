import { assertOpenApi, checkOpenApi } from '@grantline/service-kit/testing';
import { buildTestRegistry } from './helpers';

jest.setTimeout(30_000);

describe('registry OpenAPI document', () => {
  it('is valid OpenAPI and lists every route with its responses', async () => {
    const { document, routes, problems } = await checkOpenApi(() => buildTestRegistry());
    expect(problems).toEqual([]);
    // Every route the app has, as it is documented (Fastify's HEAD twins and hidden routes aside).
    const documented = Object.entries(document.paths ?? {}).flatMap(([path, operations]) =>
      Object.entries(operations as Record<string, { responses: Record<string, unknown> }>).map(
        ([method, operation]) => `${method.toUpperCase()} ${path} ${Object.keys(operation.responses).sort().join(',')}`,
      ),
    );
    expect(documented.sort()).toEqual([
      'GET / 200',
      'GET /dashboard/state 200,400',
      'GET /health 200',
      'GET /metrics 200',
      'GET /services 200,304,400',
      'GET /services/{type} 200,304,400',
      'POST /heartbeat 204,400,401,403,404',
      'POST /register 201,400,401,403',
      'POST /unregister 204,400,401,403,404',
    ]);
    expect(routes.some((route) => route.url === '/openapi.json' && route.hidden)).toBe(true);
  });

  it('documents the registry token as a bearer scheme on every write', async () => {
    const document = (await assertOpenApi(() => buildTestRegistry())) as {
      components: { securitySchemes: Record<string, unknown> };
      paths: Record<string, Record<string, { security?: unknown }>>;
    };
    expect(document.components.securitySchemes).toEqual({
      registryToken: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    });
    for (const path of ['/register', '/heartbeat', '/unregister']) {
      expect(document.paths[path]!.post!.security).toEqual([{ registryToken: [] }]);
    }
    expect(document.paths['/services']!.get!.security).toBeUndefined();
  });

  it('serves Swagger UI at /docs', async () => {
    const app = await buildTestRegistry();
    try {
      const response = await app.inject({ method: 'GET', url: '/docs' });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toMatch(/text\/html/);
      expect(response.body).toContain('swagger');
    } finally {
      await app.close();
    }
  });
});
