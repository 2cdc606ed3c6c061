import { RegistryClient } from '@grantline/registry-client';
import { ServiceProcess, sleep } from '@grantline/process-kit';
import { buildApps, GrantlineSystem, listedUrls } from '../src';

/**
 * A registry restart with the services' default timing (HEARTBEAT_INTERVAL_MS 1000): the
 * registry is SIGKILLed and started again on its port. While it is down, a client that has
 * looked the services up before keeps calling them from its cache; once it is back, every live
 * service registers again (API.md: within two heartbeat intervals; asserted with one interval of
 * slack for a busy machine, and the measured time is printed).
 */
const HEARTBEAT_INTERVAL_MS = 1000;
const DOWN_MS = 2_500;

let system: GrantlineSystem | undefined;
let client: RegistryClient | undefined;

beforeAll(() => buildApps('registry', 'agency', 'dcu'), 120_000);

afterAll(async () => {
  await client?.close();
  await ServiceProcess.killAll();
  await system?.destroy();
}, 30_000);

describe('a registry restart', () => {
  it('costs the clients nothing, and every live service is listed again soon after', async () => {
    system = new GrantlineSystem({
      agencies: 2,
      dcus: 2,
      heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
    });
    await system.start();
    const running = system;
    // Refreshing its lists often (as a busy client may), so it surely asks the new registry
    // before every service has registered again.
    client = new RegistryClient({ registryUrl: running.registryUrl, refreshIntervalMs: 100 });
    // Warm the client's cache.
    expect((await client.call('dcu', { method: 'GET', path: '/health' })).statusCode).toBe(200);
    expect((await client.call('agency', { method: 'GET', path: '/health' })).statusCode).toBe(200);

    const killedAt = Date.now();
    await running.registry.kill('SIGKILL');
    // Down for a while: calls keep working from the cache.
    let callsWhileDown = 0;
    while (Date.now() - killedAt < DOWN_MS) {
      for (const type of ['dcu', 'agency']) {
        const answer = await client.call(type, { method: 'GET', path: '/health' });
        expect(answer.statusCode).toBe(200);
        callsWhileDown += 1;
      }
      await sleep(50);
    }
    expect(await listedUrls(running.registryUrl)).toBeUndefined();

    await running.startRegistry();
    const listeningAt = Date.now();
    let relistedAt = 0;
    const relisting = running
      .waitUntilListed(running.liveUrls(), 15_000)
      .then((at) => (relistedAt = at));
    // While the services register again (and a little after), the client keeps working.
    const failures: string[] = [];
    let callsWhileRelisting = 0;
    while (relistedAt === 0 || Date.now() - relistedAt < HEARTBEAT_INTERVAL_MS) {
      for (const type of ['dcu', 'agency']) {
        try {
          const answer = await client.call(type, { method: 'GET', path: '/health' });
          if (answer.statusCode !== 200)
            failures.push(`${Date.now() - listeningAt} ms: ${type} answered ${answer.statusCode}`);
        } catch (error) {
          failures.push(`${Date.now() - listeningAt} ms: ${type}: ${(error as Error).message}`);
        }
        callsWhileRelisting += 1;
      }
      await sleep(20);
    }
    await relisting;
    const relistedMs = relistedAt - listeningAt;
    console.log(
      JSON.stringify({
        heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
        downMs: listeningAt - killedAt,
        relistedMs,
        callsWhileDown,
        callsWhileRelisting,
        failures: failures.length,
      }),
    );
    expect(failures).toEqual([]);
    expect(relistedMs).toBeLessThanOrEqual(3 * HEARTBEAT_INTERVAL_MS);
    // And the client, refreshing from the new registry, still finds both kinds.
    expect((await client.call('dcu', { method: 'GET', path: '/health' })).statusCode).toBe(200);
    expect((await client.call('agency', { method: 'GET', path: '/health' })).statusCode).toBe(200);
  });
});
