import path from 'node:path';
import { RegistryClient } from '@grantline/registry-client';
import { ServiceProcess, waitFor } from '@grantline/process-kit';
import { buildApps, GrantlineSystem, listedUrls, startApp } from '../src';

/**
 * Issue 14, "several registries": two registries as real processes, two agencies and two DCUs
 * registered with both, the researchers simulation reading from both. One registry is
 * SIGKILLed while the simulation runs and never restarted: nothing the researchers do fails,
 * and a DCU started afterwards is found through the surviving registry, by a watch.
 */
const HEARTBEAT_INTERVAL_MS = 300;

let system: GrantlineSystem | undefined;
let client: RegistryClient | undefined;
let failed = true;

beforeAll(() => buildApps('registry', 'agency', 'dcu', 'researchers'), 120_000);

afterAll(async () => {
  await client?.close();
  if (failed && system) {
    for (const service of [system.registry, ...system.moreRegistries, ...system.agencies, ...system.dcus]) {
      console.log(`--- last lines of ${service.options.label}:\n${service.lines.slice(-20).join('\n')}`);
    }
  }
  await ServiceProcess.killAll();
  await system?.destroy();
}, 30_000);

describe('two registries, one SIGKILLed for good while the simulation runs', () => {
  it('fails no operation of the researchers, and new instances are still found', async () => {
    system = new GrantlineSystem({ agencies: 2, dcus: 2, heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS, registries: 2 });
    await system.start();
    const running = system;
    const [first, second] = running.registryUrls.split(',') as [string, string];
    // Every service is listed in both registries.
    for (const url of [first, second]) {
      await waitFor(
        `every service listed in ${url}`,
        async () => {
          const listed = await listedUrls(url);
          return listed && listed.agency?.length === 2 && listed.dcu?.length === 2;
        },
        15_000,
      );
    }

    const simulation = startApp({
      label: 'researchers',
      app: 'researchers',
      args: ['--projects', '3', '--students', '2', '--seed', '14', '--pause', '50-150', '--days', '6-10', '--timeout', '90000'],
      env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', REGISTRY_URL: running.registryUrls },
      logFile: path.join(running.logDir, 'researchers.log'),
    });
    // Kill the first registry once the simulation is at work (it has printed a few lines).
    await waitFor('the simulation to get going', () => simulation.lines.length >= 3 || !simulation.running, 60_000);
    await running.registry.kill('SIGKILL');

    // A reader given both registries still sees the system, and hears of a new DCU by watching.
    client = new RegistryClient({ registryUrl: running.registryUrls, refreshIntervalMs: 200 });
    expect((await client.instances('dcu')).length).toBe(2);
    const newDcu = running.startService('dcu');
    const newUrl = await newDcu.waitForListening();
    const listeningAt = Date.now();
    await waitFor(
      'the new DCU, through the surviving registry',
      async () => (await client!.instances('dcu')).some((instance) => instance.url === newUrl),
      10_000,
      5,
    );
    const at = Date.now();
    console.log(`the client saw the new DCU ${at - listeningAt} ms after it said it was listening`);

    const exit = await simulation.exited;
    const output = simulation.output;
    expect({ code: exit.code, tail: exit.code === 0 ? '' : output.slice(-3000) }).toEqual({ code: 0, tail: '' });
    expect(output).toContain('No operation failed.');
    expect(output).toMatch(/Ledger check passed/);
    failed = false;
  }, 150_000);
});
