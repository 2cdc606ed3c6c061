import fp from 'fastify-plugin';
import type { FastifyPluginAsync } from 'fastify';
import { ChangeFeed } from '../domain/change-feed';
import { InstanceTable } from '../domain/instance-table';
import { Listings } from '../domain/listings';

declare module 'fastify' {
  interface FastifyInstance {
    instances: InstanceTable;
    listings: Listings;
    /** Keys: a service type, or ALL_TYPES for any change. */
    changes: ChangeFeed;
    heartbeatIntervalMs: number;
  }
}

/** The change-feed key that fires on a change of any type. */
export const ALL_TYPES = '*';

export interface InstanceTableOptions {
  heartbeatIntervalMs: number;
  ttlMs: number;
  now?: () => number;
}

/**
 * The table, its listings, its change feed, and its expiry timer. The timer is set for the
 * moment the next instance would expire (not a coarse periodic sweep), so a crashed instance
 * leaves the list, and watchers hear of it, within a few ms of `ttlMs` after its last
 * heartbeat. Reads sweep too, so a list never shows an instance past its TTL.
 */
const instanceTable: FastifyPluginAsync<InstanceTableOptions> = async (app, options) => {
  const table = new InstanceTable(options.ttlMs, options.now);
  const changes = new ChangeFeed();
  app.decorate('instances', table);
  app.decorate('listings', new Listings(table, Math.max(1, Math.floor(options.heartbeatIntervalMs / 2))));
  app.decorate('changes', changes);
  app.decorate('heartbeatIntervalMs', options.heartbeatIntervalMs);

  let timer: NodeJS.Timeout | undefined;
  let timerAt = Infinity;
  let closed = false;
  const arm = () => {
    const at = table.nextExpiryAt();
    if (closed || at === undefined || at >= timerAt) return;
    clearTimeout(timer);
    timerAt = at;
    // +1: the instance is expired once `now - lastHeartbeat >= ttl`, not a moment before.
    timer = setTimeout(onTimer, Math.max(1, at - table.now() + 1));
    timer.unref();
  };
  const onTimer = () => {
    timer = undefined;
    timerAt = Infinity;
    table.sweep();
    arm();
  };

  table.onChange((types) => {
    changes.notify([...types, ALL_TYPES]);
    arm();
  });
  // Expiries, wherever they were found (the timer or a read), are logged once.
  const logExpired = table.onExpire((entries) => {
    for (const entry of entries) {
      app.log.info({ instanceId: entry.id, type: entry.type, url: entry.url }, 'instance expired');
    }
  });

  // Watchers answer at once when the server closes, instead of holding the drain for a minute.
  app.addHook('preClose', async () => changes.release());
  app.addHook('onClose', async () => {
    closed = true;
    clearTimeout(timer);
    logExpired();
  });
};

export default fp(instanceTable, { name: 'instance-table' });
