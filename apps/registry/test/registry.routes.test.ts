import { buildRegistryApp } from '../src/app';

const registryToken = 'test-registry-token-0123456789';
const auth = { authorization: `Bearer ${registryToken}` };

async function buildApp() {
  return buildRegistryApp({ registryToken, heartbeatIntervalMs: 1000, fastify: { logger: false } });
}

describe('registry routes', () => {
  it('registers an instance and lists it under its type', async () => {
    const app = await buildApp();
    try {
      const registered = await app.inject({
        method: 'POST',
        url: '/register',
        headers: auth,
        payload: { type: 'dcu', url: 'http://127.0.0.1:9002' },
      });
      expect(registered.statusCode).toBe(201);
      const { id, heartbeatIntervalMs, ttlMs } = registered.json();
      expect(heartbeatIntervalMs).toBe(1000);
      expect(ttlMs).toBe(3000);

      const listed = await app.inject({ method: 'GET', url: '/services/dcu' });
      expect(listed.statusCode).toBe(200);
      expect(listed.json().instances).toEqual([
        expect.objectContaining({ id, url: 'http://127.0.0.1:9002' }),
      ]);
    } finally {
      await app.close();
    }
  });

  it('refuses to register without the registry token', async () => {
    const app = await buildApp();
    try {
      const response = await app.inject({
        method: 'POST',
        url: '/register',
        payload: { type: 'dcu', url: 'http://127.0.0.1:9002' },
      });
      expect(response.statusCode).toBe(401);
      expect(response.json()).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    } finally {
      await app.close();
    }
  });
});
