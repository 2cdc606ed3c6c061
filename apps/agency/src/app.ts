import {
  createServer,
  healthRoute,
  metricsRoute,
  registerOpenApi,
  type ServerOptions,
} from '@grantline/service-kit';
import type { ServiceCaller } from './dcu/open-account';
import agencyMetrics from './plugins/agency-metrics';
import { proposalRoutes } from './routes/proposals';

export interface AgencyAppOptions extends ServerOptions {
  /** Finds and calls DCU instances: a RegistryClient in production, anything alike in tests. */
  registry: ServiceCaller;
  /** The secret the DCU asks of the agency to open an account. */
  serviceToken: string;
  /** How long one DCU instance may take to answer before another is tried. Default 5000. */
  dcuTimeoutMs?: number;
  /** How long opening one account may take across every DCU tried. Default 15000. */
  dcuDeadlineMs?: number;
}

/** Builds the agency without listening, so tests can `inject`. */
export async function buildAgencyApp(options: AgencyAppOptions) {
  const app = createServer(options);
  await registerOpenApi(app, {
    title: 'Grantline agency',
    description: 'The funding agency: turns grant proposals in range into accounts at a DCU.',
  });
  await app.register(agencyMetrics);
  await app.register(healthRoute);
  await app.register(metricsRoute);
  await app.register(proposalRoutes, {
    caller: options.registry,
    serviceToken: options.serviceToken,
    ...(options.dcuTimeoutMs === undefined ? {} : { timeoutMs: options.dcuTimeoutMs }),
    ...(options.dcuDeadlineMs === undefined ? {} : { deadlineMs: options.dcuDeadlineMs }),
  });
  return app;
}
