import {
  parseCpuSeconds,
  parseCpuTicks,
  parseMachineBusySeconds,
  parseVmRss,
  stolenShare,
} from '../src/processes';
import { keySource } from '../src/scenarios';
import { describeFailures } from '../src/load';

describe('reading /proc', () => {
  it('reads VmRSS in bytes', () => {
    expect(parseVmRss('Name:\tnode\nVmRSS:\t   51234 kB\nThreads:\t11\n')).toBe(51234 * 1024);
    expect(parseVmRss('Name:\tnode\n')).toBeUndefined();
  });

  it('reads user and system CPU time, also when the command name has spaces and parentheses', () => {
    const stat =
      '4242 (node (dcu) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 11 0 100 0 0';
    expect(parseCpuSeconds(stat)).toBe(3);
  });
});

describe('parseMachineBusySeconds', () => {
  it('counts every busy column of the cpu line but idle and iowait', () => {
    const stat = 'cpu  100 20 30 5000 400 5 6 7 0 0\ncpu0 50 10 15 2500 200 2 3 3 0 0\n';
    expect(parseMachineBusySeconds(stat)).toBeCloseTo(1.68);
  });

  it('is undefined without a cpu line', () => {
    expect(parseMachineBusySeconds('intr 1 2 3\n')).toBeUndefined();
  });
});

describe('CPU steal', () => {
  it('reads the total and the steal column of the cpu line', () => {
    const stat = 'cpu  100 20 30 5000 400 5 6 7 0 0\ncpu0 50 10 15 2500 200 2 3 3 0 0\n';
    expect(parseCpuTicks(stat)).toEqual({ total: 5568, steal: 7 });
    expect(parseCpuTicks('intr 1 2 3\n')).toBeUndefined();
    expect(parseCpuTicks('cpu  1 2 3\n')).toBeUndefined();
  });

  it('is the share of the CPU time between two readings that went to steal', () => {
    expect(stolenShare({ total: 1000, steal: 10 }, { total: 1400, steal: 110 })).toBeCloseTo(0.25);
    expect(stolenShare({ total: 1000, steal: 10 }, { total: 1000, steal: 10 })).toBeUndefined();
    expect(stolenShare(undefined, { total: 1400, steal: 110 })).toBeUndefined();
  });
});

describe('keySource', () => {
  it('never gives the same Idempotency-Key twice', () => {
    const next = keySource('hot');
    const keys = new Set(Array.from({ length: 1000 }, () => next()));
    expect(keys.size).toBe(1000);
    expect([...keys].every((key) => key.length <= 255)).toBe(true);
  });
});

describe('describeFailures', () => {
  it('lists the non-2xx statuses, errors and bad bodies', () => {
    expect(
      describeFailures({
        non2xx: 5,
        errors: 2,
        timeouts: 1,
        mismatches: 3,
        statusCounts: { '201': 100, '409': 4, '503': 1 },
      }),
    ).toBe('5 non-2xx (4×409, 1×503); 2 connection errors (1 timeouts); 3 unexpected bodies');
  });

  it('is empty for a clean run', () => {
    expect(
      describeFailures({
        non2xx: 0,
        errors: 0,
        timeouts: 0,
        mismatches: 0,
        statusCounts: { '200': 10 },
      }),
    ).toBe('');
  });
});
