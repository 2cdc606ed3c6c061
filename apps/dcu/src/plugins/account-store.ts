import fp from 'fastify-plugin';
import { FileAccountStore, type FileAccountStoreOptions } from '../storage/files/file-store';
import type { AccountStore } from '../storage/store';

declare module 'fastify' {
  interface FastifyInstance {
    accounts: AccountStore;
  }
}

export type AccountStorePluginOptions = Omit<FileAccountStoreOptions, 'logger'>;

/** The account store (files in ACCOUNT_DIR); ready before the first request, drained on close. */
export default fp<AccountStorePluginOptions>(
  async (app, options) => {
    const store = new FileAccountStore({ ...options, logger: app.log });
    await store.start();
    app.decorate('accounts', store);
    app.addHook('onClose', async () => store.close());
  },
  { name: 'account-store' },
);
