import fp from 'fastify-plugin';
import type { FastifyPluginAsync } from 'fastify';
import { InstanceTable } from '../domain/instance-table';

declare module 'fastify' {
  interface FastifyInstance {
    instances: InstanceTable;
    heartbeatIntervalMs: number;
  }
}

export interface InstanceTableOptions {
  heartbeatIntervalMs: number;
  ttlMs: number;
  now?: () => number;
}

/**
 * The table plus its sweeper: swept every heartbeat interval, an instance whose heartbeats
 * stopped is gone within `ttlMs + heartbeatIntervalMs` of its last one.
 */
const instanceTable: FastifyPluginAsync<InstanceTableOptions> = async (app, options) => {
  const table = new InstanceTable(options.ttlMs, options.now);
  app.decorate('instances', table);
  app.decorate('heartbeatIntervalMs', options.heartbeatIntervalMs);
  const sweeper = setInterval(() => {
    for (const entry of table.sweep()) {
      app.log.info({ instanceId: entry.id, type: entry.type, url: entry.url }, 'instance expired');
    }
  }, options.heartbeatIntervalMs);
  sweeper.unref();
  app.addHook('onClose', async () => clearInterval(sweeper));
};

export default fp(instanceTable, { name: 'instance-table' });
