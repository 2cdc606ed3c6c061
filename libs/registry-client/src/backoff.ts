/** Spreads retries out so that many clients never hammer a recovering server in step. */
export function jitter(ms: number, spread = 0.2, random: () => number = Math.random): number {
  return Math.max(0, Math.round(ms * (1 - spread + 2 * spread * random())));
}

/** Exponential backoff with "full jitter" between `baseMs` and a cap. */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  capMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 20));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

/**
 * The client's clock and timers, injected so its tests can move time by hand instead of
 * waiting. `background` timers must not keep a process alive on their own.
 */
export interface Timers {
  now(): number;
  setTimeout(callback: () => void, ms: number, options?: { background?: boolean }): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemTimers: Timers = {
  now: () => Date.now(),
  setTimeout(callback, ms, options) {
    const timer = setTimeout(callback, ms);
    if (options?.background) timer.unref();
    return timer;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout | undefined),
};

export function sleep(
  ms: number,
  signal?: AbortSignal,
  timers: Timers = systemTimers,
  options?: { background?: boolean },
): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = timers.setTimeout(done, ms, options);
    function done() {
      timers.clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** `REGISTRY_URL` may list several registries, comma-separated (API.md, Registry). */
export function parseRegistryUrls(value: string | readonly string[]): string[] {
  const parts = (typeof value === 'string' ? value.split(',') : [...value]).map((part) => part.trim()).filter(Boolean);
  if (parts.length === 0) throw new Error('no registry URL given');
  const origins = parts.map((part) => {
    const url = new URL(part); // throws on a malformed URL: fail fast
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`not an http(s) registry URL: ${part}`);
    return url.origin;
  });
  return [...new Set(origins)];
}
