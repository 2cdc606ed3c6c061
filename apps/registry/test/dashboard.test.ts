import { buildTestRegistry, heartbeat, ManualClock, register, type RegistryApp } from './helpers';

describe('registry dashboard', () => {
  let app: RegistryApp;
  let clock: ManualClock;

  beforeEach(async () => {
    clock = new ManualClock();
    app = await buildTestRegistry({ heartbeatIntervalMs: 500, now: clock.now });
  });
  afterEach(() => app.close());

  it('serves a self-contained HTML page at /', async () => {
    const response = await app.inject({ method: 'GET', url: '/' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(response.body.startsWith('<!doctype html>')).toBe(true);
    // Nothing from the internet: the CSP allows only this origin, and the page names no other.
    expect(response.headers['content-security-policy']).toContain("default-src 'none'");
    expect(response.headers['content-security-policy']).toContain("connect-src 'self'");
    expect(response.body).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(response.body).toContain('<html lang="en">');
    expect(response.body).toContain('name="viewport"');
  });

  it('answers /dashboard/state with live instances by type, the registry clock and timings', async () => {
    const dcu = await register(app, 'dcu', 'http://127.0.0.1:9002');
    clock.advance(400);
    const agency = await register(app, 'agency', 'http://127.0.0.1:9001');
    clock.advance(300);
    expect((await heartbeat(app, dcu.id)).statusCode).toBe(204);
    clock.advance(100);

    const response = await app.inject({ method: 'GET', url: '/dashboard/state' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/application\/json/);
    const start = Date.parse('2030-01-01T00:00:00.000Z');
    expect(response.json()).toEqual({
      now: start + 800,
      index: expect.any(Number),
      watchers: 0,
      heartbeatIntervalMs: 500,
      ttlMs: 1500,
      services: {
        dcu: [
          {
            id: dcu.id,
            url: 'http://127.0.0.1:9002',
            registeredAt: new Date(start).toISOString(),
            lastHeartbeatAt: new Date(start + 700).toISOString(),
          },
        ],
        agency: [
          {
            id: agency.id,
            url: 'http://127.0.0.1:9001',
            registeredAt: new Date(start + 400).toISOString(),
            lastHeartbeatAt: new Date(start + 400).toISOString(),
          },
        ],
      },
    });
  });

  it('leaves out instances past their TTL', async () => {
    await register(app, 'dcu', 'http://127.0.0.1:9002');
    clock.advance(1500);
    const state = (await app.inject({ method: 'GET', url: '/dashboard/state' })).json();
    expect(state.services).toEqual({});
  });
});
