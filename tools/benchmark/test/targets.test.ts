import type { ScenarioId } from '../src/options';
import type { ScenarioResult } from '../src/results';
import { evaluateTargets, formatRatio, ratio, TARGETS, type TargetSpec } from '../src/targets';

function result(id: ScenarioId, rate: number, extra: Partial<ScenarioResult> = {}): ScenarioResult {
  return {
    id,
    title: id,
    command: `npm run bench -- --only ${id}`,
    status: 'ok',
    rate,
    failures: '',
    notes: [],
    ...extra,
  };
}

const readTarget: TargetSpec = {
  kind: 'ratio',
  scenario: 'dcu-read',
  baseline: 'fastify-hello',
  minimum: 0.5,
  description: 'DCU read ≥ 0.5 × bare Fastify hello',
};

describe('ratio targets', () => {
  it('passes when the scenario reaches the share of its baseline', () => {
    const [outcome] = evaluateTargets(
      [result('fastify-hello', 60_000), result('dcu-read', 30_000)],
      [readTarget],
    );
    expect(outcome).toMatchObject({ pass: true, measured: 0.5, verdict: 'pass: 0.50× ≥ 0.50×' });
  });

  it('fails and says by how much when it does not', () => {
    const [outcome] = evaluateTargets(
      [result('fastify-hello', 60_000), result('dcu-read', 24_000)],
      [readTarget],
    );
    expect(outcome?.pass).toBe(false);
    expect(outcome?.verdict).toBe('FAIL: 0.40× < 0.50× (missed by 20.0%)');
  });

  it('says when the host took a noticeable share of the CPU from the run or its baseline, and judges as measured', () => {
    const [busy] = evaluateTargets(
      [
        result('fastify-hello', 60_000, { stolenCpu: 0.01 }),
        result('dcu-read', 24_000, { stolenCpu: 0.28 }),
      ],
      [readTarget],
    );
    expect(busy?.pass).toBe(false);
    expect(busy?.verdict).toBe(
      'FAIL: 0.40× < 0.50× (missed by 20.0%) (CPU steal: 28.0% this run, 1.0% baseline fastify-hello; ' +
        "the host was busy, so this is not a quiet machine's figure)",
    );
    const [quiet] = evaluateTargets(
      [
        result('fastify-hello', 60_000, { stolenCpu: 0.01 }),
        result('dcu-read', 30_000, { stolenCpu: 0.02 }),
      ],
      [readTarget],
    );
    expect(quiet?.verdict).toBe('pass: 0.50× ≥ 0.50×');
  });

  it("gives the ceiling scenario's ratio beside the verdict when it ran cleanly, and nothing otherwise", () => {
    const withdrawTarget = TARGETS.find((target) => target.scenario === 'dcu-withdraw-100')!;
    const disk = result('disk-durable-write', 3_000);
    const withdrawals = result('dcu-withdraw-100', 7_500);
    const [withCeiling] = evaluateTargets(
      [disk, withdrawals, result('dcu-withdraw-100-from-memory', 10_500)],
      [withdrawTarget],
    );
    expect(withCeiling?.pass).toBe(false);
    expect(withCeiling?.verdict).toBe(
      'FAIL: 2.50× < 4.00× (missed by 37.5%) (ceiling: dcu-withdraw-100-from-memory reached 3.50× in this run)',
    );
    const [withoutCeiling] = evaluateTargets([disk, withdrawals], [withdrawTarget]);
    expect(withoutCeiling?.verdict).toBe('FAIL: 2.50× < 4.00× (missed by 37.5%)');
    const [brokenCeiling] = evaluateTargets(
      [disk, withdrawals, result('dcu-withdraw-100-from-memory', 10_500, { failures: '3 errors' })],
      [withdrawTarget],
    );
    expect(brokenCeiling?.verdict).toBe('FAIL: 2.50× < 4.00× (missed by 37.5%)');
  });

  it('never passes a run that had errors, however fast it was', () => {
    const [outcome] = evaluateTargets(
      [
        result('fastify-hello', 60_000),
        result('dcu-read', 90_000, { failures: '12 non-2xx (12×409)' }),
      ],
      [readTarget],
    );
    expect(outcome?.pass).toBe(false);
    expect(outcome?.verdict).toContain('12×409');
    expect(outcome?.verdict).toContain('its ratio, errors aside: 1.50×');
  });

  it('does not judge against a baseline that had errors or did not run', () => {
    const broken = evaluateTargets(
      [
        result('fastify-hello', 60_000, { failures: '3 connection errors (0 timeouts)' }),
        result('dcu-read', 30_000),
      ],
      [readTarget],
    );
    expect(broken[0]?.pass).toBeUndefined();
    const absent = evaluateTargets([result('dcu-read', 30_000)], [readTarget]);
    expect(absent[0]?.verdict).toBe('not judged: fastify-hello did not run');
  });

  it('reports a skipped scenario as failing its target, with the reason', () => {
    const [outcome] = evaluateTargets(
      [
        result('fastify-hello', 60_000),
        {
          ...result('dcu-read', 0),
          status: 'skipped',
          reason: 'apps/dcu/dist/main.js not built yet',
        },
      ],
      [readTarget],
    );
    expect(outcome?.pass).toBe(false);
    expect(outcome?.verdict).toContain('not built yet');
  });

  it('leaves out targets of scenarios that were not selected', () => {
    expect(evaluateTargets([result('fastify-hello', 60_000)], [readTarget])).toEqual([]);
  });
});

describe('over-time targets', () => {
  const degradationTarget: TargetSpec = {
    kind: 'degradation',
    scenario: 'long-read',
    minimum: 0.95,
    description: 'holds up',
  };
  const rssTarget: TargetSpec = {
    kind: 'rss-growth',
    scenario: 'long-read',
    maximum: 0.1,
    description: 'memory',
  };
  const long = result('long-read', 1000, {
    degradation: { windowSeconds: 10, firstWindowRps: 1000, lastWindowRps: 940, ratio: 0.94 },
    rssGrowth: {
      afterWarmupBytes: 100,
      endBytes: 105,
      growth: 0.05,
      warmupSeconds: 10,
      windowSeconds: 5,
    },
  });

  it('fails a run whose last ten seconds are slower than 0.95 of its first', () => {
    const [outcome] = evaluateTargets([long], [degradationTarget]);
    expect(outcome).toMatchObject({ pass: false, verdict: 'FAIL: 0.94× < 0.95× (missed by 1.1%)' });
  });

  it('shows a third decimal when two would hide the difference', () => {
    const close = { ...long, degradation: { ...long.degradation!, ratio: 0.9462 } };
    expect(evaluateTargets([close], [degradationTarget])[0]?.verdict).toBe(
      'FAIL: 0.946× < 0.950× (missed by 0.4%)',
    );
  });

  it('passes memory growth under 10%', () => {
    const [outcome] = evaluateTargets([long], [rssTarget]);
    expect(outcome).toMatchObject({ pass: true, verdict: 'pass: 5.0% < 10.0%' });
  });

  it('fails memory growth of 10% or more, saying by how many points', () => {
    const grown = { ...long, rssGrowth: { ...long.rssGrowth!, growth: 0.25 } };
    expect(evaluateTargets([grown], [rssTarget])[0]?.verdict).toBe(
      'FAIL: 25.0% ≥ 10.0% (over by 15.0% points)',
    );
  });

  it('does not judge a run too short to have two windows', () => {
    const short = result('long-read', 1000);
    expect(evaluateTargets([short], [degradationTarget])[0]?.pass).toBeUndefined();
  });
});

describe('ratio and formatRatio', () => {
  it('has no ratio without a positive baseline', () => {
    expect(ratio(10, 0)).toBeUndefined();
    expect(ratio(10, undefined)).toBeUndefined();
    expect(ratio(10, 4)).toBe(2.5);
  });

  it('shows two decimals below 10 and one above', () => {
    expect(formatRatio(0.456)).toBe('0.46×');
    expect(formatRatio(12.34)).toBe('12.3×');
  });
});
