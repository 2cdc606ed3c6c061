import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import type { Funder } from '../funder';

export interface RecoveryOptions {
  funder: Funder;
  intervalMs: number;
}

/**
 * Finishes, without waiting for any client, the reservations whose account was never
 * confirmed: at start-up (an instance killed mid-proposal leaves some) and then every
 * `intervalMs`, one pass at a time. Stops before the store closes.
 */
const recovery: FastifyPluginAsync<RecoveryOptions> = async (app, { funder, intervalMs }) => {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  const pass = async () => {
    try {
      const tally = await funder.recoverOnce();
      if (tally.finished + tally.released + tally.left > 0) app.log.info(tally, 'recovery pass');
    } catch (error) {
      app.log.warn({ err: error }, 'recovery pass failed; trying again later');
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = pass().finally(() => {
        running = undefined;
        schedule();
      });
    }, intervalMs);
    timer.unref();
  };

  app.addHook('onReady', async () => {
    running = pass().finally(() => {
      running = undefined;
      schedule();
    });
  });
  app.addHook('preClose', async () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    await running;
  });
};

export default fp(recovery, { name: 'agency-recovery', dependencies: ['agency-store'] });
