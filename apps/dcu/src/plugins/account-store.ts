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
};

/** The account store (files in ACCOUNT_DIR, or PostgreSQL); ready before the first request, drained on close. */
export default fp<AccountStorePluginOptions>(
  async (app, { database, ...options }) => {
    const store: AccountStore = database
      ? new PostgresAccountStore({
          databaseUrl: database.url,
          keySecret: options.keySecret,
          dayMs: options.dayMs,
          logger: app.log,
          ...(database.poolSize === undefined ? {} : { maxConnections: database.poolSize }),
          ...(options.now === undefined ? {} : { now: options.now }),
        })
      : new FileAccountStore({ ...options, logger: app.log });
    await store.start();
    app.decorate('accounts', store);
    app.addHook('onClose', async () => store.close());
  },
  { name: 'account-store' },
);
