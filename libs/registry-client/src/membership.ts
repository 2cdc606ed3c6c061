import type { RegisterResponse } from '@grantline/contracts';
import { backoffDelay, jitter } from './backoff';
import { isConnectionError, type Logger, type PoolSet } from './http';

export interface MembershipOptions {
  registryUrl: string;
  registryToken: string;
  type: string;
  url: string;
  pools: PoolSet;
  logger: Logger;
  /** Used until the registry tells its own interval. */
  assumedHeartbeatIntervalMs?: number;
  random?: () => number;
}

export type MembershipState = 'registering' | 'registered' | 'stopped';

/**
 * Keeps one instance listed in the registry: registers, heartbeats at about a third of the
 * TTL, registers again when the registry forgot it (404) or could not be reached, and
 * unregisters on `leave()`. A registry that is down never stops the service: it keeps
 * retrying with jittered exponential backoff, capped at the heartbeat interval.
 */
export class Membership {
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private instanceId: string | undefined;
  private heartbeatEveryMs: number;
  private current: MembershipState = 'registering';
  private readonly registryOrigin: string;
  private readonly random: () => number;
  private firstRegistration: Promise<void>;
  private resolveFirst!: () => void;

  constructor(private readonly options: MembershipOptions) {
    this.registryOrigin = new URL(options.registryUrl).origin;
    this.heartbeatEveryMs = options.assumedHeartbeatIntervalMs ?? 1_000;
    this.random = options.random ?? Math.random;
    this.firstRegistration = new Promise((resolve) => (this.resolveFirst = resolve));
    this.schedule(0);
  }

  get id(): string | undefined {
    return this.instanceId;
  }

  get state(): MembershipState {
    return this.current;
  }

  /** Resolves once the registry has listed this instance (at most `timeoutMs` later). */
  registered(timeoutMs = 10_000): Promise<boolean> {
    return Promise.race([
      this.firstRegistration.then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref()),
    ]);
  }

  /** Stops heartbeating and tells the registry, so clients stop picking this instance now. */
  async leave(): Promise<void> {
    if (this.current === 'stopped') return;
    this.current = 'stopped';
    clearTimeout(this.timer);
    const id = this.instanceId;
    this.instanceId = undefined;
    if (!id) return;
    try {
      await this.post('/unregister', { id }, 1_000);
    } catch (error) {
      this.options.logger.warn({ err: error }, 'could not unregister; the registry will expire us');
    }
  }

  /** Stops heartbeating without unregistering: what a crash looks like to the registry. */
  abandon(): void {
    this.current = 'stopped';
    clearTimeout(this.timer);
  }

  private schedule(delayMs: number): void {
    if (this.current === 'stopped') return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      if (this.current === 'registered' && this.instanceId) await this.heartbeat(this.instanceId);
      else await this.register();
      this.failures = 0;
      this.schedule(jitter(this.heartbeatEveryMs, 0.1, this.random));
    } catch (error) {
      if (this.current === 'stopped') return;
      // The registry may have restarted while unreachable: register afresh when it is back.
      this.current = 'registering';
      this.failures += 1;
      const delay = backoffDelay(this.failures, 100, this.heartbeatEveryMs, this.random);
      const reason = isConnectionError(error) ? 'registry unreachable' : 'registry refused';
      this.options.logger.warn(
        { err: error, retryInMs: delay },
        `${reason}; will register again`,
      );
      this.schedule(delay);
    }
  }

  private async register(): Promise<void> {
    const response = await this.post<RegisterResponse>('/register', {
      type: this.options.type,
      url: this.options.url,
    });
    if (response.statusCode !== 201) {
      throw new Error(`register answered ${response.statusCode}: ${describe(response.body)}`);
    }
    if (this.current === 'stopped') {
      // leave() ran while registering: do not stay listed.
      await this.post('/unregister', { id: response.body.id }, 1_000).catch(() => undefined);
      return;
    }
    this.instanceId = response.body.id;
    // About a third of the TTL, as the registry's interval is.
    this.heartbeatEveryMs = Math.max(
      50,
      Math.min(response.body.heartbeatIntervalMs, Math.floor(response.body.ttlMs / 3)),
    );
    this.current = 'registered';
    this.options.logger.info(
      { instanceId: this.instanceId, type: this.options.type },
      'registered with the registry',
    );
    this.resolveFirst();
  }

  private async heartbeat(id: string): Promise<void> {
    const response = await this.post('/heartbeat', { id });
    if (response.statusCode === 204) return;
    if (response.statusCode === 404) {
      this.options.logger.info({ instanceId: id }, 'registry forgot us (restarted?); registering again');
      this.current = 'registering';
      await this.register();
      return;
    }
    throw new Error(`heartbeat answered ${response.statusCode}: ${describe(response.body)}`);
  }

  private post<T = unknown>(path: string, body: unknown, timeoutMs = 2_000) {
    return this.options.pools.request<T>(this.registryOrigin, {
      method: 'POST',
      path,
      body,
      timeoutMs,
      headers: { authorization: `Bearer ${this.options.registryToken}` },
    });
  }
}

function describe(body: unknown): string {
  if (body && typeof body === 'object' && 'message' in body) return String(body.message);
  return JSON.stringify(body) ?? '';
}
