import { randomUUID } from 'node:crypto';
import type { ServiceInstance } from '@grantline/contracts';

export interface InstanceEntry {
  id: string;
  type: string;
  url: string;
  registeredAtMs: number;
  lastHeartbeatAtMs: number;
}

/** The instances of one type, and the index of the last change to that set. */
interface TypeSet {
  index: number;
  entries: Map<string, InstanceEntry>;
  /** `entries` as an array, rebuilt only after the set changed (random picks need indexing). */
  array: InstanceEntry[] | undefined;
}

/** Called with the types whose set changed, and the table's new index. */
export type ChangeListener = (types: ReadonlySet<string>, index: number) => void;

/**
 * The registry's table, in memory. Pure bookkeeping with an injected clock: an instance is
 * listed while its last heartbeat is younger than `ttlMs`, and `sweep` forgets the rest.
 *
 * Every change to the set of instances (a registration, an unregistration, an expiry) takes a
 * new table index, recorded on the type it touched; heartbeats change no index. Indexes start
 * at the clock's value so that, after a restart, they do not repeat the old process's.
 *
 * `byId` is kept in order of last heartbeat (a heartbeat moves its entry to the end), so the
 * next instance to expire is always the first one: sweeping costs only what it removes.
 */
export class InstanceTable {
  private readonly byId = new Map<string, InstanceEntry>();
  private readonly idByTypeAndUrl = new Map<string, string>();
  private readonly types = new Map<string, TypeSet>();
  private readonly listeners = new Set<ChangeListener>();
  private readonly expiryListeners = new Set<(entries: InstanceEntry[]) => void>();
  private readonly firstIndex: number;
  private currentIndex: number;

  constructor(
    readonly ttlMs: number,
    /** The table's clock, in ms since the epoch (injected in tests). */
    readonly now: () => number = Date.now,
  ) {
    this.firstIndex = Math.max(1, Math.floor(now()));
    this.currentIndex = this.firstIndex;
  }

  /** The index of the last change to any type. */
  get index(): number {
    return this.currentIndex;
  }

  /** The index of the last change to one type (the table's first index for a type never seen). */
  indexOf(type: string): number {
    return this.types.get(type)?.index ?? this.firstIndex;
  }

  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called with the instances a sweep forgot. */
  onExpire(listener: (entries: InstanceEntry[]) => void): () => void {
    this.expiryListeners.add(listener);
    return () => this.expiryListeners.delete(listener);
  }

  /** Registers an instance; the same type and URL again replaces the old entry. */
  register(type: string, url: string): InstanceEntry {
    this.sweep();
    const key = `${type} ${url}`;
    const previousId = this.idByTypeAndUrl.get(key);
    const previous = previousId === undefined ? undefined : this.byId.get(previousId);
    if (previous) this.detach(previous);
    const at = this.now();
    const entry: InstanceEntry = { id: randomUUID(), type, url, registeredAtMs: at, lastHeartbeatAtMs: at };
    this.byId.set(entry.id, entry);
    this.idByTypeAndUrl.set(key, entry.id);
    let set = this.types.get(type);
    if (!set) {
      set = { index: 0, entries: new Map(), array: undefined };
      this.types.set(type, set);
    }
    set.entries.set(entry.id, entry);
    this.changed(new Set([type]));
    return entry;
  }

  /** Records a heartbeat; false when the id is unknown (expired, or never registered). */
  heartbeat(id: string): boolean {
    const entry = this.byId.get(id);
    if (!entry || !this.isLive(entry)) return false;
    entry.lastHeartbeatAtMs = this.now();
    // Move it to the end: `byId` stays in order of last heartbeat.
    this.byId.delete(id);
    this.byId.set(id, entry);
    return true;
  }

  /** The type of an instance the table holds (to check a caller may act for it), or undefined. */
  typeOf(id: string): string | undefined {
    return this.byId.get(id)?.type;
  }

  unregister(id: string): boolean {
    this.sweep();
    const entry = this.byId.get(id);
    if (!entry) return false;
    this.detach(entry);
    this.changed(new Set([entry.type]));
    return true;
  }

  /** Live instances of a type, in order of registration. */
  live(type: string): InstanceEntry[] {
    this.sweep();
    const set = this.types.get(type);
    if (!set) return [];
    set.array ??= [...set.entries.values()];
    return set.array;
  }

  /**
   * Up to `limit` live instances of a type, chosen at random without repeats (all of them,
   * shuffled, when there are no more than `limit`).
   */
  pick(type: string, limit: number, random: () => number = Math.random): InstanceEntry[] {
    const all = this.live(type);
    if (limit * 4 < all.length) {
      // Few among many: draw indexes, no copy of the whole list.
      const chosen = new Set<number>();
      while (chosen.size < limit) chosen.add(Math.floor(random() * all.length));
      return [...chosen].map((index) => all[index] as InstanceEntry);
    }
    const copy = all.slice();
    const count = Math.min(limit, copy.length);
    for (let i = 0; i < count; i++) {
      const j = i + Math.floor(random() * (copy.length - i));
      const swap = copy[i] as InstanceEntry;
      copy[i] = copy[j] as InstanceEntry;
      copy[j] = swap;
    }
    copy.length = count;
    return copy;
  }

  liveByType(): Map<string, InstanceEntry[]> {
    this.sweep();
    const result = new Map<string, InstanceEntry[]>();
    for (const [type, set] of [...this.types].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (set.entries.size > 0) result.set(type, this.live(type));
    }
    return result;
  }

  /** Forgets every instance whose heartbeats stopped; returns what was forgotten. */
  sweep(): InstanceEntry[] {
    const expired: InstanceEntry[] = [];
    for (const entry of this.byId.values()) {
      if (this.isLive(entry)) break;
      expired.push(entry);
    }
    if (expired.length === 0) return expired;
    const types = new Set<string>();
    for (const entry of expired) {
      this.detach(entry);
      types.add(entry.type);
    }
    this.changed(types);
    for (const listener of this.expiryListeners) listener(expired);
    return expired;
  }

  /** When the next instance expires if it stays silent (ms since the epoch), if any is listed. */
  nextExpiryAt(): number | undefined {
    for (const entry of this.byId.values()) return entry.lastHeartbeatAtMs + this.ttlMs;
    return undefined;
  }

  get size(): number {
    return this.byId.size;
  }

  private isLive(entry: InstanceEntry): boolean {
    return this.now() - entry.lastHeartbeatAtMs < this.ttlMs;
  }

  private detach(entry: InstanceEntry): void {
    this.byId.delete(entry.id);
    const key = `${entry.type} ${entry.url}`;
    if (this.idByTypeAndUrl.get(key) === entry.id) this.idByTypeAndUrl.delete(key);
    const set = this.types.get(entry.type);
    if (set) {
      set.entries.delete(entry.id);
      set.array = undefined;
    }
  }

  private changed(types: ReadonlySet<string>): void {
    this.currentIndex += 1;
    for (const type of types) {
      const set = this.types.get(type);
      if (!set) continue;
      set.index = this.currentIndex;
      set.array = undefined;
    }
    for (const listener of this.listeners) listener(types, this.currentIndex);
  }
}

export function toServiceInstance(entry: InstanceEntry): ServiceInstance {
  return {
    id: entry.id,
    url: entry.url,
    registeredAt: new Date(entry.registeredAtMs).toISOString(),
    lastHeartbeatAt: new Date(entry.lastHeartbeatAtMs).toISOString(),
  };
}
