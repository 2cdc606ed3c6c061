import { randomUUID } from 'node:crypto';
import type { ServiceInstance } from '@grantline/contracts';

export interface InstanceEntry {
  id: string;
  type: string;
  url: string;
  registeredAtMs: number;
  lastHeartbeatAtMs: number;
}

/**
 * The registry's table, in memory. Pure bookkeeping with an injected clock: an instance is
 * listed while its last heartbeat is younger than `ttlMs`, and `sweep` forgets the rest.
 */
export class InstanceTable {
  private readonly byId = new Map<string, InstanceEntry>();
  private readonly idByTypeAndUrl = new Map<string, string>();

  constructor(
    readonly ttlMs: number,
    /** The table's clock, in ms since the epoch (injected in tests). */
    readonly now: () => number = Date.now,
  ) {}

  /** Registers an instance; the same type and URL again replaces the old entry. */
  register(type: string, url: string): InstanceEntry {
    const key = `${type} ${url}`;
    const previousId = this.idByTypeAndUrl.get(key);
    if (previousId) this.byId.delete(previousId);
    const at = this.now();
    const entry: InstanceEntry = { id: randomUUID(), type, url, registeredAtMs: at, lastHeartbeatAtMs: at };
    this.byId.set(entry.id, entry);
    this.idByTypeAndUrl.set(key, entry.id);
    return entry;
  }

  /** Records a heartbeat; false when the id is unknown (expired, or never registered). */
  heartbeat(id: string): boolean {
    const entry = this.byId.get(id);
    if (!entry || !this.isLive(entry)) return false;
    entry.lastHeartbeatAtMs = this.now();
    return true;
  }

  unregister(id: string): boolean {
    const entry = this.byId.get(id);
    if (!entry) return false;
    this.remove(entry);
    return true;
  }

  live(type: string): InstanceEntry[] {
    const result: InstanceEntry[] = [];
    for (const entry of this.byId.values()) if (entry.type === type && this.isLive(entry)) result.push(entry);
    return result;
  }

  liveByType(): Map<string, InstanceEntry[]> {
    const result = new Map<string, InstanceEntry[]>();
    for (const entry of this.byId.values()) {
      if (!this.isLive(entry)) continue;
      const list = result.get(entry.type);
      if (list) list.push(entry);
      else result.set(entry.type, [entry]);
    }
    return result;
  }

  /** Forgets every instance whose heartbeats stopped; returns what was forgotten. */
  sweep(): InstanceEntry[] {
    const expired = [...this.byId.values()].filter((entry) => !this.isLive(entry));
    for (const entry of expired) this.remove(entry);
    return expired;
  }

  get size(): number {
    return this.byId.size;
  }

  private isLive(entry: InstanceEntry): boolean {
    return this.now() - entry.lastHeartbeatAtMs < this.ttlMs;
  }

  private remove(entry: InstanceEntry): void {
    this.byId.delete(entry.id);
    const key = `${entry.type} ${entry.url}`;
    if (this.idByTypeAndUrl.get(key) === entry.id) this.idByTypeAndUrl.delete(key);
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
