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
