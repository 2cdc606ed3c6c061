import { backoffDelay, jitter, sleep } from '../src/backoff';
import { isConnectionError } from '../src/http';

describe('jitter', () => {
  it('spreads a delay by at most the given fraction either way', () => {
    expect(jitter(1000, 0.2, () => 0)).toBe(800);
    expect(jitter(1000, 0.2, () => 0.5)).toBe(1000);
    expect(jitter(1000, 0.2, () => 0.999999)).toBe(1200);
  });

  it('never goes below zero', () => {
    expect(jitter(100, 2, () => 0)).toBe(0);
  });
});

describe('backoffDelay', () => {
  it('doubles its ceiling per attempt, with full jitter in the upper half', () => {
    for (const [attempt, ceiling] of [
      [0, 100],
      [1, 200],
      [2, 400],
      [3, 800],
    ] as const) {
      expect(backoffDelay(attempt, 100, 10_000, () => 0)).toBe(ceiling / 2);
      expect(backoffDelay(attempt, 100, 10_000, () => 1)).toBe(ceiling);
    }
  });

  it('stays under its cap however many attempts failed', () => {
    for (const attempt of [5, 20, 1_000]) {
      expect(backoffDelay(attempt, 100, 1_000, () => 1)).toBe(1_000);
      expect(backoffDelay(attempt, 100, 1_000, () => 0)).toBe(500);
    }
  });

  it('spreads clients apart: different random draws give different delays', () => {
    const delays = new Set(Array.from({ length: 50 }, (_, i) => backoffDelay(4, 100, 10_000, () => i / 50)));
    expect(delays.size).toBeGreaterThan(40);
  });
});

describe('sleep', () => {
  it('ends early when its signal aborts', async () => {
    const controller = new AbortController();
    const slept = sleep(60_000, controller.signal);
    controller.abort();
    await expect(slept).resolves.toBeUndefined();
  });

  it('returns at once for a signal already aborted', async () => {
    await expect(sleep(60_000, AbortSignal.abort())).resolves.toBeUndefined();
  });
});

describe('isConnectionError', () => {
  it('recognises refused, reset and timed-out connections, also as a cause', () => {
    expect(isConnectionError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isConnectionError(Object.assign(new Error('t'), { code: 'UND_ERR_HEADERS_TIMEOUT' }))).toBe(true);
    const wrapped = new Error('fetch failed', { cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }) });
    expect(isConnectionError(wrapped)).toBe(true);
  });

  it('does not take other failures for connection failures', () => {
    expect(isConnectionError(new SyntaxError('Unexpected token'))).toBe(false);
    expect(isConnectionError(Object.assign(new Error('x'), { code: 'UND_ERR_INVALID_ARG' }))).toBe(false);
    expect(isConnectionError(undefined)).toBe(false);
    expect(isConnectionError('ECONNREFUSED')).toBe(false);
  });
});
