import type { LightMyRequestResponse } from 'fastify';
import { buildRegistryApp, type RegistryAppOptions } from '../src/app';

export const registryToken = 'test-registry-token-0123456789';
export const auth = { authorization: `Bearer ${registryToken}` };

/** A clock the test moves by hand, so TTL behaviour needs no sleeping. */
export class ManualClock {
  constructor(public ms = Date.parse('2030-01-01T00:00:00.000Z')) {}
  readonly now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

export type RegistryApp = Awaited<ReturnType<typeof buildRegistryApp>>;

export function buildTestRegistry(options: Partial<RegistryAppOptions> = {}): Promise<RegistryApp> {
  return buildRegistryApp({
    registryToken,
    heartbeatIntervalMs: 1000,
    fastify: { logger: false },
    ...options,
  });
}

export async function register(
  app: RegistryApp,
  type: string,
  url: string,
): Promise<{ id: string; heartbeatIntervalMs: number; ttlMs: number }> {
  const response = await app.inject({ method: 'POST', url: '/register', headers: auth, payload: { type, url } });
  expect(response.statusCode).toBe(201);
  return response.json();
}

export function heartbeat(app: RegistryApp, id: string): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: '/heartbeat', headers: auth, payload: { id } });
}

export async function listedIds(app: RegistryApp, type: string): Promise<string[]> {
  const response = await app.inject({ method: 'GET', url: `/services/${type}` });
  expect(response.statusCode).toBe(200);
  return (response.json() as { instances: { id: string }[] }).instances.map((instance) => instance.id);
}
