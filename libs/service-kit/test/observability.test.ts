import { Writable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import { Histogram, Registry } from 'prom-client';
import { createServer, metricsRoute, registerOpenApi, RequestDurations } from '../src';
import { metricValue } from '../src/testing';

/** An app whose pino lines land in `lines`, with one route that counts something. */
async function buildApp(level = 'debug') {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const app = createServer({ prettyLogs: false, fastify: { logger: { level, stream } } });
  await registerOpenApi(app, { title: 'test', description: 'test' });
  await app.register(metricsRoute);
  const widgets = app.metrics.counter({
    name: 'test_widgets_total',
    help: 'widgets',
    labelNames: ['colour'] as const,
  });
  app.post(
    '/widgets/:id',
    {
      schema: {
        params: Type.Object({ id: Type.String() }),
        body: Type.Object({ colour: Type.String() }),
      },
    },
    async (request, reply) => {
      widgets.inc({ colour: request.body.colour });
      request.log.info('made a widget');
      if (request.headers['idempotency-key'] === 'seen')
        reply.header('idempotent-replayed', 'true');
      return reply.status(201).send({ ok: true });
    },
  );
  return { app, lines };
}

describe('request ids', () => {
  it("answer with the caller's id, and every log line about the request carries it", async () => {
    const { app, lines } = await buildApp();
    try {
      const answer = await app.inject({
        method: 'POST',
        url: '/widgets/1',
        headers: { 'x-request-id': 'trace-me 42' },
        payload: { colour: 'red' },
      });
      expect(answer.statusCode).toBe(201);
      expect(answer.headers['x-request-id']).toBe('trace-me 42');
      const about = lines.filter((line) => line.requestId === 'trace-me 42');
      expect(about.map((line) => line.msg)).toEqual(['made a widget', 'answered']);
      expect(about[1]).toMatchObject({
        level: 20,
        method: 'POST',
        route: '/widgets/:id',
        statusCode: 201,
      });
    } finally {
      await app.close();
    }
  });

  it('log a refused request at info and a served one only at debug', async () => {
    const { app, lines } = await buildApp('info');
    try {
      await app.inject({
        method: 'POST',
        url: '/widgets/1',
        headers: { 'x-request-id': 'served' },
        payload: { colour: 'red' },
      });
      await app.inject({
        method: 'POST',
        url: '/widgets/2',
        headers: { 'x-request-id': 'refused' },
        payload: { colour: 9 },
      });
      const answered = lines.filter((line) => line.msg === 'answered');
      expect(answered).toEqual([
        expect.objectContaining({ level: 30, requestId: 'refused', statusCode: 400 }),
      ]);
      // The handler's own line, written at info, carries its request's id.
      expect(lines.filter((line) => line.msg === 'made a widget')).toEqual([
        expect.objectContaining({ level: 30, requestId: 'served' }),
      ]);
    } finally {
      await app.close();
    }
  });

  it("log a route with a level of its own at that level, with the request's id", async () => {
    const { app, lines } = await buildApp('info');
    app.get('/chatty', { logLevel: 'debug' }, async (request) => {
      request.log.debug('a detail');
      return { ok: true };
    });
    try {
      await app.inject({ method: 'GET', url: '/chatty', headers: { 'x-request-id': 'chatty' } });
      await app.inject({ method: 'GET', url: '/metrics', headers: { 'x-request-id': 'quiet' } });
      expect(lines.filter((line) => line.requestId === 'chatty').map((line) => line.msg)).toEqual([
        'a detail',
        'answered',
      ]);
      expect(lines.filter((line) => line.requestId === 'quiet')).toEqual([]);
    } finally {
      await app.close();
    }
  });

  it.each([
    ['too long', 'x'.repeat(129)],
    ['a control character', 'bad\u0001id'],
    ['non-ASCII', 'café'],
  ])('replace an id that is %s with a fresh one', async (_what, given) => {
    const { app } = await buildApp();
    try {
      const answer = await app.inject({
        method: 'GET',
        url: '/metrics',
        headers: { 'x-request-id': given },
      });
      expect(answer.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await app.close();
    }
  });

  it('give a fresh id to a request without one, also on a 404 and a 400', async () => {
    const { app } = await buildApp();
    try {
      const ids = new Set<string>();
      for (const options of [
        { method: 'GET' as const, url: '/nowhere' },
        { method: 'POST' as const, url: '/widgets/1', payload: { colour: 3 } },
        { method: 'GET' as const, url: '/metrics' },
      ]) {
        const answer = await app.inject(options);
        ids.add(String(answer.headers['x-request-id']));
      }
      expect(ids.size).toBe(3);
      for (const id of ids) expect(id).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await app.close();
    }
  });
});

describe('GET /metrics', () => {
  it('counts answers by method, route pattern and status code, the service counters and the replays', async () => {
    const { app } = await buildApp();
    try {
      for (const id of ['1', '2', '3'])
        await app.inject({ method: 'POST', url: `/widgets/${id}`, payload: { colour: 'red' } });
      await app.inject({
        method: 'POST',
        url: '/widgets/4',
        headers: { 'idempotency-key': 'seen' },
        payload: { colour: 'blue' },
      });
      await app.inject({ method: 'POST', url: '/widgets/5', payload: { colour: 7 } });
      await app.inject({ method: 'GET', url: '/nowhere/at/all' });
      const answer = await app.inject({ method: 'GET', url: '/metrics' });
      expect(answer.statusCode).toBe(200);
      expect(answer.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = answer.body;
      const count = (labels: Record<string, string>) =>
        metricValue(text, 'http_request_duration_seconds_count', labels);
      expect(count({ method: 'POST', route: '/widgets/:id', status_code: '201' })).toBe(4);
      expect(count({ method: 'POST', route: '/widgets/:id', status_code: '400' })).toBe(1);
      expect(count({ method: 'GET', route: 'unmatched', status_code: '404' })).toBe(1);
      expect(metricValue(text, 'test_widgets_total', { colour: 'red' })).toBe(3);
      expect(metricValue(text, 'test_widgets_total', { colour: 'blue' })).toBe(1);
      expect(
        metricValue(text, 'grantline_idempotent_replays_total', { route: '/widgets/:id' }),
      ).toBe(1);
      // The process metrics.
      expect(metricValue(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
      expect(metricValue(text, 'nodejs_eventloop_lag_seconds')).toBeDefined();
    } finally {
      await app.close();
    }
  });

  it('exports the request durations exactly as a prom-client Histogram of the same observations', async () => {
    const ours = new Registry();
    const durations = new RequestDurations(ours);
    const reference = new Registry();
    const histogram = new Histogram({
      name: durations.name,
      help: durations.help,
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [reference],
    });
    // On a bucket's bound, between bounds, beyond the last, and a route that needs escaping.
    const observations: [string, string, number, number][] = [
      ['GET', '/accounts/:accountId', 200, 0.001],
      ['GET', '/accounts/:accountId', 200, 0.0004],
      ['GET', '/accounts/:accountId', 200, 0.0011],
      ['GET', '/accounts/:accountId', 401, 0.2],
      ['POST', 'unmatched', 404, 12],
      ['GET', '/a"b\\c', 503, 10],
    ];
    for (const [method, route, statusCode, seconds] of observations) {
      durations.count(method, route, statusCode, seconds);
      histogram.observe({ method, route, status_code: statusCode }, seconds);
    }
    expect(await ours.metrics()).toBe(await reference.metrics());
    expect(await ours.getMetricsAsJSON()).toEqual(
      (await reference.getMetricsAsJSON()).map((metric) => ({
        ...metric,
        // Without prom-client's `exemplar: null`, which we do not keep.
        values: metric.values.map((value) => ({ ...value, exemplar: undefined })),
      })),
    );
    ours.resetMetrics();
    expect(await ours.metrics()).toBe(`# HELP ${durations.name} ${durations.help}\n# TYPE ${durations.name} histogram\n`);
  });

  it('keeps each app its own counters when one process builds several', async () => {
    const first = await buildApp();
    const second = await buildApp();
    try {
      await first.app.inject({ method: 'POST', url: '/widgets/1', payload: { colour: 'red' } });
      const text = (await second.app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metricValue(text, 'test_widgets_total')).toBeUndefined();
    } finally {
      await first.app.close();
      await second.app.close();
    }
  });

  it('is in the OpenAPI document', async () => {
    const { app } = await buildApp();
    try {
      const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<{
        paths: Record<string, unknown>;
      }>();
      expect(document.paths['/metrics']).toBeDefined();
    } finally {
      await app.close();
    }
  });
});
