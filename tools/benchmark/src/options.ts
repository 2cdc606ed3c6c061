import path from 'node:path';
import { parseArgs } from 'node:util';

/** Every scenario, in the order a full run measures them. */
export const SCENARIO_IDS = [
  'disk-durable-write',
  'node-http-hello',
  'fastify-hello',
  'registry-lookup',
  'registry-lookup-spread',
  'registry-lookup-limit1',
  'node-http-heartbeats-10k',
  'registry-heartbeats-10k',
  'node-http-wait-5k',
  'registry-watch-5k',
  'dcu-read',
  'dcu-withdraw-hot',
  'dcu-withdraw-100',
  'dcu-withdraw-100-from-memory',
  'dcu-store-withdraw-hot',
  'dcu-store-withdraw-100',
  'dcu-read-history',
  'dcu-withdraw-history',
  'dcu-startup',
  'agency-proposals',
  'pgbench-withdraw-100',
  'pg-dcu-withdraw-100',
  'pg-agency-proposals',
  'long-read',
  'long-withdraw',
] as const;
export type ScenarioId = (typeof SCENARIO_IDS)[number];

/** What a scenario is compared with; `--only` brings these along so the ratio can be computed. */
export const BASELINE_OF: Partial<Record<ScenarioId, ScenarioId>> = {
  'fastify-hello': 'node-http-hello',
  'registry-lookup': 'fastify-hello',
  'registry-lookup-spread': 'fastify-hello',
  'registry-lookup-limit1': 'fastify-hello',
  'registry-heartbeats-10k': 'node-http-heartbeats-10k',
  'registry-watch-5k': 'node-http-wait-5k',
  'dcu-read': 'fastify-hello',
  'dcu-withdraw-hot': 'disk-durable-write',
  'dcu-withdraw-100': 'disk-durable-write',
  'dcu-withdraw-100-from-memory': 'disk-durable-write',
  'dcu-store-withdraw-100': 'dcu-store-withdraw-hot',
  'dcu-read-history': 'dcu-read',
  'dcu-withdraw-history': 'dcu-withdraw-hot',
  'agency-proposals': 'disk-durable-write',
  'pg-dcu-withdraw-100': 'pgbench-withdraw-100',
  'pg-agency-proposals': 'agency-proposals',
  'long-read': 'fastify-hello',
  'long-withdraw': 'disk-durable-write',
};

export interface BenchOptions {
  durationSeconds: number;
  longDurationSeconds: number;
  warmupSeconds: number;
  connections: number;
  scenarios: ScenarioId[];
  outDir: string;
  /** Where the throwaway account folders and the disk probe go (must be a real disk). */
  workDir: string | undefined;
  build: boolean;
  cpuProfile: boolean;
  help: boolean;
}

export const USAGE = `npm run bench -- [options]

  -d, --duration <s>        seconds per scenario (default 10)
  -c, --connections <n>     concurrent connections (default 50)
      --long-duration <s>   seconds of each long run (default 60)
      --warmup <s>          unmeasured load before each scenario (default 2)
      --only <ids>          comma-separated scenarios; their baselines come along
      --out <dir>           where results go (default tools/benchmark/results)
      --dir <dir>           parent of the throwaway account folders (default account_files/)
      --no-build            do not rebuild the apps first (dist/ must exist)
      --cpu-prof            start the services with --cpu-prof (profiles go to <out>/profiles)
  -h, --help

Scenarios: ${SCENARIO_IDS.join(', ')}`;

export class UsageError extends Error {
  override name = 'UsageError';
}

/** Parses the command line; `defaultOut` is tools/benchmark/results. */
export function parseOptions(argv: string[], defaultOut: string): BenchOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        duration: { type: 'string', short: 'd' },
        connections: { type: 'string', short: 'c' },
        'long-duration': { type: 'string' },
        warmup: { type: 'string' },
        only: { type: 'string' },
        out: { type: 'string' },
        dir: { type: 'string' },
        'no-build': { type: 'boolean' },
        'cpu-prof': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return {
    durationSeconds: positiveInteger('--duration', values.duration, 10),
    longDurationSeconds: positiveInteger('--long-duration', values['long-duration'], 60),
    warmupSeconds: nonNegativeInteger('--warmup', values.warmup, 2),
    connections: positiveInteger('--connections', values.connections, 50),
    scenarios: selectScenarios(values.only),
    outDir: path.resolve(values.out ?? defaultOut),
    workDir: values.dir === undefined ? undefined : path.resolve(values.dir),
    build: values['no-build'] !== true,
    cpuProfile: values['cpu-prof'] === true,
    help: values.help === true,
  };
}

/** `--only a,b`: those scenarios plus what they are compared with, in run order. */
export function selectScenarios(only: string | undefined): ScenarioId[] {
  if (only === undefined) return [...SCENARIO_IDS];
  const wanted = new Set<ScenarioId>();
  for (const raw of only
    .split(',')
    .map((id) => id.trim())
    .filter(Boolean)) {
    if (!isScenarioId(raw)) {
      throw new UsageError(`--only: unknown scenario "${raw}"; known: ${SCENARIO_IDS.join(', ')}`);
    }
    wanted.add(raw);
    const baseline = BASELINE_OF[raw];
    if (baseline) wanted.add(baseline);
  }
  if (wanted.size === 0) throw new UsageError('--only needs at least one scenario');
  return SCENARIO_IDS.filter((id) => wanted.has(id));
}

export function isScenarioId(value: string): value is ScenarioId {
  return (SCENARIO_IDS as readonly string[]).includes(value);
}

function positiveInteger(flag: string, raw: string | undefined, fallback: number): number {
  const value = nonNegativeInteger(flag, raw, fallback);
  if (value === 0) throw new UsageError(`${flag} must be at least 1`);
  return value;
}

function nonNegativeInteger(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new UsageError(`${flag} must be a whole number, got "${raw}"`);
  return Number(raw);
}
