import './enlarge-thread-pool';
import { RegistryClient } from '@grantline/registry-client';
import { exitOnStartupError, peerLimits, runRegisteredService } from '@grantline/service-kit';
import { closeoutsToAgency } from './agency-closeouts';
import { buildDcuApp } from './app';
import { readDcuConfig } from './config';

async function main() {
  const config = readDcuConfig();
  // The registry client needs the app's logger, the app the sender: the sender asks for the client when it sends.
  const late: { registry?: RegistryClient } = {};
  const app = await buildDcuApp({
    serviceToken: config.SERVICE_TOKEN,
    accountKeySecret: config.ACCOUNT_KEY_SECRET,
    accountDir: config.ACCOUNT_DIR,
    dayMs: config.DAY_MS,
    lockStaleMs: config.LOCK_STALE_MS,
    ...(config.DATABASE_URL === undefined
      ? {}
      : { database: { url: config.DATABASE_URL, poolSize: config.DATABASE_POOL_SIZE } }),
    logLevel: config.LOG_LEVEL,
    sendCloseout: closeoutsToAgency(() => {
      if (!late.registry) throw new Error('the registry client is not ready yet');
      return late.registry;
    }, config.SERVICE_TOKEN),
  });
  const registry = new RegistryClient({
    registryUrl: config.REGISTRY_URL,
    registryToken: config.REGISTRY_TOKEN,
    ...peerLimits(config),
    logger: app.log,
  });
  late.registry = registry;
  await runRegisteredService({
    name: 'dcu',
    type: 'dcu',
    app,
    port: config.PORT,
    host: config.HOST,
    registry,
    advertisedUrl: config.ADVERTISED_URL,
  });
}

main().catch(exitOnStartupError('dcu'));
