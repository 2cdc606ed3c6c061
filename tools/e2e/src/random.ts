import { randomInt } from 'node:crypto';

/** A seeded generator (mulberry32): the same seed gives the same chaos schedule and load. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The seed from `variable` when set (to replay a run), else a fresh one. */
export function seedFrom(env: Record<string, string | undefined>, variable: string): number {
  const given = env[variable];
  if (given !== undefined && given !== '') {
    const seed = Number(given);
    if (!Number.isSafeInteger(seed) || seed < 0)
      throw new Error(`${variable} must be a whole number, got "${given}"`);
    return seed >>> 0;
  }
  return randomInt(0, 2 ** 32 - 1);
}

/** An integer in [min, max]. */
export function between(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

export function pickFrom<T>(random: () => number, items: readonly T[]): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Error('pickFrom: no items');
  return item;
}
