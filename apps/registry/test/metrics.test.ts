import { metricValue } from '@grantline/service-kit/testing';
import { buildTestRegistry, heartbeat, ManualClock, register, type RegistryApp } from './helpers';

describe('registry metrics', () => {
  let app: RegistryApp | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function scrape(): Promise<string> {
    const answer = await app!.inject({ method: 'GET', url: '/metrics' });
    expect(answer.statusCode).toBe(200);
    return answer.body;
  }

  it('count registrations, heartbeats known and unknown, expiries, and the live instances by type', async () => {
    const clock = new ManualClock();
    app = await buildTestRegistry({ heartbeatIntervalMs: 100, ttlMs: 300, now: clock.now });
    const dcuA = await register(app, 'dcu', 'http://127.0.0.1:9002');
    const dcuB = await register(app, 'dcu', 'http://127.0.0.1:9012');
    const agency = await register(app, 'agency', 'http://127.0.0.1:9001');
    for (const id of [dcuA.id, dcuA.id, dcuB.id, agency.id])
      expect((await heartbeat(app, id)).statusCode).toBe(204);
    expect((await heartbeat(app, '00000000-0000-4000-8000-000000000000')).statusCode).toBe(404);
    // A wrong token is no registration.
    const refused = await app.inject({
      method: 'POST',
      url: '/register',
      payload: { type: 'dcu', url: 'http://127.0.0.1:1' },
    });
    expect(refused.statusCode).toBe(401);

    let text = await scrape();
    expect(metricValue(text, 'grantline_registry_registrations_total', { type: 'dcu' })).toBe(2);
    expect(metricValue(text, 'grantline_registry_registrations_total', { type: 'agency' })).toBe(1);
    expect(metricValue(text, 'grantline_registry_heartbeats_total', { outcome: 'known' })).toBe(4);
    expect(metricValue(text, 'grantline_registry_heartbeats_total', { outcome: 'unknown' })).toBe(
      1,
    );
    expect(metricValue(text, 'grantline_registry_instances', { type: 'dcu' })).toBe(2);
    expect(metricValue(text, 'grantline_registry_instances', { type: 'agency' })).toBe(1);
    expect(metricValue(text, 'grantline_registry_expiries_total')).toBeUndefined();

    // Only dcuA keeps beating: the others fall silent past the TTL.
    clock.advance(200);
    expect((await heartbeat(app, dcuA.id)).statusCode).toBe(204);
    clock.advance(200);
    text = await scrape();
    expect(metricValue(text, 'grantline_registry_expiries_total', { type: 'dcu' })).toBe(1);
    expect(metricValue(text, 'grantline_registry_expiries_total', { type: 'agency' })).toBe(1);
    expect(metricValue(text, 'grantline_registry_instances', { type: 'dcu' })).toBe(1);
    expect(metricValue(text, 'grantline_registry_instances', { type: 'agency' })).toBe(0);
    expect(
      metricValue(text, 'http_request_duration_seconds_count', {
        method: 'POST',
        route: '/heartbeat',
        status_code: '204',
      }),
    ).toBe(5);
  });
});
