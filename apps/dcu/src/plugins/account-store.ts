import fp from 'fastify-plugin';
import { FileAccountStore, type FileAccountStoreOptions } from '../storage/files/file-store';
import { PostgresAccountStore } from '../storage/postgres/postgres-store';
import type { AccountStore } from '../storage/store';

declare module 'fastify' {
  interface FastifyInstance {
    accounts: AccountStore;
  }
}

export type AccountStorePluginOptions = Omit<FileAccountStoreOptions, 'logger'> & {
  /** Set: the accounts live in this PostgreSQL database, and `directory` is not used. */
  database?: { url: string; poolSize?: number };
  /**
   * A store built by the caller, used instead of the two above (the benchmark's measure of the
   * HTTP path without storage); started and closed here like them.
   */
  store?: AccountStore;
};

/** The account store (files in ACCOUNT_DIR, PostgreSQL, or one the caller built); ready before the first request, drained on close. */
export default fp<AccountStorePluginOptions>(
  async (app, { database, store: given, ...options }) => {
    const store: AccountStore =
      given ??
      (database
        ? new PostgresAccountStore({
            databaseUrl: database.url,
            keySecret: options.keySecret,
            dayMs: options.dayMs,
            logger: app.log,
            ...(database.poolSize === undefined ? {} : { maxConnections: database.poolSize }),
            ...(options.now === undefined ? {} : { now: options.now }),
          })
        : new FileAccountStore({ ...options, logger: app.log }));
    await store.start();
    app.decorate('accounts', store);
    app.addHook('onClose', async () => store.close());
  },
  { name: 'account-store' },
);
