import type { ScenarioId } from './options';
import type { ScenarioResult, TargetOutcome } from './results';

/** The targets of issue 6, as ratios measured in one run. */
export type TargetSpec =
  | {
      kind: 'ratio';
      scenario: ScenarioId;
      baseline: ScenarioId;
      minimum: number;
      description: string;
      /**
       * The same traffic through the same HTTP path with storage costing nothing: when it ran,
       * the verdict also gives its ratio, the most the scenario could have reached on that machine.
       */
      ceiling?: ScenarioId;
    }
  | { kind: 'degradation'; scenario: ScenarioId; minimum: number; description: string }
  | { kind: 'rss-growth'; scenario: ScenarioId; maximum: number; description: string }
  | {
      /** A figure of the run itself (or one relative to its baseline) that must stay at or below a ceiling. */
      kind: 'at-most';
      scenario: ScenarioId;
      maximum: number;
      description: string;
      measure: (
        result: ScenarioResult,
        byId: Map<ScenarioId, ScenarioResult>,
      ) => number | undefined;
      format: (value: number) => string;
    };

export const TARGETS: TargetSpec[] = [
  {
    kind: 'ratio',
    scenario: 'dcu-read',
    baseline: 'fastify-hello',
    minimum: 0.7,
    description: 'DCU read ≥ 0.7 × bare Fastify hello',
  },
  {
    kind: 'ratio',
    scenario: 'dcu-withdraw-hot',
    baseline: 'disk-durable-write',
    minimum: 4,
    description: 'Hot-account withdrawals ≥ 4 × raw sequential durable writes',
    ceiling: 'dcu-withdraw-100-from-memory',
  },
  {
    kind: 'ratio',
    scenario: 'dcu-withdraw-100',
    baseline: 'disk-durable-write',
    minimum: 4,
    description: '100-account withdrawals ≥ 4 × raw sequential durable writes',
    ceiling: 'dcu-withdraw-100-from-memory',
  },
  {
    kind: 'ratio',
    scenario: 'dcu-read-history',
    baseline: 'dcu-read',
    minimum: 0.8,
    description: 'DCU read of a 20,000-record account ≥ 0.8 × a fresh account',
  },
  {
    kind: 'ratio',
    scenario: 'dcu-withdraw-history',
    baseline: 'dcu-withdraw-hot',
    minimum: 0.8,
    description: 'Withdrawals from a 20,000-record account ≥ 0.8 × a fresh account',
  },
  {
    kind: 'ratio',
    scenario: 'pg-dcu-withdraw-100',
    baseline: 'pgbench-withdraw-100',
    minimum: 0.5,
    description: 'DCU on PostgreSQL, 100-account withdrawals ≥ 0.5 × pgbench running the same SQL',
  },
  {
    kind: 'ratio',
    scenario: 'registry-lookup',
    baseline: 'fastify-hello',
    minimum: 0.6,
    description: 'Registry lookup, 1,000 instances of the type ≥ 0.6 × bare Fastify hello',
  },
  {
    kind: 'ratio',
    scenario: 'registry-lookup-spread',
    baseline: 'fastify-hello',
    minimum: 0.6,
    description: 'Registry lookup, 1,000 instances over 100 types ≥ 0.6 × bare Fastify hello',
  },
  {
    kind: 'ratio',
    scenario: 'registry-lookup-limit1',
    baseline: 'fastify-hello',
    minimum: 0.6,
    description:
      'Registry lookup of 1 random instance (?limit=1) among 1,000 ≥ 0.6 × bare Fastify hello',
  },
  {
    kind: 'at-most',
    scenario: 'registry-heartbeats-10k',
    maximum: 50,
    description: 'Heartbeats of 10,000 instances, one a second each: p99 ≤ 50 ms',
    measure: (result) => result.latency?.p99Ms,
    format: (ms) => `${ms.toFixed(1)} ms`,
  },
  {
    kind: 'at-most',
    scenario: 'registry-heartbeats-10k',
    maximum: 300 * 1024 * 1024,
    description: 'Heartbeats of 10,000 instances: registry peak RSS < 300 MB',
    measure: (result) => result.peakRssBytes,
    format: (bytes) => `${(bytes / 1024 / 1024).toFixed(0)} MB`,
  },
  {
    kind: 'at-most',
    scenario: 'registry-watch-5k',
    maximum: 2,
    description:
      '5,000 watchers all answered within 2 × a bare node:http server answering 5,000 held requests',
    measure: (result, byId) => {
      const baseline = byId.get('node-http-wait-5k')?.latency?.maxMs;
      const measured = result.latency?.maxMs;
      return baseline && measured !== undefined ? measured / baseline : undefined;
    },
    format: (value) => formatRatio(value),
  },
  ...(['long-read', 'long-withdraw'] as const).flatMap((scenario): TargetSpec[] => [
    {
      kind: 'degradation',
      scenario,
      minimum: 0.95,
      description: `${scenario}: last 10 s req/s ≥ 0.95 × first 10 s`,
    },
    {
      kind: 'rss-growth',
      scenario,
      maximum: 0.1,
      description: `${scenario}: RSS growth after warm-up < 10%`,
    },
  ]),
];

/** Judges every target whose scenario ran; a scenario with errors never passes. */
export function evaluateTargets(
  results: ScenarioResult[],
  targets: TargetSpec[] = TARGETS,
): TargetOutcome[] {
  const byId = new Map(results.map((result) => [result.id, result]));
  const outcomes: TargetOutcome[] = [];
  for (const target of targets) {
    const result = byId.get(target.scenario);
    if (!result) continue;
    outcomes.push(evaluateTarget(target, result, byId));
  }
  return outcomes;
}

function evaluateTarget(
  target: TargetSpec,
  result: ScenarioResult,
  byId: Map<ScenarioId, ScenarioResult>,
): TargetOutcome {
  const base = {
    scenario: target.scenario,
    description: target.description,
    threshold:
      target.kind === 'rss-growth' || target.kind === 'at-most' ? target.maximum : target.minimum,
    comparison:
      target.kind === 'rss-growth' || target.kind === 'at-most'
        ? ('below' as const)
        : ('at-least' as const),
  };
  const unusable = unusableReason(result);
  if (unusable) {
    // Still show the ratio an errored run reached: it tells how far off it was besides the errors.
    const baselineRate = target.kind === 'ratio' ? byId.get(target.baseline)?.rate : undefined;
    const wouldBe = result.status === 'ok' ? ratio(result.rate, baselineRate) : undefined;
    const aside =
      wouldBe === undefined ? '' : ` (its ratio, errors aside: ${formatRatio(wouldBe)})`;
    return { ...base, pass: false, verdict: `FAIL: ${unusable}${aside}` };
  }

  let measured: number | undefined;
  if (target.kind === 'ratio') {
    const baseline = byId.get(target.baseline);
    if (!baseline)
      return { ...base, pass: undefined, verdict: `not judged: ${target.baseline} did not run` };
    const baselineProblem = unusableReason(baseline);
    if (baselineProblem)
      return {
        ...base,
        pass: undefined,
        verdict: `not judged: baseline ${target.baseline}: ${baselineProblem}`,
      };
    measured = ratio(result.rate, baseline.rate);
  } else if (target.kind === 'at-most') {
    measured = target.measure(result, byId);
    if (measured === undefined)
      return { ...base, pass: undefined, verdict: 'not judged: nothing to compare' };
  } else if (target.kind === 'degradation') {
    measured = result.degradation?.ratio;
    if (measured === undefined)
      return { ...base, pass: undefined, verdict: 'not judged: the run was shorter than 20 s' };
  } else {
    measured = result.rssGrowth?.growth;
    if (measured === undefined)
      return {
        ...base,
        pass: undefined,
        verdict: 'not judged: not enough RSS samples after warm-up',
      };
  }
  if (measured === undefined || !Number.isFinite(measured)) {
    return { ...base, pass: undefined, verdict: 'not judged: nothing to compare' };
  }
  const judged = judge(measured, target);
  const notes = [
    target.kind === 'ratio' ? ceilingNote(target.ceiling, target.baseline, byId) : undefined,
    busyHostNote(result, target.kind === 'ratio' ? byId.get(target.baseline) : undefined),
  ].filter((note): note is string => note !== undefined);
  return {
    ...base,
    measured,
    ...judged,
    verdict: [judged.verdict, ...notes].join(' '),
  };
}

/**
 * "(ceiling: dcu-withdraw-100-from-memory reached 3.36× in this run)": how far the same HTTP path
 * went with storage costing nothing, against the same baseline; nothing when it did not run.
 */
export function ceilingNote(
  ceiling: ScenarioId | undefined,
  baseline: ScenarioId,
  byId: Map<ScenarioId, ScenarioResult>,
): string | undefined {
  const result = ceiling === undefined ? undefined : byId.get(ceiling);
  if (!result || unusableReason(result)) return undefined;
  const reached = ratio(result.rate, byId.get(baseline)?.rate);
  if (reached === undefined || !Number.isFinite(reached)) return undefined;
  return `(ceiling: ${result.id} reached ${formatRatio(reached)} in this run)`;
}

/** Above this share of CPU steal, a run was not measured on a quiet machine. */
export const NOTICEABLE_STEAL = 0.05;

/**
 * "(CPU steal 28.0% during the run ...)" when the host took a noticeable share of the cores
 * from the run or from its baseline: the verdict stands as measured, but says it was not a
 * quiet machine (and a ratio moves whichever way the host happened to weigh on each side).
 */
export function busyHostNote(
  result: ScenarioResult,
  baseline?: ScenarioResult,
): string | undefined {
  const sides = [
    { label: 'this run', stolen: result.stolenCpu },
    { label: `baseline ${baseline?.id ?? ''}`, stolen: baseline?.stolenCpu },
  ].filter((side): side is { label: string; stolen: number } => side.stolen !== undefined);
  if (!sides.some((side) => side.stolen >= NOTICEABLE_STEAL)) return undefined;
  const shares = sides.map((side) => `${formatPercent(side.stolen)} ${side.label}`).join(', ');
  return `(CPU steal: ${shares}; the host was busy, so this is not a quiet machine's figure)`;
}

/** A run whose figure means nothing: it did not run, or part of its traffic failed. */
export function unusableReason(result: ScenarioResult): string | undefined {
  if (result.status === 'skipped') return `skipped (${result.reason ?? 'no reason given'})`;
  if (result.status === 'failed') return `did not complete (${result.reason ?? 'no reason given'})`;
  if (result.failures) return `the run had errors: ${result.failures}`;
  return undefined;
}

function judge(measured: number, target: TargetSpec): { pass: boolean; verdict: string } {
  if (target.kind === 'at-most') {
    const pass = measured <= target.maximum;
    const shown = `${target.format(measured)} ${pass ? '≤' : '>'} ${target.format(target.maximum)}`;
    return { pass, verdict: pass ? `pass: ${shown}` : `FAIL: ${shown}` };
  }
  if (target.kind === 'rss-growth') {
    const pass = measured < target.maximum;
    const shown = `${formatPercent(measured)} ${pass ? '<' : '≥'} ${formatPercent(target.maximum)}`;
    return {
      pass,
      verdict: pass
        ? `pass: ${shown}`
        : `FAIL: ${shown} (over by ${formatPercent(measured - target.maximum)} points)`,
    };
  }
  const pass = measured >= target.minimum;
  // Just under the line, two decimals would show "0.95× < 0.95×": give the third.
  const digits = !pass && formatRatio(measured) === formatRatio(target.minimum) ? 3 : 2;
  const shown = `${formatRatio(measured, digits)} ${pass ? '≥' : '<'} ${formatRatio(target.minimum, digits)}`;
  if (pass) return { pass, verdict: `pass: ${shown}` };
  const missedBy = 1 - measured / target.minimum;
  return { pass, verdict: `FAIL: ${shown} (missed by ${formatPercent(missedBy)})` };
}

export function ratio(value: number | undefined, baseline: number | undefined): number | undefined {
  if (value === undefined || baseline === undefined || baseline <= 0) return undefined;
  return value / baseline;
}

export function formatRatio(value: number, digits = 2): string {
  if (value >= 10) return `${value.toFixed(1)}×`;
  return `${value.toFixed(digits)}×`;
}

export function formatPercent(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}
