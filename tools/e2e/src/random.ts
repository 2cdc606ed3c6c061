import { freshSeed } from '@grantline/process-kit';

/** The seed from `variable` when set (to replay a run), else a fresh one. */
export function seedFrom(env: Record<string, string | undefined>, variable: string): number {
  const given = env[variable];
  if (given !== undefined && given !== '') {
    const seed = Number(given);
    if (!Number.isSafeInteger(seed) || seed < 0)
      throw new Error(`${variable} must be a whole number, got "${given}"`);
    return seed >>> 0;
  }
  return freshSeed();
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
