/**
 * libs/registry-client `call()`: failover between real instances found through a real
 * registry on port 0, and when it must not fail over.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { NoInstanceError, RegistryClient, UncertainOutcomeError } from '@grantline/registry-client';
import { DRAINING_HEADER } from '@grantline/contracts';
import { closedPort, startRegistry, waitFor, type RegistryApp } from './helpers';

jest.setTimeout(20_000);

interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

type Handler = (request: SeenRequest, response: http.ServerResponse) => void;

interface Instance {
  name: string;
  url: string;
  seen: SeenRequest[];
  server: http.Server;
}

const answerWithName =
  (name: string): Handler =>
  (request, response) => {
    response.writeHead(request.method === 'POST' ? 201 : 200, {
      'content-type': 'application/json',
    });
    response.end(JSON.stringify({ answeredBy: name, method: request.method, path: request.url }));
  };

async function startInstance(
  name: string,
  handler: Handler = answerWithName(name),
): Promise<Instance> {
  const seen: SeenRequest[] = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const record = {
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body,
      };
      seen.push(record);
      handler(record, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { name, url: `http://127.0.0.1:${port}`, seen, server };
}

describe('registry client call()', () => {
  let registry: { app: RegistryApp; url: string };
  let client: RegistryClient;
  const instances: Instance[] = [];

  /** Lists URLs in this order; `random: () => 0` then tries them in the same order. */
  function list(type: string, ...urls: string[]) {
    for (const url of urls) registry.app.instances.register(type, url);
  }
  async function instance(name: string, handler?: Handler) {
    const started = await startInstance(name, handler);
    instances.push(started);
    return started;
  }
  /**
   * Where nothing listens: a port that was free a moment ago. Taken after the instances a test
   * starts (port 0 may give a just-closed port again, and a live instance on it made the dead
   * one answer).
   */
  async function deadUrl() {
    return `http://127.0.0.1:${await closedPort()}`;
  }

  beforeEach(async () => {
    registry = await startRegistry({ heartbeatIntervalMs: 1_000 });
    client = new RegistryClient({
      registryUrl: registry.url,
      refreshIntervalMs: 50,
      random: () => 0,
    });
  });
  afterEach(async () => {
    await client.close();
    await registry.app.close();
    for (const started of instances.splice(0)) {
      started.server.closeAllConnections();
      await new Promise((resolve) => started.server.close(resolve));
    }
  });

  it('sends a GET to a live instance and returns its answer', async () => {
    const live = await instance('live');
    list('dcu', live.url);
    const response = await client.call<{ answeredBy: string }>('dcu', {
      method: 'GET',
      path: '/health',
    });
    expect(response).toMatchObject({ statusCode: 200, instanceUrl: live.url, attempts: 1 });
    expect(response.body.answeredBy).toBe('live');
  });

  it('fails a GET over to another instance when the first refuses the connection', async () => {
    const live = await instance('live');
    const dead = await deadUrl();
    list('dcu', dead, live.url);
    const response = await client.call<{ answeredBy: string }>('dcu', {
      method: 'GET',
      path: '/things',
    });
    expect(response).toMatchObject({ statusCode: 200, instanceUrl: live.url, attempts: 2 });
    expect(response.body.answeredBy).toBe('live');
    expect(live.seen).toHaveLength(1);

    // The dead one is now avoided: the next call goes straight to the live instance.
    const next = await client.call('dcu', { method: 'GET', path: '/things' });
    expect(next.attempts).toBe(1);
  });

  it('fails a POST with an Idempotency-Key over, sending the key and body to the next instance', async () => {
    const live = await instance('live');
    const dead = await deadUrl();
    list('agency', dead, live.url);
    const response = await client.call('agency', {
      method: 'POST',
      path: '/proposals',
      idempotencyKey: 'proposal-42',
      body: { title: 'Deep sea', amountCents: 40_000_000 },
    });
    expect(response).toMatchObject({ statusCode: 201, instanceUrl: live.url, attempts: 2 });
    expect(live.seen).toEqual([
      expect.objectContaining({
        method: 'POST',
        url: '/proposals',
        body: JSON.stringify({ title: 'Deep sea', amountCents: 40_000_000 }),
        headers: expect.objectContaining({
          'idempotency-key': 'proposal-42',
          'content-type': 'application/json',
        }),
      }),
    ]);
  });

  it('retries a POST without an Idempotency-Key elsewhere when the connection was refused (nothing was sent)', async () => {
    const live = await instance('live');
    const dead = await deadUrl();
    list('agency', dead, live.url);
    const response = await client.call('agency', {
      method: 'POST',
      path: '/proposals',
      body: { title: 'x' },
    });
    expect(response).toMatchObject({ statusCode: 201, instanceUrl: live.url, attempts: 2 });
    expect(live.seen).toEqual([expect.objectContaining({ method: 'POST', body: '{"title":"x"}' })]);
  });

  it('does not retry a POST whose connection is reset mid-request, but does retry such a GET', async () => {
    const resetting = await instance('resetting', (_request, response) =>
      response.socket?.destroy(),
    );
    const live = await instance('live');
    list('dcu', resetting.url, live.url);

    await expect(
      client.call('dcu', { method: 'POST', path: '/accounts', body: {} }),
    ).rejects.toBeInstanceOf(UncertainOutcomeError);
    expect(resetting.seen).toHaveLength(1); // it did reach the instance: the outcome is unknown
    expect(live.seen).toHaveLength(0);

    // The resetting instance is avoided for a while now; bring it back for the GET.
    await client.close();
    client = new RegistryClient({
      registryUrl: registry.url,
      refreshIntervalMs: 50,
      random: () => 0,
    });
    const response = await client.call('dcu', { method: 'GET', path: '/accounts/1' });
    expect(response).toMatchObject({ statusCode: 200, instanceUrl: live.url, attempts: 2 });
    expect(resetting.seen).toHaveLength(2);
  });

  it('fails a GET over when an instance times out', async () => {
    const stuck = await instance('stuck', () => undefined); // never answers
    const live = await instance('live');
    list('dcu', stuck.url, live.url);
    const response = await client.call('dcu', { method: 'GET', path: '/slow', timeoutMs: 200 });
    expect(response).toMatchObject({ statusCode: 200, instanceUrl: live.url, attempts: 2 });
  });

  it('tries an instance that failed a moment ago again when it is the only one left', async () => {
    let calls = 0;
    const flaky = await instance('flaky', (request, response) => {
      calls += 1;
      if (calls === 1) return; // the first request times out
      answerWithName('flaky')(request, response);
    });
    list('dcu', flaky.url);
    await expect(
      client.call('dcu', { method: 'GET', path: '/a', timeoutMs: 200, maxAttempts: 1 }),
    ).rejects.toBeInstanceOf(NoInstanceError);
    // Quarantined now, but the only instance there is: it is tried rather than declared missing.
    const response = await client.call('dcu', { method: 'GET', path: '/b', timeoutMs: 2_000 });
    expect(response).toMatchObject({ statusCode: 200, instanceUrl: flaky.url });
  });

  it('lets a POST already in flight on an instance finish when another request to it fails', async () => {
    // One slow POST (not safe to repeat) and one GET that times out, on the same instance.
    // undici's timeouts below a second fire after about one second, so the POST takes two.
    const mixed = await instance('mixed', (request, response) => {
      if (request.method === 'POST') {
        setTimeout(() => answerWithName('mixed')(request, response), 2_000);
      }
      // GETs hang until the client gives up.
    });
    const live = await instance('live');
    list('dcu', mixed.url, live.url);
    const post = client.call('dcu', {
      method: 'POST',
      path: '/accounts',
      body: {},
      timeoutMs: 5_000,
    });
    await waitFor('the POST to reach the instance', () => mixed.seen.length === 1);
    const get = await client.call('dcu', { method: 'GET', path: '/x', timeoutMs: 100 });
    expect(get.instanceUrl).toBe(live.url);
    await expect(post).resolves.toMatchObject({ statusCode: 201, instanceUrl: mixed.url });
  });

  it('returns 4xx and 5xx answers as they are, without trying another instance', async () => {
    const failing = await instance('failing', (_request, response) => {
      response.writeHead(500, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({ statusCode: 500, error: 'Internal Server Error', message: 'boom' }),
      );
    });
    const live = await instance('live');
    list('dcu', failing.url, live.url);
    const response = await client.call('dcu', { method: 'GET', path: '/x' });
    expect(response).toMatchObject({ statusCode: 500, instanceUrl: failing.url, attempts: 1 });
    expect(live.seen).toHaveLength(0);
  });

  it("tries another instance after a 503 that says it is draining, but returns an application's own 503", async () => {
    const draining = await instance('draining', (_request, response) => {
      response.writeHead(503, { 'content-type': 'application/json', connection: 'close', [DRAINING_HEADER]: 'true' });
      response.end('{"statusCode":503,"error":"Service Unavailable","message":"This instance is shutting down."}');
    });
    const noDcu = await instance('no-dcu', (_request, response) => {
      response.writeHead(503, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          statusCode: 503,
          error: 'Service Unavailable',
          message: 'No DCU instance can be reached.',
        }),
      );
    });
    const live = await instance('live');
    list('agency', draining.url, live.url);
    list('other', noDcu.url, live.url);

    // Even without an Idempotency-Key: the draining instance ran no handler.
    const failedOver = await client.call('agency', { method: 'POST', path: '/p', body: {} });
    expect(failedOver).toMatchObject({ statusCode: 201, instanceUrl: live.url, attempts: 2 });
    expect(draining.seen).toHaveLength(1);

    const own = await client.call('other', {
      method: 'POST',
      path: '/p',
      idempotencyKey: 'k-2',
      body: {},
    });
    expect(own).toMatchObject({
      statusCode: 503,
      instanceUrl: noDcu.url,
      attempts: 1,
      body: { message: 'No DCU instance can be reached.' },
    });
  });

  it('throws NoInstanceError when no instance of the type is registered', async () => {
    const failure = client.call('dcu', { method: 'GET', path: '/health' });
    await expect(failure).rejects.toBeInstanceOf(NoInstanceError);
    await expect(failure).rejects.toMatchObject({
      type: 'dcu',
      message: 'no dcu instance is registered',
    });
  });

  it('throws NoInstanceError naming the last failure when every instance is dead', async () => {
    list('dcu', await deadUrl(), await deadUrl());
    const failure = client.call('dcu', { method: 'GET', path: '/health' });
    await expect(failure).rejects.toBeInstanceOf(NoInstanceError);
    await expect(failure).rejects.toThrow(/ECONNREFUSED/);
  });

  it('throws NoInstanceError, not a hang, when the registry itself is down and nothing is cached', async () => {
    await registry.app.close();
    await expect(client.call('dcu', { method: 'GET', path: '/health' })).rejects.toBeInstanceOf(
      NoInstanceError,
    );
    registry = await startRegistry({ heartbeatIntervalMs: 1_000 });
  });
});
