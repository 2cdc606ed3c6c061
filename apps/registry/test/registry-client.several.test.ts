/**
 * libs/registry-client with several registries (REGISTRY_URL lists them, comma-separated):
 * it registers with each, reads from any that answers, and learns of changes by watching.
 */
import { RegistryClient } from '@grantline/registry-client';
import { closedPort, ManualTimers, registryToken, startRegistry, waitFor, type RegistryApp } from './helpers';

jest.setTimeout(20_000);

describe('registry client with several registries', () => {
  let registries: { app: RegistryApp; url: string; port: number }[];
  const clients: RegistryClient[] = [];

  function client(options: Partial<ConstructorParameters<typeof RegistryClient>[0]> = {}) {
    const created = new RegistryClient({
      registryUrl: registries.map((registry) => registry.url).join(','),
      registryToken,
      ...options,
    });
    clients.push(created);
    return created;
  }

  beforeEach(async () => {
    registries = [await startRegistry({ heartbeatIntervalMs: 100 }), await startRegistry({ heartbeatIntervalMs: 100 })];
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(registries.map((registry) => registry.app.close()));
  });

  it('registers and heartbeats with every registry', async () => {
    const membership = client().join('dcu', 'http://127.0.0.1:9002');
    for (const { app } of registries) {
      await waitFor('listed in each registry', () => app.instances.live('dcu').length === 1);
    }
    await waitFor('an id from each registry', () => membership.ids.every((id) => id !== undefined));
    expect(membership.state).toBe('registered');
    const [first, second] = membership.ids;
    expect(first).not.toBe(second); // each registry gives its own id
    // Still listed in both after several TTLs: heartbeats reach each of them.
    const beaten = (app: RegistryApp) => {
      const [entry] = app.instances.live('dcu');
      return entry !== undefined && entry.lastHeartbeatAtMs - entry.registeredAtMs > 600;
    };
    await waitFor('heartbeats for two TTLs in both', () => registries.every(({ app }) => beaten(app)));
  });

  it('registers with the registries that answer, when one is down', async () => {
    await registries[0]!.app.close();
    const membership = client().join('dcu', 'http://127.0.0.1:9002');
    expect(await membership.registered(5_000)).toBe(true);
    expect(registries[1]!.app.instances.live('dcu')).toHaveLength(1);
  });

  it('keeps reading from the other registry when one is gone, and still hears of changes', async () => {
    for (const { app } of registries) app.instances.register('dcu', 'http://127.0.0.1:9101');
    const reader = client({ refreshIntervalMs: 50 });
    expect((await reader.instances('dcu')).map((i) => i.url)).toEqual(['http://127.0.0.1:9101']);
    await registries[0]!.app.close();
    registries[1]!.app.instances.register('dcu', 'http://127.0.0.1:9102');
    await waitFor('the new instance, through the surviving registry', async () =>
      (await reader.instances('dcu')).some((i) => i.url === 'http://127.0.0.1:9102'),
    );
    expect((await reader.pick('dcu'))?.url).toMatch(/^http:\/\/127\.0\.0\.1:910[12]$/);
  });

  it('learns of a registration by watching, without polling', async () => {
    // A retry pace of a minute: only a watch can bring the change within the test's seconds.
    const reader = client({ refreshIntervalMs: 60_000, watchWaitMs: 60_000 });
    expect(await reader.instances('dcu')).toEqual([]);
    await waitFor('a watch held by a registry', () => registries.some(({ app }) => app.changes.waiting('dcu') > 0));
    for (const { app } of registries) app.instances.register('dcu', 'http://127.0.0.1:9101');
    await waitFor('the registration', async () => (await reader.instances('dcu')).length === 1);
  });
});

describe('registry client reconnects', () => {
  it('spreads its retries after a registry is lost, so clients do not return all at once', async () => {
    const port = await closedPort();
    const delays: number[] = [];
    const readers: RegistryClient[] = [];
    try {
      for (let i = 0; i < 20; i++) {
        const timers = new ManualTimers();
        const reader = new RegistryClient({ registryUrl: `http://127.0.0.1:${port}`, refreshIntervalMs: 1_000, timers });
        readers.push(reader);
        expect(await reader.instances('dcu')).toEqual([]); // nothing known, nothing thrown
        await waitFor('the retry to be scheduled', () => timers.pending.size === 1);
        delays.push([...timers.pending.values()][0]!.delayMs);
      }
    } finally {
      await Promise.all(readers.map((reader) => reader.close()));
    }
    // Full jitter over [50, 100] ms after the first failure: twenty clients, many different delays.
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(50);
      expect(delay).toBeLessThanOrEqual(100);
    }
    expect(new Set(delays).size).toBeGreaterThan(10);
  });
});
