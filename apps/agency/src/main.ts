import { RegistryClient, type Logger } from '@grantline/registry-client';
import { exitOnStartupError, peerLimits, runRegisteredService } from '@grantline/service-kit';
import { buildAgencyApp } from './app';
import { readAgencyConfig } from './config';
import { PostgresAgencyStore } from './storage/postgres-store';

async function main() {
  const config = readAgencyConfig();
  // The client logs through the app's logger; it logs nothing before the app exists.
  const logger: Logger = {
    debug: (obj, msg) => app.log.debug(obj, msg),
    info: (obj, msg) => app.log.info(obj, msg),
    warn: (obj, msg) => app.log.warn(obj, msg),
  };
  const registry = new RegistryClient({
    registryUrl: config.REGISTRY_URL,
    registryToken: config.REGISTRY_TOKEN,
    ...peerLimits(config),
    logger,
  });
  // With DATABASE_URL the decisions live in PostgreSQL, shared by agencies on any host.
  const store =
    config.DATABASE_URL === undefined
      ? undefined
      : await PostgresAgencyStore.open({
          databaseUrl: config.DATABASE_URL,
          maxConnections: config.DATABASE_POOL_SIZE,
          // Before the app (and its logger) exists: say on stderr that the database is awaited.
          logger: {
            warn: (details, message) =>
              process.stderr.write(
                `agency: ${message} (${String((details as { err?: Error }).err?.message ?? '')})\n`,
              ),
          },
        });
  const app = await buildAgencyApp({
    registry,
    ...(store === undefined ? {} : { store }),
    serviceToken: config.SERVICE_TOKEN,
    agencyDir: config.AGENCY_DIR,
    budgetCents: config.AGENCY_BUDGET_CENTS ?? null,
    lockStaleMs: config.LOCK_STALE_MS,
    recoveryIntervalMs: config.RECOVERY_INTERVAL_MS,
    logLevel: config.LOG_LEVEL,
  });
  // A store handed to the app is closed by whoever made it.
  if (store !== undefined) app.addHook('onClose', () => store.close());
  await runRegisteredService({
    name: 'agency',
    type: 'agency',
    app,
    port: config.PORT,
    host: config.HOST,
    registry,
    advertisedUrl: config.ADVERTISED_URL,
  });
}

main().catch(exitOnStartupError('agency'));
