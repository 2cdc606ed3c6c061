import { answerChecker, RegisterResponse } from '@grantline/contracts';
import { backoffDelay, jitter, systemTimers, type Timers } from './backoff';
import { isConnectionError, type HttpRequest, type Logger, type PoolSet } from './http';

export interface MembershipOptions {
  /** One registry URL, or several: the instance is registered with each of them. */
  registryUrl: string;
  registryToken: string;
  type: string;
  url: string;
  pools: PoolSet;
  logger: Logger;
  /** Used until the registry tells its own interval. */
  assumedHeartbeatIntervalMs?: number;
  random?: () => number;
  timers?: Timers;
}

export type MembershipState = 'registering' | 'registered' | 'stopped';

/**
 * Keeps one instance listed in the registry: registers, heartbeats at about a third of the
 * TTL, registers again when the registry forgot it (404) or could not be reached, and
 * unregisters on `leave()`. A registry that is down never stops the service: it keeps
 * retrying with jittered exponential backoff, capped at the heartbeat interval.
 */
export class RegistryMembership {
  private timer: unknown;
  private failures = 0;
  private instanceId: string | undefined;
  private heartbeatEveryMs: number;
  private current: MembershipState = 'registering';
  private readonly registryOrigin: string;
  private readonly random: () => number;
  private readonly timers: Timers;
  private firstRegistration: Promise<void>;
  private resolveFirst!: () => void;

  constructor(private readonly options: MembershipOptions) {
    this.registryOrigin = new URL(options.registryUrl).origin;
    this.heartbeatEveryMs = options.assumedHeartbeatIntervalMs ?? 1_000;
    this.random = options.random ?? Math.random;
    this.timers = options.timers ?? systemTimers;
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
      new Promise<boolean>((resolve) =>
        this.timers.setTimeout(() => resolve(false), timeoutMs, { background: true }),
      ),
    ]);
  }

  /** Stops heartbeating and tells the registry, so clients stop picking this instance now. */
  async leave(): Promise<void> {
    if (this.current === 'stopped') return;
    this.current = 'stopped';
    this.timers.clearTimeout(this.timer);
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
    this.timers.clearTimeout(this.timer);
  }

  private schedule(delayMs: number): void {
    if (this.current === 'stopped') return;
    this.timers.clearTimeout(this.timer);
    this.timer = this.timers.setTimeout(() => void this.tick(), delayMs, { background: true });
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
        { err: error, registry: this.registryOrigin, retryInMs: delay },
        `${reason}; will register again`,
      );
      this.schedule(delay);
    }
  }

  private async register(): Promise<void> {
    const response = await this.post<RegisterResponse>(
      '/register',
      { type: this.options.type, url: this.options.url },
      2_000,
      // Believe a registration only as the contract has it (the id is sent back later).
      (answer) => (answer.statusCode === 201 ? registration.problems(answer.body) : undefined),
    );
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

  private post<T = unknown>(path: string, body: unknown, timeoutMs = 2_000, check?: HttpRequest['check']) {
    return this.options.pools.request<T>(this.registryOrigin, {
      method: 'POST',
      path,
      body,
      timeoutMs,
      headers: { authorization: `Bearer ${this.options.registryToken}` },
      ...(check ? { check } : {}),
    });
  }
}

const registration = answerChecker(RegisterResponse);

/** A registry's answer for a log line: its message, or its start (never all of it). */
function describe(body: unknown): string {
  const text =
    body && typeof body === 'object' && 'message' in body ? String(body.message) : (JSON.stringify(body) ?? '');
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/**
 * One instance kept listed in every registry (API.md: "every service registers and heartbeats
 * with each of them"): a RegistryMembership per registry, each on its own, so a registry that
 * is down or restarting delays nothing with the others.
 */
export class Membership {
  readonly perRegistry: RegistryMembership[];

  constructor(options: MembershipOptions & { registryUrls: string[] }) {
    this.perRegistry = options.registryUrls.map(
      (registryUrl) => new RegistryMembership({ ...options, registryUrl }),
    );
  }

  /** The id given by the first registry that listed this instance (each registry has its own). */
  get id(): string | undefined {
    return this.perRegistry.find((membership) => membership.id !== undefined)?.id;
  }

  get ids(): (string | undefined)[] {
    return this.perRegistry.map((membership) => membership.id);
  }

  /** 'registered' once at least one registry lists this instance. */
  get state(): MembershipState {
    const states = this.perRegistry.map((membership) => membership.state);
    if (states.includes('registered')) return 'registered';
    if (states.every((state) => state === 'stopped')) return 'stopped';
    return 'registering';
  }

  /** Resolves true once some registry lists this instance, false after `timeoutMs`. */
  async registered(timeoutMs = 10_000): Promise<boolean> {
    const answers = this.perRegistry.map((membership) => membership.registered(timeoutMs));
    return Promise.race([
      Promise.any(answers.map((answer) => answer.then((ok) => (ok ? true : Promise.reject(new Error()))))),
      Promise.all(answers).then((all) => all.some(Boolean)),
    ]).catch(() => false);
  }

  async leave(): Promise<void> {
    await Promise.allSettled(this.perRegistry.map((membership) => membership.leave()));
  }

  abandon(): void {
    for (const membership of this.perRegistry) membership.abandon();
  }
}
