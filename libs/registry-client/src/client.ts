import type { ServiceInstance } from '@grantline/contracts';
import { DRAINING_HEADER, IDEMPOTENCY_KEY_HEADER } from '@grantline/contracts';
import { backoffDelay, parseRegistryUrls, sleep, systemTimers, type Timers } from './backoff';
import { Discovery } from './discovery';
import {
  isConnectionError,
  originOf,
  PoolSet,
  silentLogger,
  type HttpRequest,
  type HttpResponse,
  type Logger,
} from './http';
import { Membership } from './membership';

export interface RegistryClientOptions {
  /**
   * Where the registries answer, e.g. http://127.0.0.1:9000, or several comma-separated:
   * this process registers with each and reads from any that answers.
   */
  registryUrl: string;
  /** Needed only to `join` (register this process). */
  registryToken?: string;
  /** The pace of retries when a registry cannot be read (jittered). Default 1000. */
  refreshIntervalMs?: number;
  /** How long each watch of a type's list waits for a change before asking again. Default 30000. */
  watchWaitMs?: number;
  /** How long an instance that failed a call is avoided locally. Default 5000. */
  quarantineMs?: number;
  /** Connections kept per instance. Default 64. */
  connectionsPerInstance?: number;
  /**
   * The total deadline of one exchange with a peer (connect, headers and body), unless a
   * request says otherwise. Default 10000 (PEER_TIMEOUT_MS in the services).
   */
  timeoutMs?: number;
  /** The largest answer read from a peer. Default 1 MiB (PEER_MAX_ANSWER_BYTES in the services). */
  maxAnswerBytes?: number;
  logger?: Logger;
  random?: () => number;
  /** The clock and timers (tests move time by hand). */
  timers?: Timers;
}

export interface CallRequest extends HttpRequest {
  /** Makes a non-GET request safe to repeat on another instance. */
  idempotencyKey?: string;
  /**
   * The id of the request this call is made for, sent on as `x-request-id` so the callee's
   * log lines about it carry the same id (and named in this client's own log lines).
   */
  requestId?: string;
  /**
   * Instances tried at most (each a different one while others are known). Default 4. A
   * request that is not safe to repeat is tried elsewhere only when it provably never arrived.
   */
  maxAttempts?: number;
  /** Give up retrying after this long. Default 15000. */
  deadlineMs?: number;
}

export interface CallResponse<T = unknown> extends HttpResponse<T> {
  /** The instance that answered. */
  instanceUrl: string;
  /** How many instances were tried. */
  attempts: number;
}

/** No live instance of the type could be reached; services map this to 503. */
export class NoInstanceError extends Error {
  override name = 'NoInstanceError';
  constructor(
    readonly type: string,
    readonly lastError?: unknown,
  ) {
    super(
      lastError
        ? `no ${type} instance could be reached (last error: ${describeError(lastError)})`
        : `no ${type} instance is registered`,
    );
  }
}

/** The request failed mid-way and is not safe to repeat, so its outcome is unknown. */
export class UncertainOutcomeError extends Error {
  override name = 'UncertainOutcomeError';
  constructor(
    readonly instanceUrl: string,
    override readonly cause: unknown,
  ) {
    super(`request to ${instanceUrl} failed and is not safe to retry: ${describeError(cause)}`);
  }
}

/**
 * The only way a process finds another: membership (register, heartbeat, unregister),
 * discovery (a random live instance from a cached list), and calls that fail over to another
 * instance when it is safe to repeat the request.
 */
export class RegistryClient {
  readonly pools: PoolSet;
  private readonly discovery: Discovery;
  private readonly memberships = new Set<Membership>();
  private readonly logger: Logger;
  private readonly random: () => number;
  private readonly timers: Timers;
  readonly registryUrls: string[];

  constructor(private readonly options: RegistryClientOptions) {
    this.registryUrls = parseRegistryUrls(options.registryUrl); // fails fast on a malformed URL
    this.logger = options.logger ?? silentLogger;
    this.random = options.random ?? Math.random;
    this.timers = options.timers ?? systemTimers;
    this.pools = new PoolSet(options.connectionsPerInstance ?? 64, {
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(options.maxAnswerBytes === undefined ? {} : { maxAnswerBytes: options.maxAnswerBytes }),
    });
    this.discovery = new Discovery({
      registryUrls: this.registryUrls,
      pools: this.pools,
      logger: this.logger,
      refreshIntervalMs: options.refreshIntervalMs ?? 1_000,
      watchWaitMs: options.watchWaitMs ?? 30_000,
      quarantineMs: options.quarantineMs ?? 5_000,
      random: this.random,
      timers: this.timers,
    });
  }

  /** Registers this process as an instance of `type` at `url` with every registry, and keeps it listed. */
  join(type: string, url: string): Membership {
    if (!this.options.registryToken) throw new Error('joining the registry needs registryToken');
    const membership = new Membership({
      registryUrl: this.options.registryUrl,
      registryUrls: this.registryUrls,
      timers: this.timers,
      registryToken: this.options.registryToken,
      type,
      url,
      pools: this.pools,
      logger: this.logger,
      random: this.random,
    });
    this.memberships.add(membership);
    return membership;
  }

  instances(type: string): Promise<ServiceInstance[]> {
    return this.discovery.instances(type);
  }

  pick(type: string, exclude?: ReadonlySet<string>): Promise<ServiceInstance | undefined> {
    return this.discovery.pick(type, exclude);
  }

  isStale(type: string): boolean {
    return this.discovery.isStale(type);
  }

  /**
   * Sends a request to a live instance of `type`. When the connection fails (refused, reset,
   * timeout), or its answer breaks the rules (past its deadline, over its size cap, or failing
   * the request's `check`), the instance is avoided locally and, if the request is safe to
   * repeat (GET/HEAD, or it carries an Idempotency-Key) or provably never arrived (the
   * connection was refused), another instance is tried. Any other HTTP answer, 4xx or 5xx, is
   * returned as it is, except a 503 from an instance that says it is draining (its handler
   * never ran), which is tried elsewhere.
   */
  async call<T = unknown>(type: string, request: CallRequest): Promise<CallResponse<T>> {
    const repeatable =
      request.method === 'GET' || request.method === 'HEAD' || request.idempotencyKey !== undefined;
    const maxAttempts = request.maxAttempts ?? 4;
    const deadline = this.timers.now() + (request.deadlineMs ?? 15_000);
    const headers = { ...request.headers };
    if (request.idempotencyKey !== undefined) headers[IDEMPOTENCY_KEY_HEADER] = request.idempotencyKey;
    if (request.requestId !== undefined) headers['x-request-id'] = request.requestId;

    const tried = new Set<string>();
    let lastError: unknown;
    let attempts = 0;
    for (let round = 0; attempts < maxAttempts && this.timers.now() < deadline; round++) {
      let instance = await this.discovery.pick(type, tried);
      if (!instance && tried.size > 0) {
        // Every known instance failed: the list may be out of date; ask again and retry them.
        await sleep(backoffDelay(round, 50, 1_000, this.random), undefined, this.timers);
        await this.discovery.refresh(type);
        tried.clear();
        instance = await this.discovery.pick(type);
      }
      if (!instance) break;
      attempts += 1;
      tried.add(instance.url);
      try {
        // No attempt outlives the call's deadline.
        const timeoutMs = Math.max(1, Math.min(request.timeoutMs ?? this.pools.timeoutMs, deadline - this.timers.now()));
        const response = await this.pools.request<T>(originOf(instance.url), { ...request, headers, timeoutMs });
        if (response.statusCode === 503 && isDrainingAnswer(response)) {
          lastError = new Error(`${instance.url} is shutting down`);
          this.discovery.quarantine(instance.url);
          continue;
        }
        return { ...response, instanceUrl: instance.url, attempts };
      } catch (error) {
        if (!isConnectionError(error)) throw error;
        lastError = error;
        this.discovery.quarantine(instance.url);
        this.pools.discard(originOf(instance.url));
        this.logger.warn(
          { err: error, instance: instance.url, type, requestId: request.requestId },
          'instance failed; trying another',
        );
        if (!repeatable && !neverArrived(error)) throw new UncertainOutcomeError(instance.url, error);
      }
    }
    throw new NoInstanceError(type, lastError);
  }

  /** Leaves the registry (every membership) and closes every connection. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.memberships].map((membership) => membership.leave()));
    this.memberships.clear();
    this.discovery.close();
    await this.pools.close();
  }
}

/**
 * A service draining for shutdown answers 503 with this header before any handler runs
 * (libs/service-kit), so another instance may be asked whatever the method. A 503 the
 * application chose to send (say, "no DCU instance can be reached") is returned as it is.
 */
function isDrainingAnswer(response: HttpResponse): boolean {
  return response.headers[DRAINING_HEADER] !== undefined;
}

/** Errors that prove the request never reached the peer: the connection was never made. */
const NOT_CONNECTED_CODES = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);

function neverArrived(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; current && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && NOT_CONNECTED_CODES.has(code)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: string }).code;
    return code ? `${code} ${error.message}` : error.message;
  }
  return String(error);
}
