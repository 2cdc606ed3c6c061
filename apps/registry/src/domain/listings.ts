import { toServiceInstance, type InstanceEntry, type InstanceTable } from './instance-table';

export interface Listing {
  index: number;
  etag: string;
  /** JSON, ready to send. */
  body: Buffer | string;
}

interface Cached extends Listing {
  builtAtMs: number;
}

/**
 * The answers to `GET /services/:type` and `GET /services`, serialized once per change of the
 * set (and again at most every `maxAgeMs`, so `lastHeartbeatAt` stays roughly current): a
 * thousand lookups, or five thousand watchers woken by one change, share one JSON body.
 */
export class Listings {
  private readonly byType = new Map<string, Cached>();
  private all: Cached | undefined;
  /** Each instance's JSON, kept until its next heartbeat: a random draw only joins strings. */
  private readonly fragments = new WeakMap<InstanceEntry, { at: number; json: string }>();

  constructor(
    private readonly table: InstanceTable,
    private readonly maxAgeMs: number,
  ) {}

  ofType(type: string): Listing {
    const instances = this.table.live(type); // sweeps first, so the index is current
    const index = this.table.indexOf(type);
    const cached = this.byType.get(type);
    if (cached && this.usable(cached, index)) return cached;
    const listing = this.build(index, JSON.stringify({ type, instances: instances.map(toServiceInstance) }));
    this.byType.set(type, listing);
    return listing;
  }

  everything(): Listing {
    const byType = this.table.liveByType(); // sweeps first, so the index is current
    const current = this.table.index;
    if (this.all && this.usable(this.all, current)) return this.all;
    const services: Record<string, ReturnType<typeof toServiceInstance>[]> = {};
    for (const [type, entries] of byType) services[type] = entries.map(toServiceInstance);
    this.all = this.build(current, JSON.stringify({ services }));
    return this.all;
  }

  /** `limit` random live instances: each answer is a fresh draw. */
  sample(type: string, limit: number, random?: () => number): Listing {
    const picked: InstanceEntry[] = this.table.pick(type, limit, random);
    const index = this.table.indexOf(type);
    const instances = picked.map((entry) => this.fragment(entry)).join(',');
    return { index, etag: etagOf(index), body: `{"type":${JSON.stringify(type)},"instances":[${instances}]}` };
  }

  private fragment(entry: InstanceEntry): string {
    const cached = this.fragments.get(entry);
    if (cached && cached.at === entry.lastHeartbeatAtMs) return cached.json;
    const json = JSON.stringify(toServiceInstance(entry));
    this.fragments.set(entry, { at: entry.lastHeartbeatAtMs, json });
    return json;
  }

  private usable(cached: Cached, index: number): boolean {
    return cached.index === index && this.table.now() - cached.builtAtMs < this.maxAgeMs;
  }

  private build(index: number, json: string): Cached {
    return { index, etag: etagOf(index), body: Buffer.from(json), builtAtMs: this.table.now() };
  }
}

/** Weak: the same index may come with newer heartbeat times (see API.md). */
export function etagOf(index: number): string {
  return `W/"${index}"`;
}

/** True when an If-None-Match header names `etag` (or is `*`); weak comparison, as for GET. */
export function matchesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  const wanted = etag.replace(/^W\//, '');
  return ifNoneMatch.split(',').some((candidate) => {
    const tag = candidate.trim();
    return tag === '*' || tag.replace(/^W\//, '') === wanted;
  });
}
