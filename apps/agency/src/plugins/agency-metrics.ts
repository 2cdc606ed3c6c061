import fp from 'fastify-plugin';
import type { FastifyPluginAsync } from 'fastify';

/**
 * The agency's own metrics, counted from its answers so the routes do not know of them:
 * proposals by decision, `accepted` or `rejected` (the agency's rules), `failed` when no
 * account could be opened at a DCU (502/503), `conflict` for an Idempotency-Key reused with
 * other terms (422). An answer repeated for an Idempotency-Key already decided is a replay
 * (grantline_idempotent_replays_total), not a new decision.
 */
const agencyMetrics: FastifyPluginAsync = async (app) => {
  const proposals = app.metrics.counter({
    name: 'grantline_proposals_total',
    help: 'Proposals decided: accepted, rejected, conflict (key reused with other terms), failed (no DCU could open the account).',
    labelNames: ['decision'] as const,
  });
  const closeouts = app.metrics.counter({
    name: 'grantline_closeouts_received_total',
    help: 'Closeouts from DCUs: recorded (201, money returned to the budget) or repeat (200, already counted).',
    labelNames: ['outcome'] as const,
  });
  // Read from the store at each scrape; a store that cannot answer keeps the last values.
  const store = () => (app.hasDecorator('agencyStore') ? app.agencyStore : undefined);
  app.metrics.gauge({
    name: 'grantline_agency_budget_committed_cents',
    help: 'Money promised to accepted proposals (reserved or confirmed), in cents.',
    async collect() {
      const budget = await store()?.budget().catch(() => undefined);
      if (budget) this.set(budget.committedCents);
    },
  });
  app.metrics.gauge({
    name: 'grantline_agency_budget_returned_cents',
    help: 'Money handed back by closeouts of ended accounts, in cents.',
    async collect() {
      const budget = await store()?.budget().catch(() => undefined);
      if (budget) this.set(budget.returnedCents);
    },
  });
  app.metrics.gauge({
    name: 'grantline_agency_reservations_pending',
    help: 'Accepted proposals whose account no DCU has confirmed yet (the recovery loop works on them); should stay near 0.',
    async collect() {
      const pending = await store()?.unconfirmed().catch(() => undefined);
      if (pending) this.set(pending.length);
    },
  });
  app.addHook('onResponse', async (request, reply) => {
    if (request.method !== 'POST' || request.routeOptions.url !== '/closeouts') return;
    if (reply.statusCode === 201) closeouts.inc({ outcome: 'recorded' });
    else if (reply.statusCode === 200) closeouts.inc({ outcome: 'repeat' });
  });
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.method !== 'POST' || request.routeOptions.url !== '/proposals') return payload;
    if (reply.getHeader('idempotent-replayed') === 'true') return payload;
    const decision = decisionOf(reply.statusCode, payload);
    if (decision !== undefined) proposals.inc({ decision });
    return payload;
  });
};

function decisionOf(statusCode: number, payload: unknown): string | undefined {
  if (statusCode === 201 && typeof payload === 'string') {
    // The answer's own `status` says what was decided; this is the one place it is read back.
    const status = (JSON.parse(payload) as { status?: unknown }).status;
    return status === 'accepted' || status === 'rejected' ? status : undefined;
  }
  if (statusCode === 422) return 'conflict';
  if (statusCode === 502 || statusCode === 503) return 'failed';
  return undefined;
}

export default fp(agencyMetrics, { name: 'agency-metrics' });
