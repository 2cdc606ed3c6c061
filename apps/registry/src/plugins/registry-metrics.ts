import fp from 'fastify-plugin';
import type { FastifyPluginAsync } from 'fastify';

/**
 * The registry's own metrics: live instances by type (read from the table at each scrape),
 * registrations and heartbeats as answered, and instances that expired (silent past the TTL).
 * Counted from the answers and the table's events, so the routes do not know of it.
 */
const registryMetrics: FastifyPluginAsync = async (app) => {
  const table = app.instances;
  // A type whose last instance is gone reads 0 rather than vanishing, so alerts can say "== 0".
  const typesSeen = new Set<string>();
  app.metrics.gauge({
    name: 'grantline_registry_instances',
    help: 'Live (listed) instances, by service type.',
    labelNames: ['type'] as const,
    collect() {
      const live = table.liveByType();
      for (const type of live.keys()) typesSeen.add(type);
      for (const type of typesSeen) this.set({ type }, live.get(type)?.length ?? 0);
    },
  });
  const registrations = app.metrics.counter({
    name: 'grantline_registry_registrations_total',
    help: 'Instances registered (a restarted registry sees every live instance register again), by type.',
    labelNames: ['type'] as const,
  });
  const heartbeats = app.metrics.counter({
    name: 'grantline_registry_heartbeats_total',
    help: 'Heartbeats answered: known (204) or unknown (404: expired or never registered, so the instance registers again).',
    labelNames: ['outcome'] as const,
  });
  const expiries = app.metrics.counter({
    name: 'grantline_registry_expiries_total',
    help: 'Instances dropped for silence past the TTL (crashed, hung or cut off), by type.',
    labelNames: ['type'] as const,
  });

  const stopCounting = table.onExpire((entries) => {
    for (const entry of entries) expiries.inc({ type: entry.type });
  });
  app.addHook('onClose', async () => stopCounting());
  // The heartbeat's two outcomes as children made once: a heartbeat then costs one increment,
  // not a label lookup. A callback hook (no promise): it runs on every heartbeat.
  const known = heartbeats.labels({ outcome: 'known' });
  const unknown = heartbeats.labels({ outcome: 'unknown' });
  app.addHook('onResponse', (request, reply, done) => {
    if (request.method === 'POST') {
      const route = request.routeOptions.url;
      if (route === '/heartbeat') {
        if (reply.statusCode === 204) known.inc();
        else if (reply.statusCode === 404) unknown.inc();
      } else if (route === '/register' && reply.statusCode === 201) {
        registrations.inc({ type: (request.body as { type: string }).type });
      }
    }
    done();
  });
};

export default fp(registryMetrics, { name: 'registry-metrics', dependencies: ['instance-table'] });
