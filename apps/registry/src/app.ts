import { createServer, healthRoute, metricsRoute, registerOpenApi, type ServerOptions } from '@grantline/service-kit';
import instanceTable from './plugins/instance-table';
import registryMetrics from './plugins/registry-metrics';
import { dashboardRoutes } from './routes/dashboard';
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
  // First, so every route after it is in /openapi.json.
  await registerOpenApi(app, {
    title: 'Grantline registry',
    description:
      'Where services find each other: instances register, heartbeat and unregister (with ' +
      "their type's registration token, or the registry token); anyone may list the live " +
      'instances of a type. The live dashboard is at `/`.',
    bearerSchemes: {
      registryToken:
        "REGISTRY_TOKEN (every type, for development) or a type's registration token, " +
        'HMAC-SHA256(key = REGISTRY_TOKEN, message = type) in lowercase hex (that type only).',
    },
  });
  await app.register(instanceTable, {
    heartbeatIntervalMs: options.heartbeatIntervalMs,
    ttlMs: options.ttlMs ?? 3 * options.heartbeatIntervalMs,
    ...(options.now ? { now: options.now } : {}),
  });
  await app.register(registryMetrics);
  await app.register(healthRoute);
  await app.register(metricsRoute);
  await app.register(servicesRoutes);
  await app.register(membershipRoutes, { registryToken: options.registryToken });
  await app.register(dashboardRoutes);
  return app;
}
