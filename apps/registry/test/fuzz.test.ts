import fc from 'fast-check';
import {
  contentTypeHeader,
  FuzzProbe,
  headerSafe,
  hostileText,
  hugeNumbers,
  notQuiteJson,
  pathParameter,
  percentEncode,
} from '@grantline/service-kit/testing';
import type { InjectOptions } from 'fastify';
import { buildRegistryApp } from '../src/app';

/**
 * Bad input at volume: well over 10,000 generated malformed requests (bad JSON, wrong types,
 * huge values, unicode, path tricks in every parameter, raw and encoded, wrong content types,
 * missing and duplicated headers). Every answer is below 500 and every 4xx is the JSON error
 * shape; afterwards the registry still answers /health and still lists a real instance.
 */
jest.setTimeout(120_000);

const RUNS_PER_PROPERTY = Number(process.env.FUZZ_RUNS ?? 4_000);
const registryToken = 'fuzz-registry-token-0123456789';

type RegistryApp = Awaited<ReturnType<typeof buildRegistryApp>>;
let app: RegistryApp;
let realId: string;
/** An instance the fuzzer may heartbeat or unregister (the real one it never names). */
let victimId: string;
const probe = new FuzzProbe(() => app);
/** Asserts on each request, so fast-check shrinks the first badly shaped answer to its core. */
async function send(options: InjectOptions): Promise<void> {
  await probe.check(options);
}

beforeAll(async () => {
  app = await buildRegistryApp({
    registryToken,
    heartbeatIntervalMs: 60_000,
    fastify: { logger: false },
  });
  const registered = await app.inject({
    method: 'POST',
    url: '/register',
    headers: { authorization: `Bearer ${registryToken}` },
    // A URL the generators never make: a generated registration of the same type and URL would
    // (rightly) replace this entry.
    payload: { type: 'dcu', url: 'http://kept-instance.invalid:9002' },
  });
  expect(registered.statusCode).toBe(201);
  realId = registered.json<{ id: string }>().id;
  const victim = await app.inject({
    method: 'POST',
    url: '/register',
    headers: { authorization: `Bearer ${registryToken}` },
    payload: { type: 'agency', url: 'http://127.0.0.1:9001' },
  });
  victimId = victim.json<{ id: string }>().id;
});

afterAll(async () => {
  await app.close();
});

const weirdText = hostileText(
  ['ｄｃｕ', 'DCU', 'dcu ', '__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString'],
  { longFrom: 64, longChar: 'a' },
);

const tricks = fc.constantFrom(
  '..',
  '.',
  '../..',
  '../../../../etc/passwd',
  '%2e%2e',
  '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  '%252e%252e%252f',
  '..%2f..%2f',
  '%00',
  'dcu%00',
  'dcu/..',
  'dcu/../agency',
  'dcu?x=1',
  'dcu#x',
  'dcu;x',
  '%',
  '%zz',
  '~',
  '*',
  'a-',
  '-a',
  '1a',
  'a'.repeat(63),
  'a'.repeat(64),
  '__proto__',
  'constructor',
);

const parameter = pathParameter(
  fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom('dcu', 'agency', 'x') },
    { weight: 4, arbitrary: tricks },
    { weight: 3, arbitrary: weirdText },
  ),
);

const url = fc
  .tuple(
    fc.oneof(
      {
        weight: 4,
        arbitrary: fc.constantFrom(
          '/register',
          '/heartbeat',
          '/unregister',
          '/services',
          '/services/dcu',
          '/health',
        ),
      },
      { weight: 4, arbitrary: parameter.map((type) => `/services/${type}`) },
      {
        weight: 1,
        arbitrary: fc.oneof(
          fc.constantFrom(
            '/',
            '//services',
            '/services/',
            '/register/',
            '/dashboard/state',
            '/documentation/json',
            '/%2e%2e/etc/passwd',
          ),
          fc
            .array(parameter, { minLength: 1, maxLength: 4 })
            .map((segments) => `/${segments.join('/')}`),
        ),
      },
    ),
    fc.oneof(
      { weight: 6, arbitrary: fc.constant('') },
      { weight: 1, arbitrary: fc.constantFrom('?', '?type=../x', '?__proto__[x]=1', '?id=1&id=2') },
    ),
  )
  .map(([pathname, search]) => pathname + search);

const authorization = fc.oneof(
  { weight: 4, arbitrary: fc.constant(`Bearer ${registryToken}`) },
  {
    weight: 3,
    arbitrary: fc.oneof(
      fc.constant(undefined),
      weirdText.map((text) => `Bearer ${headerSafe(text)}`),
      fc.constantFrom(
        'Bearer',
        'Bearer ',
        `bearer ${registryToken}`,
        `Bearer  ${registryToken}`,
        `Basic ${registryToken}`,
        `Bearer ${registryToken}x`,
        '',
      ),
      fc.constant<string[]>([`Bearer ${registryToken}`, 'Bearer wrong-token-0123456789']),
      fc.constant<string[]>(['Bearer wrong-token-0123456789', `Bearer ${registryToken}`]),
    ),
  },
);

const contentType = contentTypeHeader;

const serviceUrl = fc.oneof(
  fc.constantFrom(
    'http://127.0.0.1:9002',
    'https://example.org',
    'http://',
    'http:/x',
    'http:x',
    'https://',
    'javascript:alert(1)',
    'file:///etc/passwd',
    'data:text/plain,x',
    'ftp://example.org',
    'ws://example.org',
    'http://[::1]:80',
    'http://[::1',
    'http://user:pass@host:1/p?q#f',
    'http://host:99999',
    'http://host:-1',
    'http://ｅｘａｍｐｌｅ.com',
    'http://xn--nxasmq6b.com',
    'http://%00/',
    'http://a b',
    'HTTP://EXAMPLE.ORG',
    ' http://x',
  ),
  weirdText.map((text) => `http://${text}`),
  fc.integer({ min: 2_040, max: 3_000 }).map((length) => `http://h/${'p'.repeat(length)}`),
  weirdText,
);

const jsonBody: fc.Arbitrary<unknown> = fc.oneof(
  fc.record(
    {
      type: fc.oneof(
        fc.constantFrom('dcu', 'agency'),
        weirdText,
        tricks,
        fc.integer(),
        fc.constant(null),
        fc.constant(['dcu']),
      ),
      url: fc.oneof(serviceUrl, hugeNumbers, fc.constant(null), fc.constant({ href: 'http://x' })),
    },
    { requiredKeys: [] },
  ),
  fc.record(
    { type: fc.constant('dcu'), url: serviceUrl, extra: fc.jsonValue({ maxDepth: 2 }) },
    { requiredKeys: ['type', 'url'] },
  ),
  fc.record(
    {
      id: fc.oneof(
        fc.uuid().map(String),
        fc.constant(0).map(() => victimId),
        weirdText,
        tricks,
        hugeNumbers,
        fc.constant(null),
        fc.constant(0).map(() => [victimId]),
      ),
    },
    { requiredKeys: [] },
  ),
  fc.jsonValue({ maxDepth: 3 }),
);

const rawBody = fc.oneof(
  notQuiteJson([
    '{"type":',
    '{"type":"dcu","url":"http://x",}',
    "{'type':'dcu'}",
    '{"type":"dcu","type":"agency","url":"http://x"}',
    '{"__proto__":{"type":"dcu"},"url":"http://x"}',
    '{"constructor":{"prototype":{"type":"dcu"}}}',
    '{"id":NaN}',
    `{"id":${'9'.repeat(400)}}`,
    '{"type":"\\ud800","url":"http://x"}',
    '\uFEFF{"type":"dcu","url":"http://x"}',
  ]),
  fc
    .integer({ min: 60_000, max: 70_000 })
    .map((size) => `{"type":"dcu","url":"http://${'h'.repeat(size)}"}`),
);

const request: fc.Arbitrary<InjectOptions> = fc
  .record({
    method: fc.constantFrom(
      'GET',
      'GET',
      'POST',
      'POST',
      'POST',
      'DELETE',
      'PUT',
      'PATCH',
      'HEAD',
      'OPTIONS',
    ),
    url,
    authorization,
    contentType,
    body: fc.oneof(
      { weight: 3, arbitrary: jsonBody.map((value) => JSON.stringify(value) ?? '') },
      { weight: 2, arbitrary: rawBody },
      { weight: 1, arbitrary: fc.constant(undefined) },
    ),
    extra: fc.dictionary(
      fc.constantFrom(
        'x-forwarded-for',
        'host',
        'accept',
        'x-http-method-override',
        'cookie',
        'origin',
      ),
      fc.constantFrom('', '../../', '127.0.0.1, ::1', 'a=b; c', '*/*', 'DELETE', 'null'),
      { maxKeys: 2 },
    ),
  })
  .map(({ method, url, authorization, contentType, body, extra }) => {
    const headers: Record<string, string | string[]> = { ...extra };
    if (authorization !== undefined) headers.authorization = authorization;
    if (contentType !== undefined) headers['content-type'] = contentType;
    return {
      method: method as InjectOptions['method'],
      url,
      headers,
      ...(body === undefined || method === 'GET' || method === 'HEAD' ? {} : { payload: body }),
    };
  });

describe('the registry under generated malformed requests', () => {
  it('never answers 5xx to any generated request', async () => {
    await fc.assert(fc.asyncProperty(request, send), { numRuns: RUNS_PER_PROPERTY });
  });

  it('never answers 5xx to generated registrations, heartbeats and unregistrations with the token', async () => {
    const membership = fc
      .record({
        path: fc.constantFrom('/register', '/heartbeat', '/unregister'),
        contentType,
        body: fc.oneof(
          jsonBody.map((value) => JSON.stringify(value) ?? ''),
          rawBody,
        ),
      })
      .map(({ path, contentType, body }) => {
        const headers: Record<string, string | string[]> = {
          authorization: `Bearer ${registryToken}`,
        };
        if (contentType !== undefined) headers['content-type'] = contentType;
        return { method: 'POST' as const, url: path, headers, payload: body };
      });
    await fc.assert(fc.asyncProperty(membership, send), { numRuns: RUNS_PER_PROPERTY });
  });

  it('never answers 5xx to generated service types, raw and encoded', async () => {
    const lookup = parameter.map((type) => ({ method: 'GET' as const, url: `/services/${type}` }));
    await fc.assert(fc.asyncProperty(lookup, send), { numRuns: RUNS_PER_PROPERTY });
  });

  it('answers generated limit, index and wait values with 200 or a JSON 400, never a hang or a 5xx', async () => {
    const number = fc.oneof(
      fc.integer({ min: -5, max: 70_000 }).map(String),
      fc.constantFrom(
        '',
        '0',
        '1000',
        '1001',
        '60000',
        '60001',
        '1e3',
        '0x10',
        '1.5',
        ' 1',
        '99999999999999999999',
        'NaN',
      ),
      weirdText,
    );
    const lookup = fc
      .record({
        limit: fc.option(number, { nil: undefined }),
        index: fc.option(number, { nil: undefined }),
        wait: fc.option(number, { nil: undefined }),
        all: fc.boolean(),
      })
      .map(({ limit, index, wait, all }) => {
        const query = [
          ...(limit === undefined || all ? [] : [`limit=${percentEncode(limit)}`]),
          ...(index === undefined ? [] : [`index=${percentEncode(index)}`]),
          ...(wait === undefined ? [] : [`wait=${percentEncode(wait)}`]),
        ].join('&');
        return { method: 'GET' as const, url: `${all ? '/services' : '/services/dcu'}?${query}` };
      });
    await fc.assert(
      fc.asyncProperty(lookup, async (options) => {
        await send(options);
        // A generated index never names the current list, so no request waits.
        expect(app.changes.waiting()).toBe(0);
      }),
      { numRuns: RUNS_PER_PROPERTY },
    );
  });

  it('has answered at least 10,000 of them with JSON errors, and still works', async () => {
    console.log(probe.summary('registry'));
    expect(probe.requests).toBeGreaterThanOrEqual(Math.min(10_000, 3 * RUNS_PER_PROPERTY));
    expect(Object.fromEntries(probe.badShapes)).toEqual({});
    expect((await app.inject({ url: '/health' })).statusCode).toBe(200);
    // The real instance is still there, and heartbeats still work for it.
    const heartbeat = await app.inject({
      method: 'POST',
      url: '/heartbeat',
      headers: { authorization: `Bearer ${registryToken}` },
      payload: { id: realId },
    });
    expect(heartbeat.statusCode).toBe(204);
    const listed = (await app.inject({ url: '/services/dcu' })).json<{
      instances: { id: string; url: string }[];
    }>();
    expect(listed.instances.map((instance) => instance.id)).toContain(realId);
    // Every listed instance has an http(s) URL, whatever the fuzzer tried to register.
    const all = (await app.inject({ url: '/services' })).json<{
      services: Record<string, { url: string }[]>;
    }>();
    for (const instances of Object.values(all.services)) {
      for (const instance of instances)
        expect(['http:', 'https:']).toContain(new URL(instance.url).protocol);
    }
  });
});
