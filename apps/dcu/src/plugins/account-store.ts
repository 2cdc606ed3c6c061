import fp from 'fastify-plugin';
import { AccountStore, type AccountStoreOptions } from '../storage/account-store';

declare module 'fastify' {
  interface FastifyInstance {
    accounts: AccountStore;
  }
}

export type AccountStorePluginOptions = Omit<AccountStoreOptions, 'logger'>;

/** Loads the accounts before the first request; on close, waits for queued writes. */
export default fp<AccountStorePluginOptions>(
  async (app, options) => {
    const store = new AccountStore({ ...options, logger: app.log });
    await store.start();
    app.decorate('accounts', store);
    app.addHook('onClose', async () => store.close());
  },
  { name: 'account-store' },
);
