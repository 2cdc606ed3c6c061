import {
  answerChecker,
  REGISTRY_INDEX_HEADER,
  ServiceListResponse,
  type ServiceInstance,
} from '@grantline/contracts';
import { backoffDelay, jitter, sleep, type Timers } from './backoff';
import type { Logger, PoolSet } from './http';

export interface DiscoveryOptions {
  /** Origins of every registry; any one that answers will do. */
  registryUrls: string[];
  pools: PoolSet;
  logger: Logger;
  /** The pace of retries after a failed read (and of re-reads of a suspicious empty list). */
  refreshIntervalMs: number;
  /** How long one watch waits for a change before asking again. */
  watchWaitMs: number;
  /** How long an instance that failed a call is avoided locally. */
  quarantineMs: number;
  random: () => number;
  timers: Timers;
}

interface TypeCache {
  instances: ServiceInstance[];
  lastSuccessAt: number | undefined;
  lastAttemptFailed: boolean;
  /** When the registry began answering an empty list while we still knew instances. */
  emptySince: number | undefined;
  /** The index of the list we hold, and the registry it came from (indexes are per registry). */
  index: number | undefined;
  indexFrom: string | undefined;
  /** Which registry the watch asks now; moves on to the next one after a failure. */
  source: number;
  failures: number;
  inflight: Promise<void> | undefined;
}

/**
 * A cached view of the registries, kept current by watching: one long-poll per type
 * (`?index=I&wait=MS`) answers as soon as the list changes, so a change reaches this process
 * at once without polling. While no registry answers, the last known list keeps being
 * served, and `isStale` says so. Reconnects back off with jitter, so a registry restart is
 * not met by every client at the same instant.
 */
export class Discovery {
  private readonly caches = new Map<string, TypeCache>();
  private readonly quarantined = new Map<string, number>();
  private readonly closing = new AbortController();

  constructor(private readonly options: DiscoveryOptions) {
    if (options.registryUrls.length === 0) throw new Error('discovery needs at least one registry URL');
  }

  /** Live instances of a type, less those that failed locally a moment ago. */
  async instances(type: string): Promise<ServiceInstance[]> {
    const cache = this.cacheFor(type);
    if (cache.lastSuccessAt === undefined) await this.refresh(type);
    return this.healthy(cache.instances);
  }

  /**
   * A random live instance, or undefined when none is known. Instances that failed a moment ago
   * are avoided while others remain; when every one of them failed, they are tried anyway: a
   * quarantine is a preference, not a verdict (one timeout must not make a live service vanish).
   */
  async pick(type: string, exclude: ReadonlySet<string> = new Set()): Promise<ServiceInstance | undefined> {
    const cache = this.cacheFor(type);
    if (cache.lastSuccessAt === undefined) await this.refresh(type);
    const listed = cache.instances.filter((instance) => !exclude.has(instance.url));
    const healthy = this.healthy(listed);
    const candidates = healthy.length > 0 ? healthy : listed;
    if (candidates.length === 0) return undefined;
    return candidates[Math.floor(this.options.random() * candidates.length)];
  }

  /** True while the list of a type could not be refreshed recently. */
  isStale(type: string): boolean {
    const cache = this.caches.get(type);
    if (!cache || cache.lastSuccessAt === undefined) return true;
    return (
      cache.lastAttemptFailed ||
      cache.emptySince !== undefined ||
      this.options.timers.now() - cache.lastSuccessAt > this.options.watchWaitMs + 3 * this.options.refreshIntervalMs
    );
  }

  /** Avoid an instance that just failed; the registry will drop it if it is really gone. */
  quarantine(url: string): void {
    this.quarantined.set(url, this.options.timers.now() + this.options.quarantineMs);
  }

  /**
   * Reads the list of a type now, from the first registry that answers (joining a read
   * already under way). The watch keeps running beside it.
   */
  refresh(type: string): Promise<void> {
    const cache = this.cacheFor(type);
    cache.inflight ??= this.readFromAny(type, cache).finally(() => {
      cache.inflight = undefined;
    });
    return cache.inflight;
  }

  close(): void {
    this.closing.abort();
    this.caches.clear();
  }

  private healthy(instances: ServiceInstance[]): ServiceInstance[] {
    const now = this.options.timers.now();
    return instances.filter((instance) => (this.quarantined.get(instance.url) ?? 0) <= now);
  }

  private cacheFor(type: string): TypeCache {
    let cache = this.caches.get(type);
    if (!cache) {
      cache = {
        instances: [],
        lastSuccessAt: undefined,
        lastAttemptFailed: false,
        emptySince: undefined,
        index: undefined,
        indexFrom: undefined,
        source: Math.floor(this.options.random() * this.options.registryUrls.length),
        failures: 0,
        inflight: undefined,
      };
      this.caches.set(type, cache);
      void this.watch(type, cache);
    }
    return cache;
  }

  /** The watch loop of one type: runs until `close`. */
  private async watch(type: string, cache: TypeCache): Promise<void> {
    const { timers, refreshIntervalMs, random } = this.options;
    const signal = this.closing.signal;
    // Let a caller's first read (a refresh, set just after this starts) go first, then watch
    // from its index rather than reading the same list twice.
    await Promise.resolve();
    if (cache.inflight) await cache.inflight.catch(() => undefined);
    while (!signal.aborted) {
      const registry = this.options.registryUrls[cache.source] as string;
      const known = cache.indexFrom === registry ? cache.index : undefined;
      const startedAt = timers.now();
      const answered = await this.read(type, cache, registry, known);
      if (signal.aborted) return;
      if (answered === 'answered') {
        cache.failures = 0;
        // An answer without a wait (a first read, or a changed index) is followed by a watch at
        // once; a registry that keeps answering instantly with nothing new is asked less often.
        // A registry without an index to watch from is polled instead.
        const tooFast =
          cache.index === undefined ||
          (known !== undefined && cache.index === known && timers.now() - startedAt < 10);
        if (tooFast) await sleep(jitter(refreshIntervalMs, 0.2, random), signal, timers, { background: true });
        continue;
      }
      if (answered === 'doubtful') {
        // An empty list from a registry that may just have restarted: read again soon (another
        // registry, if there are several) rather than watch, so the grace period is kept.
        cache.index = undefined;
        this.nextSource(cache);
        await sleep(jitter(refreshIntervalMs, 0.2, random), signal, timers, { background: true });
        continue;
      }
      cache.failures += 1;
      this.nextSource(cache);
      // Full jitter: after a registry restart, its watchers come back spread out, not at once.
      const delay = backoffDelay(cache.failures, 50, Math.max(refreshIntervalMs, 100), random);
      await sleep(delay, signal, timers, { background: true });
    }
  }

  private nextSource(cache: TypeCache): void {
    cache.source = (cache.source + 1) % this.options.registryUrls.length;
  }

  private async readFromAny(type: string, cache: TypeCache): Promise<void> {
    const registries = this.options.registryUrls;
    for (let tried = 0; tried < registries.length; tried++) {
      const registry = registries[(cache.source + tried) % registries.length] as string;
      const answered = await this.read(type, cache, registry, undefined);
      if (answered === 'answered') return;
    }
  }

  /**
   * One read of a type's list from one registry: a watch when `index` is given, else a plain
   * read. 'doubtful' means the registry answered an empty list that was not believed yet.
   */
  private async read(
    type: string,
    cache: TypeCache,
    registry: string,
    index: number | undefined,
  ): Promise<'answered' | 'doubtful' | 'failed'> {
    const waitMs = index === undefined ? 0 : this.options.watchWaitMs;
    const query = index === undefined ? '' : `?index=${index}&wait=${waitMs}`;
    try {
      const response = await this.options.pools.request<ServiceListResponse>(registry, {
        method: 'GET',
        path: `/services/${encodeURIComponent(type)}${query}`,
        // The registry holds a watch for up to waitMs: only silence beyond that is a failure.
        timeoutMs: waitMs + 2_000,
        signal: this.closing.signal,
        // A list is believed only as the contract has it, and only for the type asked for.
        check: (answer) => (answer.statusCode === 200 ? listProblem(answer.body, type) : undefined),
      });
      if (response.statusCode !== 200) throw new Error(`registry answered ${response.statusCode}`);
      const believed = this.accept(cache, response.body.instances);
      const header = Number(response.headers[REGISTRY_INDEX_HEADER]);
      cache.index = Number.isSafeInteger(header) ? header : undefined;
      cache.indexFrom = registry;
      cache.lastSuccessAt = this.options.timers.now();
      cache.lastAttemptFailed = false;
      const now = this.options.timers.now();
      for (const [url, until] of this.quarantined) if (until <= now) this.quarantined.delete(url);
      return believed ? 'answered' : 'doubtful';
    } catch (error) {
      if (this.closing.signal.aborted) return 'failed';
      if (!cache.lastAttemptFailed) {
        this.options.logger.warn({ err: error, type, registry }, 'registry unreachable; serving the cached list');
      }
      cache.lastAttemptFailed = true;
      cache.index = undefined;
      return 'failed';
    }
  }

  /**
   * Takes a fresh list, except that a sudden empty list is not believed at once: a registry that
   * just restarted knows nobody until services register again (within a heartbeat or two).
   * Meanwhile the last list is served, marked stale; instances that are really gone fail their
   * calls and are quarantined. Returns whether the list was believed.
   */
  private accept(cache: TypeCache, instances: ServiceInstance[]): boolean {
    const now = this.options.timers.now();
    if (instances.length === 0 && cache.instances.length > 0) {
      cache.emptySince ??= now;
      if (now - cache.emptySince < this.emptyListGraceMs) return false;
    }
    cache.emptySince = undefined;
    cache.instances = instances;
    return true;
  }

  private get emptyListGraceMs(): number {
    return Math.max(5_000, 3 * this.options.refreshIntervalMs);
  }
}

const serviceList = answerChecker(ServiceListResponse);

/** Why a registry's list of `type` cannot be believed, or undefined. */
function listProblem(body: unknown, type: string): string | undefined {
  const problems = serviceList.problems(body);
  if (problems !== undefined) return `not a list of instances (${problems})`;
  return (body as ServiceListResponse).type === type ? undefined : `a list of another type than ${JSON.stringify(type)}`;
}
