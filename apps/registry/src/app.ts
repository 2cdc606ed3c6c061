import { createServer, healthRoute, type ServerOptions } from '@grantline/service-kit';
import instanceTable from './plugins/instance-table';
import { membershipRoutes } from './routes/membership';
import { servicesRoutes } from './routes/services';

export interface RegistryAppOptions extends ServerOptions {
  registryToken: string;
  heartbeatIntervalMs: number;
  /** Defaults to three heartbeat intervals. */
  ttlMs?: number;
  now?: () => number;
}

/** Builds the registry without listening, so tests can `inject`. */
export async function buildRegistryApp(options: RegistryAppOptions) {
  const app = createServer(options);
  await app.register(instanceTable, {
    heartbeatIntervalMs: options.heartbeatIntervalMs,
    ttlMs: options.ttlMs ?? 3 * options.heartbeatIntervalMs,
    ...(options.now ? { now: options.now } : {}),
  });
  await app.register(healthRoute);
  await app.register(servicesRoutes);
  await app.register(membershipRoutes, { registryToken: options.registryToken });
  return app;
}
