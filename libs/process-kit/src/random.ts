import { randomInt } from 'node:crypto';

/**
 * mulberry32: a tiny, fast, seeded 32-bit generator of floats in [0, 1). The same seed gives
 * the same sequence (a replayable simulation, chaos schedule or load); not for secrets.
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A fresh 32-bit seed, for a run that was not given one (print it, so the run can be replayed). */
export function freshSeed(): number {
  return randomInt(0, 2 ** 32 - 1);
}
