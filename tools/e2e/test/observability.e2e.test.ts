import { metricValue } from '@grantline/service-kit/testing';
import { request } from 'undici';
import { buildApps, GrantlineSystem, ServiceProcess, waitFor } from '../src';

/**
 * Operating the system, with real processes: a request id given to the agency is in the
 * agency's answer and in the log lines of the agency and of the DCU it called for that
 * proposal; every service answers GET /metrics with its own counters.
 */
let system: GrantlineSystem | undefined;

beforeAll(() => buildApps('registry', 'agency', 'dcu'), 120_000);

afterAll(async () => {
  await ServiceProcess.killAll();
  await system?.destroy();
}, 30_000);

/** The JSON log lines of a process (pino), skipping its plain ready line. */
function logLines(service: ServiceProcess): Record<string, unknown>[] {
  return service.lines.flatMap((line) => {
    if (!line.startsWith('{')) return [];
    return [JSON.parse(line) as Record<string, unknown>];
  });
}

describe('operating the system', () => {
  it('follows one proposal by its request id from the agency into the DCU, and counts it', async () => {
    system = new GrantlineSystem({
      agencies: 1,
      dcus: 1,
      heartbeatIntervalMs: 300,
      logLevel: 'debug',
    });
    await system.start();
    const [agency] = system.agencies;
    const [dcu] = system.dcus;
    const requestId = `follow-me-${process.pid}`;

    const answer = await request(`${agency!.url}/proposals`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'idempotency-key': `proposal-${requestId}`,
        'x-request-id': requestId,
      },
      body: JSON.stringify({
        title: 'Soil microbes',
        investigator: 'Ada Lovelace',
        amountCents: 40_000_000,
        durationDays: 30,
      }),
    });
    expect(answer.statusCode).toBe(201);
    expect(answer.headers['x-request-id']).toBe(requestId);
    expect(((await answer.body.json()) as { status: string }).status).toBe('accepted');

    // Each writes its "answered" line just after answering: wait for the lines, not the clock.
    const linesAbout = (service: ServiceProcess, msg: string) =>
      logLines(service).filter((line) => line.requestId === requestId && line.msg === msg);
    await waitFor(
      'the agency to log its answer',
      () => linesAbout(agency!, 'answered').length === 1,
      10_000,
    );
    await waitFor(
      'the DCU to log its answer',
      () => linesAbout(dcu!, 'answered').length === 1,
      10_000,
    );
    expect(linesAbout(dcu!, 'answered')[0]).toMatchObject({
      method: 'POST',
      route: '/accounts',
      statusCode: 201,
    });
    expect(linesAbout(agency!, 'answered')[0]).toMatchObject({
      method: 'POST',
      route: '/proposals',
      statusCode: 201,
    });

    const scrape = async (url: string) => {
      const metrics = await request(`${url}/metrics`);
      expect(metrics.statusCode).toBe(200);
      return metrics.body.text();
    };
    expect(
      metricValue(await scrape(agency!.url!), 'grantline_proposals_total', {
        decision: 'accepted',
      }),
    ).toBe(1);
    const dcuMetrics = await scrape(dcu!.url!);
    expect(
      metricValue(dcuMetrics, 'http_request_duration_seconds_count', {
        method: 'POST',
        route: '/accounts',
        status_code: '201',
      }),
    ).toBe(1);
    expect(metricValue(dcuMetrics, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    const registryMetrics = await scrape(system.registryUrl);
    expect(metricValue(registryMetrics, 'grantline_registry_instances', { type: 'dcu' })).toBe(1);
    expect(metricValue(registryMetrics, 'grantline_registry_instances', { type: 'agency' })).toBe(
      1,
    );
  });
});
