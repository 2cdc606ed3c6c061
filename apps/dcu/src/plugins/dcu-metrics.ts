import fp from 'fastify-plugin';
import type { FastifyPluginAsync, onResponseHookHandler } from 'fastify';
import type { ServiceMetrics } from '@grantline/service-kit';
import type { StoreObserver } from '../storage/files/file-store';

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
  const countWithdrawal: onResponseHookHandler = (_request, reply, done) => {
    withdrawals.inc({
      outcome: withdrawalOutcome(reply.statusCode, reply.getHeader('idempotent-replayed') === 'true'),
    });
    done();
  };
  // On the withdrawal route alone, so no other request (a read, say) pays for the check.
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (route.url !== WITHDRAWALS_ROUTE || !methods.includes('POST')) return;
    const existing = route.onResponse === undefined ? [] : Array.isArray(route.onResponse) ? route.onResponse : [route.onResponse];
    route.onResponse = [...existing, countWithdrawal];
  });
};

export default fp(dcuMetrics, { name: 'dcu-metrics' });

/**
 * The store's group commits as metrics: how long each batch's one write and fdatasync took,
 * and how many commands it carried (more per batch under load is group commit at work).
 * Passes every batch on to `also` (a test's own observer) too.
 */
export function storeMetrics(metrics: ServiceMetrics, also?: StoreObserver): StoreObserver {
  const commitSeconds = metrics.histogram({
    name: 'grantline_dcu_commit_seconds',
    help: 'Time to make one group commit durable: one write and one fdatasync of the ledger.',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
  });
  const batchCommands = metrics.histogram({
    name: 'grantline_dcu_group_commit_commands',
    help: 'Commands (withdrawals, researcher changes) carried by one group commit.',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
  });
  const events = metrics.counter({
    name: 'grantline_dcu_ledger_events_total',
    help: 'Events appended to the ledgers (a refused command appends none).',
  });
  return {
    groupCommit(batch) {
      commitSeconds.observe(batch.writeSeconds);
      batchCommands.observe(batch.commands);
      events.inc(batch.events);
      also?.groupCommit(batch);
    },
  };
}
