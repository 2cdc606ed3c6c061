import type { Random } from '../src/domain/random';

/** A Random that returns the given values in turn (then repeats the last), for exact draws. */
export function scriptedRandom(...values: number[]): Random {
  let index = 0;
  return {
    next() {
      const value = values[Math.min(index, values.length - 1)];
      index += 1;
      if (value === undefined) throw new Error('scriptedRandom needs at least one value');
      return value;
    },
  };
}
