import fp from 'fastify-plugin';
import type { PendingCloseout } from '../storage/store';

/** Hands one closeout to the funding agency: true once the agency acknowledged it (201 or 200). */
export type SendCloseout = (closeout: PendingCloseout) => Promise<boolean>;

export interface CloseoutsPluginOptions {
  send: SendCloseout;
  /** How often ended accounts are looked for; 500 ms keeps a closeout within 3 s of the end. */
  intervalMs?: number;
}

const MAX_RETRY_DELAY_MS = 30_000;

/**
 * The outbox of closeouts: every `intervalMs` the store closes the accounts that ended (also
 * ones nobody touches, after a restart, with any number of instances on the storage: the store
 * makes that safe) and lists those the agency has not acknowledged; each is sent until it is,
 * then acknowledged in the store, so it is never sent again. A repeat is harmless: the agency
 * counts a closeout once.
 */
export default fp<CloseoutsPluginOptions>(
  async (app, options) => {
    const intervalMs = options.intervalMs ?? 500;
    const pendingGauge = app.metrics.gauge({
      name: 'grantline_closeouts_pending',
      help: 'Ended accounts whose closeout the agency has not acknowledged yet (as of the last look).',
    });
    const sent = app.metrics.counter({
      name: 'grantline_closeouts_sent_total',
      help: 'Closeouts sent to the agency: acknowledged, or failed (retried later with backoff).',
      labelNames: ['outcome'] as const,
    });
    /** Accounts whose last attempt failed: not before this time, doubling up to 30 s. */
    const backoff = new Map<string, { notBeforeMs: number; delayMs: number }>();
    let timer: NodeJS.Timeout | undefined;
    let running: Promise<void> = Promise.resolve();
    let stopped = false;

    const sendOne = async (closeout: PendingCloseout): Promise<void> => {
      const waiting = backoff.get(closeout.accountId);
      if (waiting && Date.now() < waiting.notBeforeMs) return;
      let acknowledged = false;
      try {
        acknowledged = await options.send(closeout);
      } catch (error) {
        app.log.warn({ err: error, accountId: closeout.accountId }, 'closeout not delivered; will retry');
      }
      sent.inc({ outcome: acknowledged ? 'acknowledged' : 'failed' });
      if (!acknowledged) {
        const delayMs = Math.min(MAX_RETRY_DELAY_MS, (waiting?.delayMs ?? intervalMs / 2) * 2);
        backoff.set(closeout.accountId, { notBeforeMs: Date.now() + delayMs, delayMs });
        return;
      }
      backoff.delete(closeout.accountId);
      await app.accounts.acknowledgeCloseout(closeout.accountId);
      app.log.info(closeout, 'closeout acknowledged by the agency');
    };

    const tick = async (): Promise<void> => {
      try {
        const pending = await app.accounts.pendingCloseouts();
        pendingGauge.set(pending.length);
        await Promise.all(pending.map((closeout) => sendOne(closeout).catch((error: unknown) => {
          app.log.warn({ err: error, accountId: closeout.accountId }, 'could not record the closeout');
        })));
      } catch (error) {
        app.log.warn({ err: error }, 'could not look for ended accounts');
      }
    };

    const schedule = () => {
      if (stopped) return;
      timer = setTimeout(() => {
        running = tick().finally(schedule);
      }, intervalMs);
      timer.unref();
    };

    app.addHook('onReady', async () => schedule());
    app.addHook('preClose', async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    });
  },
  { name: 'closeouts', dependencies: ['account-store'] },
);
