import {
  createServer,
  healthRoute,
  metricsRoute,
  registerOpenApi,
  type ServerOptions,
} from '@grantline/service-kit';
import type { ServiceCaller } from './dcu/open-account';
import { Funder } from './funder';
import agencyMetrics from './plugins/agency-metrics';
import agencyStore from './plugins/agency-store';
import { agencyErrorToHttp } from './plugins/error-status';
import recovery from './plugins/recovery';
import { budgetRoutes } from './routes/budget';
import { closeoutRoutes } from './routes/closeouts';
import { dashboardRoutes } from './routes/dashboard';
import { proposalRoutes } from './routes/proposals';
import type { AgencyStore } from './storage/store';

export interface AgencyAppOptions extends ServerOptions {
  /** Finds and calls DCU instances: a RegistryClient in production, anything alike in tests. */
  registry: ServiceCaller;
  /** The secret the DCU asks of the agency to open an account, and shows it to close one out. */
  serviceToken: string;
  /** AGENCY_DIR: where decisions are kept, unless `store` is given. */
  agencyDir?: string;
  /** A store made by the caller (tests; PostgreSQL); the caller closes it. */
  store?: AgencyStore;
  /** AGENCY_BUDGET_CENTS; undefined or null: unlimited. */
  budgetCents?: number | null;
  lockStaleMs?: number;
  /** How often unconfirmed reservations are looked at. Default 1000. */
  recoveryIntervalMs?: number;
  /** See FunderOptions.staleAfterMs. */
  reservationStaleAfterMs?: number;
  /** How long one DCU instance may take to answer before another is tried. Default 5000. */
  dcuTimeoutMs?: number;
  /** How long opening one account may take across every DCU tried. Default 15000. */
  dcuDeadlineMs?: number;
  /** The one clock. */
  now?: () => Date;
  /** Names this instance in its reservations (tests). */
  owner?: string;
}

/** Builds the agency without listening, so tests can `inject`. */
export async function buildAgencyApp(options: AgencyAppOptions) {
  const app = createServer({ ...options, mapError: options.mapError ?? agencyErrorToHttp });
  await registerOpenApi(app, {
    title: 'Grantline agency',
    description:
      'The funding agency: decides grant proposals within its budget, keeps every decision, opens the ' +
      "accounts of accepted ones on a DCU and takes back what they did not spend.",
  });
  await app.register(agencyMetrics);
  await app.register(healthRoute);
  await app.register(metricsRoute);
  await app.register(agencyStore, {
    directory: options.agencyDir ?? 'agency_files',
    ...(options.store === undefined ? {} : { store: options.store }),
    ...(options.lockStaleMs === undefined ? {} : { lockStaleMs: options.lockStaleMs }),
  });
  const budgetCents = options.budgetCents ?? null;
  const funder = new Funder({
    store: app.agencyStore,
    caller: options.registry,
    serviceToken: options.serviceToken,
    budgetCents,
    log: app.log,
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.owner === undefined ? {} : { owner: options.owner }),
    ...(options.reservationStaleAfterMs === undefined ? {} : { staleAfterMs: options.reservationStaleAfterMs }),
    ...(options.dcuTimeoutMs === undefined ? {} : { timeoutMs: options.dcuTimeoutMs }),
    ...(options.dcuDeadlineMs === undefined ? {} : { deadlineMs: options.dcuDeadlineMs }),
  });
  await app.register(proposalRoutes, { funder });
  await app.register(budgetRoutes, { totalCents: budgetCents });
  await app.register(closeoutRoutes, {
    serviceToken: options.serviceToken,
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  await app.register(dashboardRoutes, { totalCents: budgetCents });
  await app.register(recovery, { funder, intervalMs: options.recoveryIntervalMs ?? 1000 });
  return app;
}
