import { RegistryClient, type Logger } from '@grantline/registry-client';
import { exitOnStartupError, peerLimits, runRegisteredService } from '@grantline/service-kit';
import { buildAgencyApp } from './app';
import { readAgencyConfig } from './config';

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
  const app = await buildAgencyApp({
    registry,
    serviceToken: config.SERVICE_TOKEN,
    agencyDir: config.AGENCY_DIR,
    budgetCents: config.AGENCY_BUDGET_CENTS ?? null,
    lockStaleMs: config.LOCK_STALE_MS,
    recoveryIntervalMs: config.RECOVERY_INTERVAL_MS,
    logLevel: config.LOG_LEVEL,
  });
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
