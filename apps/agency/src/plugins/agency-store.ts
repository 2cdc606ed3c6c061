import fp from 'fastify-plugin';
import { FileAgencyStore } from '../storage/file-store';
import type { AgencyStore } from '../storage/store';

declare module 'fastify' {
  interface FastifyInstance {
    agencyStore: AgencyStore;
  }
}

export interface AgencyStorePluginOptions {
  /** A store made elsewhere (tests, PostgreSQL); otherwise files in `directory`. */
  store?: AgencyStore;
  directory: string;
  lockStaleMs?: number;
}

/** Opens the decisions on record before the first request; closes them after the last. */
export default fp<AgencyStorePluginOptions>(
  async (app, options) => {
    let store = options.store;
    if (store === undefined) {
      const files = new FileAgencyStore({
        directory: options.directory,
        ...(options.lockStaleMs === undefined ? {} : { lockStaleMs: options.lockStaleMs }),
        onLockCompromised: (error) => app.log.error({ err: error }, 'the agency journal lock was taken over while held'),
      });
      await files.start();
      if (files.damageReport !== undefined) app.log.error({ damage: files.damageReport }, 'the agency journal is damaged; answering 503');
      store = files;
    }
    app.decorate('agencyStore', store);
    // A store handed in belongs to whoever made it (two apps may share one in tests).
    if (options.store === undefined) app.addHook('onClose', async () => store.close());
  },
  { name: 'agency-store' },
);
