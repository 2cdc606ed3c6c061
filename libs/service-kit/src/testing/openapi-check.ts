/**
 * Test support, not for production code: checks that a service's OpenAPI document is valid
 * (per @apidevtools/swagger-parser, a root devDependency) and lists every route the app really
 * has, with the statuses its schemas declare. Imported as `@grantline/service-kit/testing`.
 */
import { spawn } from 'node:child_process';
import diagnostics from 'node:diagnostics_channel';
import type { FastifyInstance, FastifySchema, RouteOptions } from 'fastify';

export interface RecordedRoute {
  method: string;
  /** As registered, with the prefix, e.g. `/services/:type`. */
  url: string;
  schema: FastifySchema | undefined;
  /** Left out of the document on purpose (`schema.hide`, or @fastify/swagger's hidden tag). */
  hidden: boolean;
}

/** What the checks read from an OpenAPI 3 document (the rest is left to the validator). */
export interface OpenApiDocument {
  openapi?: string;
  paths?: Record<string, Record<string, OpenApiOperation | unknown>>;
  components?: { securitySchemes?: Record<string, unknown> };
  [key: string]: unknown;
}

export interface OpenApiOperation {
  responses?: Record<string, unknown>;
  parameters?: { in?: string; name?: string }[];
  security?: Record<string, unknown>[];
  requestBody?: unknown;
}

export interface OpenApiCheckOptions {
  /** Where the app serves its document. Default `/openapi.json`. */
  documentPath?: string;
  /** Routes left out of the checks, as `"GET /path"` with the path as registered. */
  ignore?: string[];
}

export interface OpenApiCheckResult {
  document: OpenApiDocument;
  routes: RecordedRoute[];
  /** Every way the document falls short, one sentence each; empty when all is well. */
  problems: string[];
}

const HIDDEN_TAG = 'X-HIDDEN'; // @fastify/swagger's default `hiddenTag`

/**
 * Builds an app while recording every route added to it, from the very first, through
 * Fastify's `fastify.initialization` diagnostics channel. So a route registered before
 * `registerOpenApi` (which @fastify/swagger would never see) is still caught.
 */
export async function recordRoutes<T extends FastifyInstance>(
  build: () => Promise<T> | T,
): Promise<{ app: T; routes: RecordedRoute[] }> {
  const recorded = new Map<FastifyInstance, RecordedRoute[]>();
  const onInit = (message: unknown) => {
    const fastify = (message as { fastify: FastifyInstance }).fastify;
    const routes: RecordedRoute[] = [];
    recorded.set(fastify, routes);
    fastify.addHook('onRoute', (route: RouteOptions) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      const schema = route.schema as (FastifySchema & { hide?: boolean; tags?: string[] }) | undefined;
      const hidden = schema?.hide === true || (schema?.tags ?? []).includes(HIDDEN_TAG);
      for (const method of methods) routes.push({ method: method.toUpperCase(), url: route.url, schema, hidden });
    });
  };
  diagnostics.subscribe('fastify.initialization', onInit);
  let app: T;
  try {
    app = await build();
  } finally {
    diagnostics.unsubscribe('fastify.initialization', onInit);
  }
  await app.ready();
  const routes = recorded.get(app);
  if (!routes) {
    await app.close();
    throw new Error('the app was not created inside build(), so its routes could not be recorded');
  }
  return { app, routes };
}

/**
 * Validates a document with @apidevtools/swagger-parser. It runs in a child Node process:
 * the parser needs an ESM-only dependency that Jest on Node 20 cannot load in-process.
 * Resolves with the validator's complaints (empty when valid).
 */
export function validateOpenApi(document: OpenApiDocument, timeoutMs = 30_000): Promise<string[]> {
  const parserPath = require.resolve('@apidevtools/swagger-parser');
  const script = `
    const SwaggerParser = require(process.argv[1]);
    let input = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk) => (input += chunk));
    process.stdin.on('end', () => {
      SwaggerParser.validate(JSON.parse(input)).then(
        () => process.stdout.write(JSON.stringify({ problems: [] })),
        (error) => process.stdout.write(JSON.stringify({ problems: [String(error && error.message || error)] })),
      );
    });`;
  const features = process.features as { require_module?: boolean };
  const flags = features.require_module === true ? [] : ['--experimental-require-module'];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...flags, '-e', script, parserPath], {
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      try {
        resolve((JSON.parse(stdout) as { problems: string[] }).problems);
      } catch {
        reject(new Error(`the OpenAPI validator ended (code ${code}, signal ${signal}) without an answer: ${stderr}`));
      }
    });
    child.stdin.end(JSON.stringify(document));
  });
}

/** `/services/:type` → `/services/{type}`, as @fastify/swagger writes paths. */
export function toOpenApiPath(url: string): string {
  return url
    .replace(/:([A-Za-z0-9_]+)(\([^)]*\))?/g, '{$1}')
    .replace(/\*/g, '{*}');
}

/**
 * Compares the document with the routes the app really has: every visible route is there with
 * every status its schema declares, a 2xx, a 400 when it takes input, a 401 when it needs
 * credentials, and its declared headers (e.g. Idempotency-Key) as parameters; nothing is
 * documented that does not exist. Pure, so it is easy to test on its own.
 */
export function openApiCoverageProblems(
  document: OpenApiDocument,
  routes: RecordedRoute[],
  options: Pick<OpenApiCheckOptions, 'ignore'> = {},
): string[] {
  const problems: string[] = [];
  const ignored = new Set(options.ignore ?? []);
  const gets = new Set(routes.filter((route) => route.method === 'GET').map((route) => route.url));
  const visible = routes.filter(
    (route) =>
      !route.hidden &&
      !ignored.has(`${route.method} ${route.url}`) &&
      !(route.method === 'HEAD' && gets.has(route.url)), // Fastify's automatic twin of a GET
  );
  const schemes = document.components?.securitySchemes ?? {};
  const expected = new Set<string>();

  for (const route of visible) {
    const name = `${route.method} ${route.url}`;
    const path = toOpenApiPath(route.url);
    const method = route.method.toLowerCase();
    expected.add(`${method} ${path}`);
    const operation = document.paths?.[path]?.[method] as OpenApiOperation | undefined;
    if (!operation) {
      problems.push(`${name} is not in the document (is the OpenAPI plugin registered before this route?)`);
      continue;
    }
    const schema = (route.schema ?? {}) as FastifySchema & { security?: Record<string, unknown>[] };
    const responses = operation.responses ?? {};
    const documented = new Set(Object.keys(responses).map((status) => status.toUpperCase()));
    const declared = Object.keys((schema.response as Record<string, unknown> | undefined) ?? {});
    if (declared.length === 0) {
      problems.push(`${name} declares no response schema, so its answers are undocumented`);
    }
    for (const status of declared) {
      if (!documented.has(status.toUpperCase())) problems.push(`${name}: response ${status} is missing`);
    }
    if (![...documented].some((status) => /^2(\d\d|XX)$/.test(status) || status === 'DEFAULT')) {
      problems.push(`${name} documents no success (2xx) response`);
    }
    const takesInput = ['body', 'querystring', 'params'].some((part) => part in schema) || headerNames(schema).length > 0;
    if (takesInput && !documented.has('400')) {
      problems.push(`${name} validates its input but does not document 400`);
    }
    const security = operation.security ?? schema.security ?? [];
    const needsCredentials = security.some((requirement) => Object.keys(requirement).length > 0);
    if (needsCredentials && !documented.has('401')) {
      problems.push(`${name} needs credentials but does not document 401`);
    }
    for (const requirement of security) {
      for (const scheme of Object.keys(requirement)) {
        if (!(scheme in schemes)) problems.push(`${name} names security scheme "${scheme}", which is not defined`);
      }
    }
    const headerParameters = new Set(
      (operation.parameters ?? [])
        .filter((parameter) => parameter.in === 'header')
        .map((parameter) => (parameter.name ?? '').toLowerCase()),
    );
    for (const header of headerNames(schema)) {
      if (!headerParameters.has(header)) problems.push(`${name}: header ${header} is not documented`);
    }
  }

  for (const [path, operations] of Object.entries(document.paths ?? {})) {
    for (const method of Object.keys(operations)) {
      if (!HTTP_METHODS.has(method)) continue;
      if (!expected.has(`${method} ${path}`)) {
        problems.push(`${method.toUpperCase()} ${path} is documented but the app has no such visible route`);
      }
    }
  }
  return problems;
}

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

/** Headers a route's schema names, other than Authorization (documented as a security scheme). */
function headerNames(schema: FastifySchema): string[] {
  const headers = schema.headers as { properties?: Record<string, unknown> } | undefined;
  return Object.keys(headers?.properties ?? {})
    .map((name) => name.toLowerCase())
    .filter((name) => name !== 'authorization');
}

/**
 * Builds the app, fetches its document, validates it and compares it with the app's routes.
 * The app is closed before this resolves.
 */
export async function checkOpenApi(
  build: () => Promise<FastifyInstance> | FastifyInstance,
  options: OpenApiCheckOptions = {},
): Promise<OpenApiCheckResult> {
  const { app, routes } = await recordRoutes(build);
  try {
    const documentPath = options.documentPath ?? '/openapi.json';
    const response = await app.inject({ method: 'GET', url: documentPath });
    if (response.statusCode !== 200) {
      return { document: {}, routes, problems: [`GET ${documentPath} answered ${response.statusCode}, not 200`] };
    }
    const document = response.json() as OpenApiDocument;
    const problems = [
      ...(await validateOpenApi(structuredClone(document))).map((message) => `invalid OpenAPI: ${message}`),
      ...openApiCoverageProblems(document, routes, options),
    ];
    return { document, routes, problems };
  } finally {
    await app.close();
  }
}

/** `checkOpenApi`, throwing one error that lists every problem; resolves with the document. */
export async function assertOpenApi(
  build: () => Promise<FastifyInstance> | FastifyInstance,
  options: OpenApiCheckOptions = {},
): Promise<OpenApiDocument> {
  const { document, problems } = await checkOpenApi(build, options);
  if (problems.length > 0) {
    throw new Error(`the OpenAPI document falls short:\n- ${problems.join('\n- ')}`);
  }
  return document;
}
