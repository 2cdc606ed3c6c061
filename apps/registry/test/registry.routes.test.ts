import { randomUUID } from 'node:crypto';
import {
  auth,
  buildTestRegistry,
  heartbeat,
  listedIds,
  ManualClock,
  register,
  type RegistryApp,
} from './helpers';

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const isoPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('registry routes', () => {
  let app: RegistryApp;
  let clock: ManualClock;

  beforeEach(async () => {
    clock = new ManualClock();
    app = await buildTestRegistry({ now: clock.now });
  });
  afterEach(() => app.close());

  describe('register', () => {
    it('registers an instance and lists it under its type', async () => {
      const registered = await app.inject({
        method: 'POST',
        url: '/register',
        headers: auth,
        payload: { type: 'dcu', url: 'http://127.0.0.1:9002' },
      });
      expect(registered.statusCode).toBe(201);
      expect(registered.json()).toEqual({
        id: expect.stringMatching(uuidPattern),
        heartbeatIntervalMs: 1000,
        ttlMs: 3000,
      });

      const listed = await app.inject({ method: 'GET', url: '/services/dcu' });
      expect(listed.statusCode).toBe(200);
      expect(listed.json()).toEqual({
        type: 'dcu',
        instances: [
          {
            id: registered.json().id,
            url: 'http://127.0.0.1:9002',
            registeredAt: new Date(clock.ms).toISOString(),
            lastHeartbeatAt: new Date(clock.ms).toISOString(),
          },
        ],
      });
    });

    it('answers with its configured TTL when one is given', async () => {
      await app.close();
      app = await buildTestRegistry({ heartbeatIntervalMs: 200, ttlMs: 900, now: clock.now });
      const registered = await register(app, 'agency', 'http://127.0.0.1:9001');
      expect(registered).toMatchObject({ heartbeatIntervalMs: 200, ttlMs: 900 });
    });

    it('replaces the old entry when the same type and url register again', async () => {
      const first = await register(app, 'agency', 'http://127.0.0.1:9001');
      const second = await register(app, 'agency', 'http://127.0.0.1:9001');
      expect(second.id).not.toBe(first.id);
      expect(await listedIds(app, 'agency')).toEqual([second.id]);
      expect(app.instances.size).toBe(1);
      // The replaced id is forgotten: its owner would register again.
      expect((await heartbeat(app, first.id)).statusCode).toBe(404);
    });

    it('keeps instances apart when only the type or only the url is the same', async () => {
      const a = await register(app, 'agency', 'http://127.0.0.1:9001');
      const b = await register(app, 'agency', 'http://127.0.0.1:9011');
      const c = await register(app, 'dcu', 'http://127.0.0.1:9001');
      expect((await listedIds(app, 'agency')).sort()).toEqual([a.id, b.id].sort());
      expect(await listedIds(app, 'dcu')).toEqual([c.id]);
    });

    it('accepts https urls, paths and the longest allowed type name', async () => {
      const longType = 'a' + 'b-1'.repeat(20) + 'xy'; // 63 characters
      expect(longType).toHaveLength(63);
      await register(app, longType, 'https://dcu.example.org:8443/base');
      expect(await listedIds(app, longType)).toHaveLength(1);
    });

    it.each([
      ['an upper-case type', { type: 'Agency', url: 'http://127.0.0.1:9001' }],
      ['a type starting with a digit', { type: '1agency', url: 'http://127.0.0.1:9001' }],
      ['a type with an underscore', { type: 'grant_agency', url: 'http://127.0.0.1:9001' }],
      ['an empty type', { type: '', url: 'http://127.0.0.1:9001' }],
      ['a type of 64 characters', { type: 'a'.repeat(64), url: 'http://127.0.0.1:9001' }],
      ['a number as type', { type: 7, url: 'http://127.0.0.1:9001' }],
      ['an ftp url', { type: 'agency', url: 'ftp://127.0.0.1:9001' }],
      ['a relative url', { type: 'agency', url: '/agency' }],
      ['a url without scheme', { type: 'agency', url: '127.0.0.1:9001' }],
      ['a javascript: url', { type: 'agency', url: 'javascript:alert(1)' }],
      ['a url with spaces', { type: 'agency', url: 'http://127.0.0.1:9001/a b' }],
      ['a url with a bad port', { type: 'agency', url: 'http://127.0.0.1:99999' }],
      ['a missing url', { type: 'agency' }],
      ['a missing type', { url: 'http://127.0.0.1:9001' }],
      ['an extra field', { type: 'agency', url: 'http://127.0.0.1:9001', weight: 3 }],
    ])('rejects %s with 400 and lists nothing', async (_case, payload) => {
      const response = await app.inject({ method: 'POST', url: '/register', headers: auth, payload });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ statusCode: 400, error: 'Bad Request' });
      expect(response.json().message).toMatch(/type|url|propert/);
      expect(app.instances.size).toBe(0);
    });

    it('rejects a body that is not JSON with 4xx', async () => {
      const response = await app.inject({
        method: 'POST',
        url: '/register',
        headers: { ...auth, 'content-type': 'application/json' },
        payload: '{"type": "agency",',
      });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    });
  });

  describe('writes need the registry token; reads are open', () => {
    const writes = [
      ['/register', { type: 'dcu', url: 'http://127.0.0.1:9002' }],
      ['/heartbeat', { id: randomUUID() }],
      ['/unregister', { id: randomUUID() }],
    ] as const;
    const badHeaders: [string, Record<string, string>][] = [
      ['no Authorization header', {}],
      ['a wrong token', { authorization: 'Bearer not-the-registry-token-at-all' }],
      ['the token without "Bearer"', { authorization: auth.authorization.replace('Bearer ', '') }],
      ['Basic credentials', { authorization: 'Basic dXNlcjpwYXNz' }],
    ];

    for (const [path, payload] of writes) {
      it.each(badHeaders)(`answers 401 to POST ${path} with %s`, async (_case, headers) => {
        const response = await app.inject({ method: 'POST', url: path, headers, payload });
        expect(response.statusCode).toBe(401);
        expect(response.json()).toEqual({
          statusCode: 401,
          error: 'Unauthorized',
          message: expect.stringMatching(/token|Authorization/),
        });
      });
    }

    it('answers 401 before looking at the body', async () => {
      const response = await app.inject({ method: 'POST', url: '/register', payload: { type: 'Bad!' } });
      expect(response.statusCode).toBe(401);
    });

    it('leaves the table untouched on a 401', async () => {
      const { id } = await register(app, 'dcu', 'http://127.0.0.1:9002');
      await app.inject({ method: 'POST', url: '/unregister', payload: { id } });
      await app.inject({
        method: 'POST',
        url: '/register',
        headers: { authorization: 'Bearer wrong-token-wrong-token' },
        payload: { type: 'dcu', url: 'http://127.0.0.1:9003' },
      });
      expect(await listedIds(app, 'dcu')).toEqual([id]);
    });

    it.each(['/services', '/services/dcu', '/health', '/', '/dashboard/state', '/openapi.json'])(
      'answers GET %s without a token',
      async (path) => {
        const response = await app.inject({ method: 'GET', url: path });
        expect(response.statusCode).toBe(200);
      },
    );
  });

  describe('heartbeat', () => {
    it('answers 204 with no body and moves lastHeartbeatAt', async () => {
      const { id } = await register(app, 'dcu', 'http://127.0.0.1:9002');
      clock.advance(700);
      const response = await heartbeat(app, id);
      expect(response.statusCode).toBe(204);
      expect(response.body).toBe('');
      const listed = (await app.inject({ method: 'GET', url: '/services/dcu' })).json();
      expect(listed.instances[0].lastHeartbeatAt).toBe(new Date(clock.ms).toISOString());
      expect(listed.instances[0].registeredAt).toBe(new Date(clock.ms - 700).toISOString());
    });

    it('answers 404 for an id the registry does not know', async () => {
      const response = await heartbeat(app, randomUUID());
      expect(response.statusCode).toBe(404);
      expect(response.json()).toEqual({
        statusCode: 404,
        error: 'Not Found',
        message: expect.stringContaining('register again'),
      });
    });

    it.each([
      ['an id that is not a UUID', { id: 'abc' }],
      ['a missing id', {}],
      ['an extra field', { id: randomUUID(), load: 0.5 }],
    ])('rejects %s with 400', async (_case, payload) => {
      const response = await app.inject({ method: 'POST', url: '/heartbeat', headers: auth, payload });
      expect(response.statusCode).toBe(400);
    });
  });

  describe('unregister', () => {
    it('answers 204, stops listing the instance, then 404 for the same id', async () => {
      const { id } = await register(app, 'dcu', 'http://127.0.0.1:9002');
      const other = await register(app, 'dcu', 'http://127.0.0.1:9012');
      const first = await app.inject({ method: 'POST', url: '/unregister', headers: auth, payload: { id } });
      expect(first.statusCode).toBe(204);
      expect(first.body).toBe('');
      expect(await listedIds(app, 'dcu')).toEqual([other.id]);

      const again = await app.inject({ method: 'POST', url: '/unregister', headers: auth, payload: { id } });
      expect(again.statusCode).toBe(404);
      expect(again.json()).toMatchObject({ statusCode: 404, error: 'Not Found' });
      expect((await heartbeat(app, id)).statusCode).toBe(404);
    });

    it('rejects an id that is not a UUID with 400', async () => {
      const response = await app.inject({
        method: 'POST',
        url: '/unregister',
        headers: auth,
        payload: { id: 'not-a-uuid' },
      });
      expect(response.statusCode).toBe(400);
    });
  });

  describe('TTL (injected clock)', () => {
    it('lists an instance until ttlMs after its last heartbeat, then no longer', async () => {
      const { id, ttlMs } = await register(app, 'dcu', 'http://127.0.0.1:9002');
      clock.advance(ttlMs - 1);
      expect(await listedIds(app, 'dcu')).toEqual([id]);
      clock.advance(1);
      expect(await listedIds(app, 'dcu')).toEqual([]);
      expect((await app.inject({ method: 'GET', url: '/services' })).json()).toEqual({ services: {} });
    });

    it('keeps an instance listed for as long as it heartbeats', async () => {
      const { id, ttlMs, heartbeatIntervalMs } = await register(app, 'dcu', 'http://127.0.0.1:9002');
      for (let beat = 0; beat < 10; beat++) {
        clock.advance(heartbeatIntervalMs);
        expect((await heartbeat(app, id)).statusCode).toBe(204);
      }
      clock.advance(ttlMs - 1);
      expect(await listedIds(app, 'dcu')).toEqual([id]);
    });

    it('answers 404 to a heartbeat that comes after the TTL, even before the sweep', async () => {
      const { id, ttlMs } = await register(app, 'dcu', 'http://127.0.0.1:9002');
      clock.advance(ttlMs);
      expect(app.instances.size).toBe(1); // not swept yet
      expect((await heartbeat(app, id)).statusCode).toBe(404);
      const again = await register(app, 'dcu', 'http://127.0.0.1:9002');
      expect(await listedIds(app, 'dcu')).toEqual([again.id]);
    });
  });

  describe('discovery reads', () => {
    it('answers an unknown type with an empty list', async () => {
      await register(app, 'dcu', 'http://127.0.0.1:9002');
      const response = await app.inject({ method: 'GET', url: '/services/nobody-here' });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ type: 'nobody-here', instances: [] });
    });

    it('rejects a type that breaks the pattern with 400', async () => {
      const response = await app.inject({ method: 'GET', url: '/services/Not_A_Type' });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    });

    it('lists every live instance grouped by type on GET /services', async () => {
      const agency1 = await register(app, 'agency', 'http://127.0.0.1:9001');
      const agency2 = await register(app, 'agency', 'http://127.0.0.1:9011');
      clock.advance(10);
      const dcu = await register(app, 'dcu', 'http://127.0.0.1:9002');
      const response = await app.inject({ method: 'GET', url: '/services' });
      expect(response.statusCode).toBe(200);
      const body = response.json();
      expect(Object.keys(body)).toEqual(['services']);
      expect(Object.keys(body.services).sort()).toEqual(['agency', 'dcu']);
      expect(body.services.agency.map((i: { id: string }) => i.id).sort()).toEqual(
        [agency1.id, agency2.id].sort(),
      );
      expect(body.services.dcu).toEqual([
        {
          id: dcu.id,
          url: 'http://127.0.0.1:9002',
          registeredAt: expect.stringMatching(isoPattern),
          lastHeartbeatAt: expect.stringMatching(isoPattern),
        },
      ]);
    });

    it('leaves a type out of GET /services once its last instance expired', async () => {
      await register(app, 'agency', 'http://127.0.0.1:9001');
      clock.advance(2000);
      const dcu = await register(app, 'dcu', 'http://127.0.0.1:9002');
      clock.advance(1000);
      const body = (await app.inject({ method: 'GET', url: '/services' })).json();
      expect(body).toEqual({ services: { dcu: [expect.objectContaining({ id: dcu.id })] } });
    });

    it('answers GET /health with status ok', async () => {
      const response = await app.inject({ method: 'GET', url: '/health' });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ status: 'ok' });
    });

    it('answers an unknown route with a JSON 404', async () => {
      const response = await app.inject({ method: 'GET', url: '/nope' });
      expect(response.statusCode).toBe(404);
      expect(response.json()).toMatchObject({ statusCode: 404, error: 'Not Found' });
    });
  });
});
