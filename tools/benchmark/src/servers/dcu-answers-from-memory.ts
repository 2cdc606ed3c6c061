// The DCU as `apps/dcu` builds it, its withdrawals answered from memory (answers-from-memory.ts):
// the `dcu-withdraw-100-from-memory` scenario's server. Configured by the DCU's own variables.
import { buildDcuApp } from '@grantline/dcu/app';
import { readDcuConfig } from '@grantline/dcu/config';
import { FileStoreAnsweringFromMemory } from '../answers-from-memory';

async function main() {
  const config = readDcuConfig();
  const logger = {
    info() {},
    warn: (object: object, message: string) => console.warn(message, object),
    error: (object: object, message: string) => console.error(message, object),
  };
  const store = new FileStoreAnsweringFromMemory({
    directory: config.ACCOUNT_DIR,
    keySecret: config.ACCOUNT_KEY_SECRET,
    dayMs: config.DAY_MS,
    logger,
  });
  const app = await buildDcuApp({
    serviceToken: config.SERVICE_TOKEN,
    accountKeySecret: config.ACCOUNT_KEY_SECRET,
    accountDir: config.ACCOUNT_DIR,
    dayMs: config.DAY_MS,
    logLevel: config.LOG_LEVEL,
    store,
  });
  const url = await app.listen({ port: config.PORT, host: config.HOST });
  console.log(`dcu-answers-from-memory listening on ${url}`);
  process.on('SIGTERM', () => {
    void app.close().then(() => process.exit(0));
  });
}

main().catch((error: unknown) => {
  console.error(`dcu-answers-from-memory failed to start: ${String(error)}`);
  process.exit(1);
});
