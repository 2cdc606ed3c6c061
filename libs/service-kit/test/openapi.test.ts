import { ErrorResponse, HealthResponse, IdempotentBearerHeaders } from '@grantline/contracts';
import { Type } from '@sinclair/typebox';
import {
  createServer,
  describedResponse,
  healthRoute,
  htmlResponse,
  registerOpenApi,
} from '../src';
import {
  assertOpenApi,
  checkOpenApi,
  openApiCoverageProblems,
  recordRoutes,
  toOpenApiPath,
  type OpenApiDocument,
  type RecordedRoute,
} from '../src/testing';

jest.setTimeout(30_000);

/** A small service shaped like ours: bearer auth, an idempotent write, an HTML page. */
async function buildSampleApp(options: { routeBeforeOpenApi?: boolean; undocumented?: boolean } = {}) {
  const app = createServer({ fastify: { logger: false } });
  if (options.routeBeforeOpenApi) {
    app.get('/early', { schema: { response: { 200: HealthResponse } } }, async () => ({ status: 'ok' as const }));
  }
  await registerOpenApi(app, {
    title: 'Sample',
    description: 'A sample service',
    bearerSchemes: { ownerKey: 'The account owner key.' },
  });
  await app.register(healthRoute);
  app.post(
    '/accounts/:accountId/withdrawals',
    {
      schema: {
        security: [{ ownerKey: [] }],
        params: Type.Object({ accountId: Type.String({ format: 'uuid' }) }),
        headers: IdempotentBearerHeaders,
        body: Type.Object({ amountCents: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
        response: {
          201: Type.Object({ withdrawalId: Type.String() }),
          400: ErrorResponse,
          401: ErrorResponse,
          409: describedResponse(ErrorResponse, 'It would overdraw the account.'),
        },
      },
    },
    async (_request, reply) => reply.status(201).send({ withdrawalId: 'w-1' }),
  );
  app.get('/page', { schema: { response: { 200: htmlResponse('A page.') } } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send('<!doctype html><title>page</title>'),
  );
  if (options.undocumented) app.get('/bare', async () => ({ bare: true }));
  return app;
}

describe('registerOpenApi', () => {
  it('documents bearer schemes, path and Idempotency-Key parameters, and response descriptions', async () => {
    const document = (await assertOpenApi(() => buildSampleApp())) as OpenApiDocument & {
      paths: Record<string, Record<string, Record<string, unknown>>>;
    };
    expect(document.openapi).toMatch(/^3\./);
    expect(document.components?.securitySchemes).toEqual({
      ownerKey: { type: 'http', scheme: 'bearer', description: 'The account owner key.' },
    });
    const withdrawal = document.paths['/accounts/{accountId}/withdrawals']!.post!;
    expect(withdrawal.security).toEqual([{ ownerKey: [] }]);
    expect(withdrawal.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ in: 'path', name: 'accountId', required: true }),
        expect.objectContaining({ in: 'header', name: 'idempotency-key', required: true }),
      ]),
    );
    expect(withdrawal.responses).toMatchObject({ 409: { description: 'It would overdraw the account.' } });
    expect(document.paths['/page']!.get!.responses).toEqual({
      200: { description: 'A page.', content: { 'text/html': { schema: { type: 'string' } } } },
    });
  });

  it('still sends an HTML page as it is, not as a JSON string', async () => {
    const app = await buildSampleApp();
    try {
      const response = await app.inject({ method: 'GET', url: '/page' });
      expect(response.body).toBe('<!doctype html><title>page</title>');
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    } finally {
      await app.close();
    }
  });

  it('serves Swagger UI at /docs and keeps its own routes out of the document', async () => {
    const { app, routes } = await recordRoutes(() => buildSampleApp());
    try {
      expect((await app.inject({ method: 'GET', url: '/docs' })).statusCode).toBe(200);
      const hidden = routes.filter((route) => route.hidden).map((route) => route.url);
      expect(hidden).toEqual(expect.arrayContaining(['/openapi.json', '/docs']));
      const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as OpenApiDocument;
      expect(Object.keys(document.paths ?? {}).some((path) => path.startsWith('/docs'))).toBe(false);
    } finally {
      await app.close();
    }
  });
});

describe('checkOpenApi', () => {
  it('finds nothing wrong with a complete document', async () => {
    const { problems, routes } = await checkOpenApi(() => buildSampleApp());
    expect(problems).toEqual([]);
    expect(routes.map((route) => `${route.method} ${route.url}`)).toEqual(
      expect.arrayContaining(['GET /health', 'HEAD /health', 'POST /accounts/:accountId/withdrawals', 'GET /page']),
    );
  });

  it('catches a route registered before the OpenAPI plugin, and one without a response schema', async () => {
    const { problems } = await checkOpenApi(() => buildSampleApp({ routeBeforeOpenApi: true, undocumented: true }));
    expect(problems).toEqual([
      'GET /early is not in the document (is the OpenAPI plugin registered before this route?)',
      'GET /bare declares no response schema, so its answers are undocumented',
    ]);
  });

  it('reports an invalid document through swagger-parser', async () => {
    const { problems } = await checkOpenApi(async () => {
      const app = createServer({ fastify: { logger: false } });
      // A document that claims to be OpenAPI but lacks `info`.
      app.get('/openapi.json', { schema: { hide: true } }, async () => ({ openapi: '3.0.3', paths: {} }));
      return app;
    });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^invalid OpenAPI: [^]*required property 'info'/);
  });

  it('says so when the app serves no document', async () => {
    const { problems } = await checkOpenApi(() => createServer({ fastify: { logger: false } }));
    expect(problems).toEqual(['GET /openapi.json answered 404, not 200']);
  });

  it('rejects an app built outside the recorder', async () => {
    const outside = createServer({ fastify: { logger: false } });
    await expect(recordRoutes(() => outside)).rejects.toThrow(/not created inside build/);
  });
});

describe('openApiCoverageProblems', () => {
  const route = (method: string, url: string, schema: Record<string, unknown>, hidden = false): RecordedRoute => ({
    method,
    url,
    schema,
    hidden,
  });

  it('asks for 400 on input, 401 on credentials, declared statuses and declared headers', () => {
    const routes = [
      route('POST', '/things/:id', {
        params: {},
        headers: { properties: { authorization: {}, 'idempotency-key': {} } },
        security: [{ token: [] }],
        response: { 201: {}, 409: {} },
      }),
    ];
    const document: OpenApiDocument = {
      paths: { '/things/{id}': { post: { responses: { 201: {} }, security: [{ token: [] }], parameters: [] } } },
      components: { securitySchemes: {} },
    };
    expect(openApiCoverageProblems(document, routes)).toEqual([
      'POST /things/:id: response 409 is missing',
      'POST /things/:id validates its input but does not document 400',
      'POST /things/:id needs credentials but does not document 401',
      'POST /things/:id names security scheme "token", which is not defined',
      'POST /things/:id: header idempotency-key is not documented',
    ]);
  });

  it('flags operations the app does not have, ignores hidden routes, HEAD twins and listed exceptions', () => {
    const routes = [
      route('GET', '/a', { response: { 200: {} } }),
      route('HEAD', '/a', { response: { 200: {} } }),
      route('GET', '/hidden', {}, true),
      route('GET', '/legacy', {}),
    ];
    const document: OpenApiDocument = {
      paths: { '/a': { get: { responses: { 200: {} } } }, '/gone': { get: { responses: { 200: {} } } } },
    };
    expect(openApiCoverageProblems(document, routes, { ignore: ['GET /legacy'] })).toEqual([
      'GET /gone is documented but the app has no such visible route',
    ]);
  });

  it('needs a success response', () => {
    const routes = [route('GET', '/a', { response: { 404: {} } })];
    const document: OpenApiDocument = { paths: { '/a': { get: { responses: { 404: {} } } } } };
    expect(openApiCoverageProblems(document, routes)).toEqual(['GET /a documents no success (2xx) response']);
  });

  it('writes paths the way @fastify/swagger does', () => {
    expect(toOpenApiPath('/accounts/:accountId/researchers/:researcherId')).toBe(
      '/accounts/{accountId}/researchers/{researcherId}',
    );
    expect(toOpenApiPath('/files/:name(^\\d+)')).toBe('/files/{name}');
    expect(toOpenApiPath('/static/*')).toBe('/static/{*}');
  });
});
