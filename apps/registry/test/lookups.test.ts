import { auth, buildTestRegistry, heartbeat, ManualClock, register, type RegistryApp } from './helpers';

/** Cheap lookups and watches (API.md, Registry): limit, ETag, index and wait, and their 400s. */
describe('registry lookups', () => {
  let app: RegistryApp;
  let clock: ManualClock;

  beforeEach(async () => {
    clock = new ManualClock();
    app = await buildTestRegistry({ now: clock.now });
  });
  afterEach(() => app.close());

  const get = (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers });

  describe('limit', () => {
    it('answers at most N instances, drawn at random without repeats', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) ids.push((await register(app, 'dcu', `http://127.0.0.1:${9100 + i}`)).id);
      const counts = new Map<string, number>();
      for (let draw = 0; draw < 500; draw++) {
        const response = await get('/services/dcu?limit=3');
        expect(response.statusCode).toBe(200);
        const listed = (response.json() as { instances: { id: string }[] }).instances.map((i) => i.id);
        expect(listed).toHaveLength(3);
        expect(new Set(listed).size).toBe(3);
        for (const id of listed) counts.set(id, (counts.get(id) ?? 0) + 1);
      }
      // 1,500 picks over 10 instances: 150 each on average; a fair draw stays well inside 75..225.
      expect([...counts.keys()].sort()).toEqual([...ids].sort());
      for (const count of counts.values()) {
        expect(count).toBeGreaterThan(75);
        expect(count).toBeLessThan(225);
      }
    });

    it('shows each drawn instance with its latest heartbeat', async () => {
      const { id } = await register(app, 'dcu', 'http://127.0.0.1:9100');
      const drawn = () => get('/services/dcu?limit=1').then((response) => response.json().instances[0]);
      expect((await drawn()).lastHeartbeatAt).toBe(new Date(clock.ms).toISOString());
      clock.advance(700);
      expect((await heartbeat(app, id)).statusCode).toBe(204);
      expect(await drawn()).toEqual({
        id,
        url: 'http://127.0.0.1:9100',
        registeredAt: new Date(clock.ms - 700).toISOString(),
        lastHeartbeatAt: new Date(clock.ms).toISOString(),
      });
    });

    it('answers every instance when there are fewer than N', async () => {
      await register(app, 'dcu', 'http://127.0.0.1:9100');
      await register(app, 'dcu', 'http://127.0.0.1:9101');
      const body = (await get('/services/dcu?limit=1000')).json();
      expect(body.instances).toHaveLength(2);
      expect((await get('/services/nobody?limit=1')).json()).toEqual({ type: 'nobody', instances: [] });
    });

    it.each(['0', '1001', '-1', '1.5', 'abc', '', '99999999999', '1e3'])('rejects limit=%s with 400', async (limit) => {
      const response = await get(`/services/dcu?limit=${limit}`);
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ statusCode: 400, error: 'Bad Request', message: expect.any(String) });
    });
  });

  describe('ETag and index', () => {
    it('answers 304 to a matching If-None-Match until the set changes, not on heartbeats', async () => {
      const { id } = await register(app, 'dcu', 'http://127.0.0.1:9100');
      const first = await get('/services/dcu');
      const etag = first.headers.etag as string;
      const index = first.headers['x-registry-index'] as string;
      expect(etag).toMatch(/^W\/"\d+"$/);
      expect(index).toMatch(/^\d+$/);

      clock.advance(500);
      expect((await heartbeat(app, id)).statusCode).toBe(204);
      const unchanged = await get('/services/dcu', { 'if-none-match': etag });
      expect(unchanged.statusCode).toBe(304);
      expect(unchanged.body).toBe('');
      expect(unchanged.headers['x-registry-index']).toBe(index);

      await register(app, 'dcu', 'http://127.0.0.1:9101');
      const changed = await get('/services/dcu', { 'if-none-match': etag });
      expect(changed.statusCode).toBe(200);
      expect(changed.json().instances).toHaveLength(2);
      expect(Number(changed.headers['x-registry-index'])).toBeGreaterThan(Number(index));
      expect(changed.headers.etag).not.toBe(etag);
    });

    it('changes the index of a type on unregistration and on expiry, and leaves other types alone', async () => {
      const dcu = await register(app, 'dcu', 'http://127.0.0.1:9100');
      const indexOf = async (type: string) => Number((await get(`/services/${type}`)).headers['x-registry-index']);
      const agencyBefore = await indexOf('agency');
      const before = await indexOf('dcu');
      await app.inject({ method: 'POST', url: '/unregister', headers: auth, payload: { id: dcu.id } });
      const afterUnregister = await indexOf('dcu');
      expect(afterUnregister).toBeGreaterThan(before);

      await register(app, 'dcu', 'http://127.0.0.1:9100');
      const registered = await indexOf('dcu');
      clock.advance(3000);
      expect(await indexOf('dcu')).toBeGreaterThan(registered);
      expect(await indexOf('agency')).toBe(agencyBefore);
    });

    it('answers 304 on GET /services until any type changes', async () => {
      await register(app, 'dcu', 'http://127.0.0.1:9100');
      const first = await get('/services');
      const etag = first.headers.etag as string;
      expect((await get('/services', { 'if-none-match': etag })).statusCode).toBe(304);
      await register(app, 'agency', 'http://127.0.0.1:9001');
      const changed = await get('/services', { 'if-none-match': etag });
      expect(changed.statusCode).toBe(200);
      expect(Object.keys(changed.json().services).sort()).toEqual(['agency', 'dcu']);
    });
  });

  describe('watch', () => {
    it('answers at once when the index given is not the current one', async () => {
      await register(app, 'dcu', 'http://127.0.0.1:9100');
      const response = await get('/services/dcu?index=1&wait=60000');
      expect(response.statusCode).toBe(200);
      expect(response.json().instances).toHaveLength(1);
    });

    it('holds the request until the list changes, then answers with the new list and index', async () => {
      await register(app, 'dcu', 'http://127.0.0.1:9100');
      const index = (await get('/services/dcu')).headers['x-registry-index'] as string;
      let answered = false;
      const watch = get(`/services/dcu?index=${index}&wait=60000`).then((response) => {
        answered = true;
        return response;
      });
      await waitUntil(() => app.changes.waiting('dcu') === 1);
      await heartbeat(app, (await get('/services/dcu')).json().instances[0].id);
      await register(app, 'agency', 'http://127.0.0.1:9001'); // another type: no answer
      expect(answered).toBe(false);
      await register(app, 'dcu', 'http://127.0.0.1:9101');
      const response = await watch;
      expect(response.statusCode).toBe(200);
      expect(response.json().instances).toHaveLength(2);
      expect(Number(response.headers['x-registry-index'])).toBeGreaterThan(Number(index));
    });

    it('answers with the same list and index after wait ms without a change', async () => {
      const index = (await get('/services/dcu')).headers['x-registry-index'] as string;
      const response = await get(`/services/dcu?index=${index}&wait=20`);
      expect(response.statusCode).toBe(200);
      expect(response.headers['x-registry-index']).toBe(index);
      expect(app.changes.waiting('dcu')).toBe(0);
    });

    it('wakes a watcher of GET /services on a change of any type', async () => {
      const index = (await get('/services')).headers['x-registry-index'] as string;
      const watch = get(`/services?index=${index}&wait=60000`);
      await waitUntil(() => app.changes.waiting('*') === 1);
      await register(app, 'agency', 'http://127.0.0.1:9001');
      expect(Object.keys((await watch).json().services)).toEqual(['agency']);
    });

    it('answers every watcher at once when the registry closes', async () => {
      const index = (await get('/services/dcu')).headers['x-registry-index'] as string;
      const watch = get(`/services/dcu?index=${index}&wait=60000`);
      await waitUntil(() => app.changes.waiting('dcu') === 1);
      const closing = app.close();
      expect((await watch).statusCode).toBe(200);
      await closing;
      app = await buildTestRegistry({ now: clock.now }); // for afterEach
    });

    it.each([
      ['index=-1&wait=10'],
      ['index=abc'],
      ['index=99999999999999999'],
      ['index=1&wait=60001'],
      ['index=1&wait=1.5'],
      ['wait=100'],
    ])('rejects %s with 400', async (query) => {
      for (const url of [`/services/dcu?${query}`, `/services?${query}`, `/dashboard/state?${query}`]) {
        const response = await get(url);
        expect({ url, status: response.statusCode }).toEqual({ url, status: 400 });
      }
    });
  });
});

async function waitUntil(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setImmediate(resolve));
}
