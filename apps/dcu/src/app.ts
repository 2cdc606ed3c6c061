import { createServer, healthRoute, registerOpenApi, type ServerOptions } from '@grantline/service-kit';
import accountAccess from './plugins/account-access';
import accountStore from './plugins/account-store';
import { refusalToHttpError } from './routes/refusal-answers';
import { accountsRoutes } from './routes/accounts';
import { researchersRoutes } from './routes/researchers';
import { transactionsRoutes } from './routes/transactions';
import { withdrawalsRoutes } from './routes/withdrawals';

export interface DcuAppOptions extends ServerOptions {
  serviceToken: string;
  accountKeySecret: string;
  accountDir: string;
  dayMs: number;
  lockStaleMs?: number;
  readFreshnessMs?: number;
  now?: () => number;
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
  });
  await app.register(accountAccess);
  await app.register(healthRoute);
  await app.register(accountsRoutes, { serviceToken: options.serviceToken });
  await app.register(researchersRoutes);
  await app.register(withdrawalsRoutes);
  await app.register(transactionsRoutes);
  return app;
}
