/** libs/registry-client discovery (pick, cache, staleness) against a real registry on port 0. */
import { RegistryClient } from '@grantline/registry-client';
import { registryToken, startRegistry, waitFor, type RegistryApp } from './helpers';

jest.setTimeout(20_000);

describe('registry client discovery', () => {
  let registry: { app: RegistryApp; url: string; port: number };
  let client: RegistryClient;

  beforeEach(async () => {
    registry = await startRegistry({ heartbeatIntervalMs: 1_000 });
    client = new RegistryClient({ registryUrl: registry.url, registryToken, refreshIntervalMs: 50 });
  });
  afterEach(async () => {
    await client.close();
    await registry.app.close();
  });

  function registerDirectly(type: string, url: string) {
    return registry.app.instances.register(type, url);
  }

  it('picks each of three live instances about equally often (each >= 20% of 3,000 picks)', async () => {
    const urls = ['http://127.0.0.1:9101', 'http://127.0.0.1:9102', 'http://127.0.0.1:9103'];
    for (const url of urls) registerDirectly('dcu', url);
    const counts = new Map<string, number>();
    for (let i = 0; i < 3_000; i++) {
      const instance = await client.pick('dcu');
      counts.set(instance!.url, (counts.get(instance!.url) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(urls);
    for (const url of urls) expect(counts.get(url)).toBeGreaterThanOrEqual(600);
  });

  it('returns instances with the registry shape and nothing for an unknown type', async () => {
    const entry = registerDirectly('agency', 'http://127.0.0.1:9001');
    expect(await client.instances('agency')).toEqual([
      {
        id: entry.id,
        url: 'http://127.0.0.1:9001',
        registeredAt: new Date(entry.registeredAtMs).toISOString(),
        lastHeartbeatAt: new Date(entry.lastHeartbeatAtMs).toISOString(),
      },
    ]);
    expect(await client.pick('nobody')).toBeUndefined();
    expect(await client.instances('nobody')).toEqual([]);
  });

  it('skips excluded urls', async () => {
    registerDirectly('dcu', 'http://127.0.0.1:9101');
    registerDirectly('dcu', 'http://127.0.0.1:9102');
    const exclude = new Set(['http://127.0.0.1:9101']);
    for (let i = 0; i < 50; i++) expect((await client.pick('dcu', exclude))?.url).toBe('http://127.0.0.1:9102');
  });

  it('refreshes in the background: new instances appear and gone ones leave', async () => {
    const leaving = registerDirectly('dcu', 'http://127.0.0.1:9101');
    expect((await client.instances('dcu')).map((i) => i.url)).toEqual(['http://127.0.0.1:9101']);
    registry.app.instances.unregister(leaving.id);
    registerDirectly('dcu', 'http://127.0.0.1:9102');
    await waitFor('the refreshed list', async () => {
      const urls = (await client.instances('dcu')).map((i) => i.url);
      return urls.length === 1 && urls[0] === 'http://127.0.0.1:9102';
    });
  });

  it('serves the last known list while the registry is down, and says it is stale', async () => {
    registerDirectly('dcu', 'http://127.0.0.1:9101');
    registerDirectly('dcu', 'http://127.0.0.1:9102');
    expect(client.isStale('dcu')).toBe(true); // nothing fetched yet
    expect(await client.instances('dcu')).toHaveLength(2);
    expect(client.isStale('dcu')).toBe(false);

    await registry.app.close();
    await waitFor('the cache to notice the registry is gone', () => client.isStale('dcu'));
    for (let i = 0; i < 20; i++) {
      expect(['http://127.0.0.1:9101', 'http://127.0.0.1:9102']).toContain((await client.pick('dcu'))?.url);
    }
    expect(await client.instances('dcu')).toHaveLength(2);

    // Back again (same port): fresh once more.
    registry = await startRegistry({ heartbeatIntervalMs: 1_000, port: registry.port });
    registerDirectly('dcu', 'http://127.0.0.1:9103');
    await waitFor('a fresh list from the new registry', async () => {
      const urls = (await client.instances('dcu')).map((i) => i.url);
      return !client.isStale('dcu') && urls.length === 1 && urls[0] === 'http://127.0.0.1:9103';
    });
  });

  it('keeps the last list, marked stale, while a restarted registry knows nobody yet', async () => {
    registerDirectly('dcu', 'http://127.0.0.1:9101');
    expect(await client.instances('dcu')).toHaveLength(1);
    await registry.app.close();
    // Restarted, empty: services have not registered again yet.
    registry = await startRegistry({ heartbeatIntervalMs: 1_000, port: registry.port });
    let reads = 0;
    registry.app.server.on('request', () => (reads += 1));
    await waitFor('a refresh from the empty registry', () => client.isStale('dcu'));
    await waitFor('several reads, all empty', () => reads >= 3);
    expect((await client.pick('dcu'))?.url).toBe('http://127.0.0.1:9101');
    // Once the service is back, the list is fresh again.
    registerDirectly('dcu', 'http://127.0.0.1:9101');
    await waitFor('a fresh list', async () => !client.isStale('dcu') && (await client.instances('dcu')).length === 1);
  });

  it('answers with nothing, not an error, when the registry was never reachable', async () => {
    await registry.app.close();
    await client.close();
    client = new RegistryClient({ registryUrl: registry.url, refreshIntervalMs: 50 });
    expect(await client.pick('dcu')).toBeUndefined();
    expect(client.isStale('dcu')).toBe(true);
    registry = await startRegistry({ heartbeatIntervalMs: 1_000, port: registry.port });
  });
});
