import { exitOnStartupError, runService } from '@grantline/service-kit';
import { buildRegistryApp } from './app';
import { readRegistryConfig } from './config';

async function main() {
  const config = readRegistryConfig();
  const app = await buildRegistryApp({
    registryToken: config.REGISTRY_TOKEN,
    heartbeatIntervalMs: config.HEARTBEAT_INTERVAL_MS,
    ...(config.TTL_MS === undefined ? {} : { ttlMs: config.TTL_MS }),
    logLevel: config.LOG_LEVEL,
  });
  await runService({ name: 'registry', app, port: config.PORT, host: config.HOST });
}

main().catch(exitOnStartupError('registry'));
