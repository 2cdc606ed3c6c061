/**
 * Discovery against stand-in registries (node:http on port 0) that record what they are asked:
 * the watch protocol as the client speaks it, without the registry app (the library does not
 * depend on the app it talks to; the registry's own tests cover the other side).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { RegistryClient } from '../src';
import { systemTimers, type Timers } from '../src/backoff';

interface StandIn {
  url: string;
  asked: string[];
  /** Answers held by a watch, released by `change`. */
  held: http.ServerResponse[];
  close(): Promise<void>;
}

const instance = (port: number) => ({
  id: '00000000-0000-4000-8000-00000000' + String(port).padStart(4, '0'),
  url: `http://127.0.0.1:${port}`,
  registeredAt: '2030-01-01T00:00:00.000Z',
  lastHeartbeatAt: '2030-01-01T00:00:00.000Z',
});

/** A registry that lists `ports()` for every type, with `index()` (or no index header at all). */
async function standIn(ports: () => number[], index: () => number | undefined): Promise<StandIn> {
  const asked: string[] = [];
  const held: http.ServerResponse[] = [];
  const answer = (response: http.ServerResponse) => {
    const current = index();
    response.writeHead(200, {
      'content-type': 'application/json',
      ...(current === undefined ? {} : { 'x-registry-index': String(current) }),
    });
    response.end(JSON.stringify({ type: 'dcu', instances: ports().map(instance) }));
  };
  const server = http.createServer((request, response) => {
    asked.push(request.url ?? '');
    const query = new URL(request.url ?? '/', 'http://x').searchParams;
    if (query.has('index') && Number(query.get('index')) === index()) held.push(response);
    else answer(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    asked,
    held,
    close: () =>
      new Promise((resolve) => {
        for (const response of held.splice(0)) answer(response);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('discovery (stand-in registries)', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('reads once, then watches from the index it was given, and takes the changed list', async () => {
    let ports = [9101];
    let index = 7;
    const registry = await standIn(() => ports, () => index);
    cleanup.push(() => registry.close());
    const client = new RegistryClient({ registryUrl: registry.url, watchWaitMs: 30_000 });
    cleanup.push(() => client.close());

    expect((await client.instances('dcu')).map((i) => i.url)).toEqual(['http://127.0.0.1:9101']);
    await until('a watch from index 7', () => registry.held.length === 1);
    expect(registry.asked).toEqual(['/services/dcu', '/services/dcu?index=7&wait=30000']);

    ports = [9101, 9102];
    index = 8;
    const waiting = registry.held.splice(0);
    for (const response of waiting) {
      response.writeHead(200, { 'content-type': 'application/json', 'x-registry-index': '8' });
      response.end(JSON.stringify({ type: 'dcu', instances: ports.map(instance) }));
    }
    await until('the new list', async () => (await client.instances('dcu')).length === 2);
    await until('a watch from index 8', () => registry.asked.at(-1) === '/services/dcu?index=8&wait=30000');
  });

  it('polls, at its retry pace, a registry that gives no index to watch from', async () => {
    const registry = await standIn(() => [9101], () => undefined);
    cleanup.push(() => registry.close());
    const pauses: number[] = [];
    const timers: Timers = {
      ...systemTimers,
      setTimeout: (callback, ms, options) => {
        pauses.push(ms);
        return systemTimers.setTimeout(callback, ms, options);
      },
    };
    const client = new RegistryClient({ registryUrl: registry.url, refreshIntervalMs: 50, timers });
    cleanup.push(() => client.close());
    await client.instances('dcu');
    await until('a few reads', () => registry.asked.length >= 4);
    // Plain reads only, and not a tight loop: each read after the first follows a retry pause.
    expect(new Set(registry.asked)).toEqual(new Set(['/services/dcu']));
    expect(pauses.filter((ms) => ms >= 40).length).toBeGreaterThanOrEqual(registry.asked.length - 2);
  });

  it('reads from the other registry when the first one stops answering', async () => {
    const first = await standIn(() => [9101], () => 1);
    const second = await standIn(() => [9101, 9102], () => 1);
    cleanup.push(() => second.close());
    const client = new RegistryClient({ registryUrl: `${first.url},${second.url}`, refreshIntervalMs: 50, random: () => 0 });
    cleanup.push(() => client.close());
    expect(await client.instances('dcu')).toHaveLength(1); // random () => 0: the first registry
    await first.close();
    await until('the second registry', async () => (await client.instances('dcu')).length === 2);
    expect(second.asked[0]).toBe('/services/dcu');
  });
});
