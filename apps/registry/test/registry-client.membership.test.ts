/**
 * libs/registry-client membership against a real registry listening on port 0. They live with
 * the registry app because the library must not depend on the app it talks to.
 */
import { RegistryClient, type Logger } from '@grantline/registry-client';
import { closedPort, ManualTimers, registryToken, startRegistry, waitFor, type RegistryApp } from './helpers';

jest.setTimeout(20_000);

interface LogLine {
  level: 'debug' | 'info' | 'warn';
  obj: unknown;
  msg: string | undefined;
}

function recordingLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    debug: (obj, msg) => lines.push({ level: 'debug', obj, msg }),
    info: (obj, msg) => lines.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }),
  };
}

function listedUrls(app: RegistryApp, type: string): string[] {
  return app.instances.live(type).map((entry) => entry.url);
}

describe('registry client membership', () => {
  const registries: RegistryApp[] = [];
  const clients: RegistryClient[] = [];

  async function registry(options: Parameters<typeof startRegistry>[0] = {}) {
    const started = await startRegistry(options);
    registries.push(started.app);
    return started;
  }
  function client(registryUrl: string, logger?: Logger) {
    const created = new RegistryClient({ registryUrl, registryToken, ...(logger ? { logger } : {}) });
    clients.push(created);
    return created;
  }

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(registries.splice(0).map((app) => app.close()));
  });

  it('registers on join', async () => {
    const { app, url } = await registry({ heartbeatIntervalMs: 100 });
    const membership = client(url).join('dcu', 'http://127.0.0.1:9002');
    expect(await membership.registered(5_000)).toBe(true);
    expect(membership.state).toBe('registered');
    expect(app.instances.live('dcu')).toEqual([
      expect.objectContaining({ id: membership.id, url: 'http://127.0.0.1:9002' }),
    ]);
  });

  it('stays listed by heartbeating, under the same id, well past the TTL', async () => {
    // TTL 600 ms: a loaded CI machine may delay a heartbeat by a few hundred ms, not by 400.
    const { app, url } = await registry({ heartbeatIntervalMs: 200 });
    const membership = client(url).join('dcu', 'http://127.0.0.1:9002');
    await membership.registered(5_000);
    const id = membership.id;
    // Wait until the registry has seen heartbeats for more than two TTLs.
    const entry = await waitFor('heartbeats for 2 TTLs', () => {
      const [current] = app.instances.live('dcu');
      return current && current.lastHeartbeatAtMs - current.registeredAtMs > 2 * 600 ? current : undefined;
    });
    expect(entry.id).toBe(id);
    expect(app.instances.size).toBe(1);
  });

  it('registers again when a heartbeat gets 404 (the registry forgot it)', async () => {
    const { app, url } = await registry({ heartbeatIntervalMs: 50 });
    const logger = recordingLogger();
    const membership = client(url, logger).join('dcu', 'http://127.0.0.1:9002');
    await membership.registered(5_000);
    const firstId = membership.id!;
    app.instances.unregister(firstId);

    // Listed anew, and the client knows its new id (it heartbeats with that one from now on).
    const again = await waitFor('a new registration', () => {
      const [entry] = app.instances.live('dcu');
      return entry && membership.id === entry.id ? entry : undefined;
    });
    expect(again.id).not.toBe(firstId);
    expect(again.url).toBe('http://127.0.0.1:9002');
    expect(logger.lines.some((line) => /forgot us/.test(line.msg ?? ''))).toBe(true);
  });

  it('is listed again by a registry restarted on the same port', async () => {
    const first = await registry({ heartbeatIntervalMs: 50 });
    const membership = client(first.url).join('agency', 'http://127.0.0.1:9001');
    await membership.registered(5_000);
    const firstId = membership.id;

    await first.app.close();
    // The same port number, first obtained from port 0, so clients find the new registry.
    const second = await registry({ heartbeatIntervalMs: 50, port: first.port });
    expect(second.url).toBe(first.url);
    expect(listedUrls(second.app, 'agency')).toEqual([]);

    const entry = await waitFor('the instance listed in the new registry, under its new id', () => {
      const [listed] = second.app.instances.live('agency');
      return listed && membership.id === listed.id ? listed : undefined;
    });
    expect(entry.id).not.toBe(firstId);
    expect(entry.url).toBe('http://127.0.0.1:9001');
    expect(membership.state).toBe('registered');
  });

  it('starts while the registry is down, retries with growing jittered delays, joins once it is up', async () => {
    const port = await closedPort();
    const timers = new ManualTimers();
    const registryClient = new RegistryClient({ registryUrl: `http://127.0.0.1:${port}`, registryToken, timers });
    clients.push(registryClient);
    const membership = registryClient.join('dcu', 'http://127.0.0.1:9002');
    // join() returns at once: the service goes on starting without the registry.
    expect(membership.state).toBe('registering');
    expect(timers.fireNext()).toBe(0); // the first attempt, at once

    const delays: number[] = [];
    for (let attempt = 0; attempt < 4; attempt++) {
      // The attempt fails (connection refused), and the next one is scheduled.
      await waitFor('the next retry to be scheduled', () => timers.pending.size === 1);
      delays.push(timers.fireNext());
    }
    // Full jitter between half and all of 100·2^n ms, capped at the (assumed 1 s) heartbeat interval.
    expect(delays[0]).toBeGreaterThanOrEqual(100);
    expect(delays[0]).toBeLessThanOrEqual(200);
    expect(delays[1]).toBeGreaterThanOrEqual(200);
    expect(delays[1]).toBeLessThanOrEqual(400);
    expect(delays[2]).toBeGreaterThanOrEqual(400);
    expect(delays[2]).toBeLessThanOrEqual(800);
    expect(delays[3]).toBeGreaterThanOrEqual(500);
    expect(delays[3]).toBeLessThanOrEqual(1000);

    const { app } = await registry({ heartbeatIntervalMs: 50, port });
    await waitFor('the next retry to be scheduled', () => timers.pending.size === 1);
    timers.fireNext();
    expect(await membership.registered(5_000)).toBe(true);
    expect(listedUrls(app, 'dcu')).toEqual(['http://127.0.0.1:9002']);
  });

  it('unregisters on close, so it is gone at once rather than after the TTL', async () => {
    const { app, url } = await registry({ heartbeatIntervalMs: 1_000 });
    const registryClient = client(url);
    const membership = registryClient.join('dcu', 'http://127.0.0.1:9002');
    await membership.registered(5_000);
    expect(app.instances.size).toBe(1);

    await registryClient.close();
    expect(app.instances.size).toBe(0);
    expect(membership.state).toBe('stopped');
  });

  it('does not stay listed when closed while its registration is under way', async () => {
    const port = await closedPort();
    const registryClient = client(`http://127.0.0.1:${port}`);
    const membership = registryClient.join('dcu', 'http://127.0.0.1:9002');
    await registryClient.close();
    const { app } = await registry({ heartbeatIntervalMs: 50, port });
    expect(await membership.registered(400)).toBe(false);
    expect(app.instances.size).toBe(0);
  });

  it('disappears within the TTL and sweep when it stops heartbeating (a crash)', async () => {
    const { app, url } = await registry({ heartbeatIntervalMs: 50 });
    const membership = client(url).join('dcu', 'http://127.0.0.1:9002');
    await membership.registered(5_000);
    membership.abandon();
    await waitFor('the silent instance swept', () => app.instances.size === 0, 2_000);
    expect(listedUrls(app, 'dcu')).toEqual([]);
  });

  it('refuses to join without a registry token', () => {
    const anonymous = new RegistryClient({ registryUrl: 'http://127.0.0.1:9' });
    clients.push(anonymous);
    expect(() => anonymous.join('dcu', 'http://127.0.0.1:9002')).toThrow(/registryToken/);
  });
});
