import net from 'node:net';
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

/** A registry listening on 127.0.0.1 (port 0 unless a port obtained that way is given). */
export async function startRegistry(
  options: Partial<RegistryAppOptions> & { port?: number } = {},
): Promise<{ app: RegistryApp; url: string; port: number }> {
  const { port = 0, ...appOptions } = options;
  const app = await buildTestRegistry({ heartbeatIntervalMs: 100, ...appOptions });
  await app.listen({ port, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('not listening on TCP');
  return { app, url: `http://127.0.0.1:${address.port}`, port: address.port };
}

/** A port nothing listens on: taken from port 0, then released (connections to it are refused). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return address.port;
}

/** Polls until a condition holds: the process kit's, the one every test and tool uses. */
export { waitFor } from '@grantline/process-kit';

/**
 * Timers for the registry client that run only when the test says so: the test reads the
 * delays the client asked for and fires them, instead of waiting for them.
 */
export class ManualTimers {
  ms = Date.parse('2030-01-01T00:00:00.000Z');
  private nextId = 1;
  readonly pending = new Map<number, { at: number; delayMs: number; callback: () => void }>();

  readonly now = (): number => this.ms;
  readonly setTimeout = (callback: () => void, delayMs: number): unknown => {
    const id = this.nextId++;
    this.pending.set(id, { at: this.ms + delayMs, delayMs, callback });
    return id;
  };
  readonly clearTimeout = (handle: unknown): void => {
    this.pending.delete(handle as number);
  };

  /** Moves the clock to the earliest pending timer and runs it; returns the delay it was set for. */
  fireNext(): number {
    const [id, timer] = [...this.pending].sort(([, a], [, b]) => a.at - b.at)[0] ?? [];
    if (id === undefined || !timer) throw new Error('no timer is pending');
    this.pending.delete(id);
    this.ms = Math.max(this.ms, timer.at);
    timer.callback();
    return timer.delayMs;
  }
}
