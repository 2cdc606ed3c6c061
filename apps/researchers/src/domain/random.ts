import { mulberry32 } from '@grantline/process-kit';

/**
 * Seeded randomness for the simulation. Every actor draws from its own stream, derived from
 * the run's seed and the actor's label, so the order in which concurrent actors happen to run
 * never changes what any of them draws: the same seed gives the same proposals and choices.
 */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
}

/** A seeded stream (mulberry32, from the process kit): plenty for a simulation, not for secrets. */
export function seededRandom(seed: number): Random {
  return { next: mulberry32(seed) };
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
  return seededRandom(streamSeed(seed, label));
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
