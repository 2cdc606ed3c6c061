import type { ServiceInstance, ServiceListResponse } from '@grantline/contracts';
import { jitter } from './backoff';
import type { Logger, PoolSet } from './http';

export interface DiscoveryOptions {
  registryUrl: string;
  pools: PoolSet;
  logger: Logger;
  refreshIntervalMs: number;
  /** How long an instance that failed a call is avoided locally. */
  quarantineMs: number;
  random: () => number;
}

interface TypeCache {
  instances: ServiceInstance[];
  lastSuccessAt: number | undefined;
  lastAttemptFailed: boolean;
  /** When the registry began answering an empty list while we still knew instances. */
  emptySince: number | undefined;
  inflight: Promise<void> | undefined;
  timer: NodeJS.Timeout | undefined;
}

/**
 * A cached, background-refreshed view of the registry. While the registry is unreachable the
 * last known list keeps being served, and `isStale` says so.
 */
export class Discovery {
  private readonly caches = new Map<string, TypeCache>();
  private readonly quarantined = new Map<string, number>();
  private readonly registryOrigin: string;
  private closed = false;

  constructor(private readonly options: DiscoveryOptions) {
    this.registryOrigin = new URL(options.registryUrl).origin;
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
      Date.now() - cache.lastSuccessAt > 3 * this.options.refreshIntervalMs
    );
  }

  /** Avoid an instance that just failed; the registry will drop it if it is really gone. */
  quarantine(url: string): void {
    this.quarantined.set(url, Date.now() + this.options.quarantineMs);
  }

  /** Fetches the list of a type now (joining a fetch already under way). */
  refresh(type: string): Promise<void> {
    const cache = this.cacheFor(type);
    cache.inflight ??= this.fetch(type, cache).finally(() => {
      cache.inflight = undefined;
    });
    return cache.inflight;
  }

  close(): void {
    this.closed = true;
    for (const cache of this.caches.values()) clearTimeout(cache.timer);
    this.caches.clear();
  }

  private healthy(instances: ServiceInstance[]): ServiceInstance[] {
    const now = Date.now();
    const usable = instances.filter((instance) => (this.quarantined.get(instance.url) ?? 0) <= now);
    return usable;
  }

  private cacheFor(type: string): TypeCache {
    let cache = this.caches.get(type);
    if (!cache) {
      cache = {
        instances: [],
        lastSuccessAt: undefined,
        lastAttemptFailed: false,
        emptySince: undefined,
        inflight: undefined,
        timer: undefined,
      };
      this.caches.set(type, cache);
      this.scheduleRefresh(type, cache);
    }
    return cache;
  }

  private scheduleRefresh(type: string, cache: TypeCache): void {
    if (this.closed) return;
    cache.timer = setTimeout(() => {
      void this.refresh(type).finally(() => this.scheduleRefresh(type, cache));
    }, jitter(this.options.refreshIntervalMs, 0.2, this.options.random));
    cache.timer.unref();
  }

  /**
   * Takes a fresh list, except that a sudden empty list is not believed at once: a registry that
   * just restarted knows nobody until services register again (within a heartbeat or two).
   * Meanwhile the last list is served, marked stale; instances that are really gone fail their
   * calls and are quarantined.
   */
  private accept(cache: TypeCache, instances: ServiceInstance[]): void {
    const now = Date.now();
    if (instances.length === 0 && cache.instances.length > 0) {
      cache.emptySince ??= now;
      if (now - cache.emptySince < this.emptyListGraceMs) return;
    }
    cache.emptySince = undefined;
    cache.instances = instances;
  }

  private get emptyListGraceMs(): number {
    return Math.max(5_000, 3 * this.options.refreshIntervalMs);
  }

  private async fetch(type: string, cache: TypeCache): Promise<void> {
    try {
      const response = await this.options.pools.request<ServiceListResponse>(this.registryOrigin, {
        method: 'GET',
        path: `/services/${encodeURIComponent(type)}`,
        timeoutMs: 2_000,
      });
      if (response.statusCode !== 200) throw new Error(`registry answered ${response.statusCode}`);
      this.accept(cache, response.body.instances);
      cache.lastSuccessAt = Date.now();
      cache.lastAttemptFailed = false;
      const now = Date.now();
      for (const [url, until] of this.quarantined) if (until <= now) this.quarantined.delete(url);
    } catch (error) {
      if (!cache.lastAttemptFailed) {
        this.options.logger.warn({ err: error, type }, 'registry unreachable; serving the cached list');
      }
      cache.lastAttemptFailed = true;
    }
  }
}
