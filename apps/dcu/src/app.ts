import { createServer, healthRoute, metricsRoute, registerOpenApi, type ServerOptions } from '@grantline/service-kit';
import accountAccess from './plugins/account-access';
import accountStore from './plugins/account-store';
import closeouts, { type SendCloseout } from './plugins/closeouts';
import { refusalToHttpError } from './routes/refusal-answers';
import dcuMetrics, { storeMetrics } from './plugins/dcu-metrics';
import { accountsRoutes } from './routes/accounts';
import { researchersRoutes } from './routes/researchers';
import { transactionsRoutes } from './routes/transactions';
import { withdrawalsRoutes } from './routes/withdrawals';
import type { StoreObserver } from './storage/files/file-store';
import type { AccountStore } from './storage/store';

export interface DcuAppOptions extends ServerOptions {
  serviceToken: string;
  accountKeySecret: string;
  accountDir: string;
  dayMs: number;
  lockStaleMs?: number;
  readFreshnessMs?: number;
  now?: () => number;
  /** Hands unspent money back to the agency; without it, ended accounts still close but nothing is sent. */
  sendCloseout?: SendCloseout;
  closeoutIntervalMs?: number;
  observer?: StoreObserver;
  /** Keep the accounts in PostgreSQL instead of `accountDir`. */
  database?: { url: string; poolSize?: number };
  /** A store built by the caller instead of either (see the account-store plugin). */
  store?: AccountStore;
}

/** Builds the DCU without listening, so tests can `inject`. Loads the accounts on disk. */
export async function buildDcuApp(options: DcuAppOptions) {
  const app = createServer({ ...options, mapError: refusalToHttpError });
  await registerOpenApi(app, {
    title: 'Grantline DCU',
    description: 'The college: research accounts, their researchers, withdrawals and ledger.',
    bearerSchemes: {
      serviceToken: 'SERVICE_TOKEN, shown by the agency to open accounts',
      accountKey: 'A researcher key of the account: the owner key or a student key',
    },
  });
  await app.register(accountStore, {
    directory: options.accountDir,
    keySecret: options.accountKeySecret,
    dayMs: options.dayMs,
    ...(options.lockStaleMs === undefined ? {} : { lockStaleMs: options.lockStaleMs }),
    ...(options.readFreshnessMs === undefined ? {} : { readFreshnessMs: options.readFreshnessMs }),
    ...(options.now === undefined ? {} : { now: options.now }),
    observer: storeMetrics(app.metrics, options.observer),
    ...(options.database === undefined ? {} : { database: options.database }),
    ...(options.store === undefined ? {} : { store: options.store }),
  });
  if (options.sendCloseout) {
    await app.register(closeouts, {
      send: options.sendCloseout,
      ...(options.closeoutIntervalMs === undefined ? {} : { intervalMs: options.closeoutIntervalMs }),
    });
  }
  await app.register(accountAccess);
  await app.register(dcuMetrics);
  await app.register(healthRoute);
  await app.register(metricsRoute);
  await app.register(accountsRoutes, { serviceToken: options.serviceToken });
  await app.register(researchersRoutes);
  await app.register(withdrawalsRoutes);
  await app.register(transactionsRoutes);
  return app;
}
