import fp from 'fastify-plugin';
import type { FastifyPluginAsync } from 'fastify';

const WITHDRAWALS_ROUTE = '/accounts/:accountId/withdrawals';

/**
 * What became of each withdrawal, from the answer the researcher got: `committed` (201, on
 * disk), `replayed` (201 for an Idempotency-Key already applied; no money moved), `refused`
 * (the ledger's rules said no: 409 would overdraw, 410 expired, 422 key reused with another
 * body), `rejected` (the request itself was wrong: 400, 401, 403, 404), `unavailable` (503,
 * storage could not take it; nothing changed) and `failed` (any other 5xx).
 */
export function withdrawalOutcome(statusCode: number, replayed: boolean): string {
  if (statusCode === 201) return replayed ? 'replayed' : 'committed';
  if (statusCode === 409 || statusCode === 410 || statusCode === 422) return 'refused';
  if (statusCode === 503) return 'unavailable';
  if (statusCode >= 500) return 'failed';
  return 'rejected';
}

/** The DCU's own metrics, counted from its answers so the routes do not know of them. */
const dcuMetrics: FastifyPluginAsync = async (app) => {
  const withdrawals = app.metrics.counter({
    name: 'grantline_withdrawals_total',
    help: 'Withdrawals by outcome: committed, replayed, refused (409/410/422), rejected (other 4xx), unavailable (503), failed.',
    labelNames: ['outcome'] as const,
  });
  app.addHook('onResponse', async (request, reply) => {
    if (request.method !== 'POST' || request.routeOptions.url !== WITHDRAWALS_ROUTE) return;
    withdrawals.inc({
      outcome: withdrawalOutcome(
        reply.statusCode,
        reply.getHeader('idempotent-replayed') === 'true',
      ),
    });
  });
};

export default fp(dcuMetrics, { name: 'dcu-metrics' });
