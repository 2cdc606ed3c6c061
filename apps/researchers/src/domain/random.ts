/**
 * Seeded randomness for the simulation. Every actor draws from its own stream, derived from
 * the run's seed and the actor's label, so the order in which concurrent actors happen to run
 * never changes what any of them draws: the same seed gives the same proposals and choices.
 */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
}

/** mulberry32: a tiny, fast 32-bit generator, plenty for a simulation (not for secrets). */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return {
    next() {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
    },
  };
}

/** FNV-1a over the label, mixed with the seed: distinct labels give unrelated streams. */
export function streamSeed(seed: number, label: string): number {
  let hash = 0x811c9dc5 ^ (seed >>> 0);
  for (let index = 0; index < label.length; index++) {
    hash ^= label.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  // One extra avalanche round so that seeds 1 and 2 do not start out alike.
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  return hash >>> 0;
}

export function streamFor(seed: number, label: string): Random {
  return mulberry32(streamSeed(seed, label));
}

/** An integer in [min, max], both inclusive. */
export function randomInt(random: Random, min: number, max: number): number {
  if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || max < min) {
    throw new RangeError(`randomInt needs integers min <= max, got ${min}..${max}`);
  }
  return min + Math.floor(random.next() * (max - min + 1));
}

export function pickOne<T>(random: Random, items: readonly T[]): T {
  if (items.length === 0) throw new RangeError('pickOne needs at least one item');
  return items[randomInt(random, 0, items.length - 1)] as T;
}

/** A fresh seed for a run that was not given one (printed, so the run can be replayed). */
export function freshSeed(): number {
  return Math.floor(Math.random() * 4_294_967_296) >>> 0;
}
