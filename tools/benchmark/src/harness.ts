import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { measureDurableWrites } from './disk';
import { describeFailures, runLoad, type LoadOutcome, type LoadSpec } from './load';
import type { BenchOptions, ScenarioId } from './options';
import { BASELINE_OF } from './options';
import type { SystemSecrets } from '@grantline/contracts';
import { ServiceProcess } from '@grantline/process-kit';
import { cpuSecondsOf, gaugeSampler, rssBytesOf, startStealMeter } from './processes';
import type { ScenarioResult } from './results';

export const APP_SCRIPTS = {
  registry: 'apps/registry/dist/main.js',
  dcu: 'apps/dcu/dist/main.js',
  agency: 'apps/agency/dist/main.js',
} as const;
export type AppName = keyof typeof APP_SCRIPTS;

/** The command that reproduces one scenario's figure (its baseline comes along). */
export function reproduceCommand(
  id: ScenarioId,
  options: Pick<
    BenchOptions,
    'durationSeconds' | 'connections' | 'longDurationSeconds' | 'warmupSeconds'
  >,
): string {
  const parts = ['npm run bench --', `--only ${id}`];
  if (id === 'disk-durable-write') {
    parts.push(`-d ${options.durationSeconds}`);
  } else if (id.startsWith('long-')) {
    parts.push(`--long-duration ${options.longDurationSeconds}`, `-c ${options.connections}`);
    if (BASELINE_OF[id]) parts.push(`-d ${options.durationSeconds}`);
  } else {
    parts.push(`-d ${options.durationSeconds}`, `-c ${options.connections}`);
  }
  if (options.warmupSeconds !== 2) parts.push(`--warmup ${options.warmupSeconds}`);
  return parts.join(' ');
}

export interface MeasureInput {
  id: ScenarioId;
  title: string;
  load: Omit<LoadSpec, 'connections' | 'durationSeconds'>;
  /** The processes whose CPU and memory are reported; the first is "the service" for RSS per second. */
  watch: ServiceProcess[];
  durationSeconds?: number;
  notes?: string[];
  /**
   * Measure the disk again just before the run (2 s), so the ratio can also be read against
   * the disk as it was at that moment: other work on the machine changes it from minute to minute.
   */
  diskProbe?: boolean;
}

export interface Measured {
  result: ScenarioResult;
  warmup: LoadOutcome | undefined;
  outcome: LoadOutcome;
}

/**
 * Everything the scenarios share: the repository root, the run's folder and secrets, the
 * processes it started (all stopped at the end, whatever happens) and the measuring itself.
 */
export class Harness {
  private readonly processes = new Set<ServiceProcess>();
  private registry: { process: ServiceProcess; url: string } | undefined;
  private serial = 0;
  private readonly cleanups: (() => Promise<void>)[] = [];

  constructor(
    readonly root: string,
    readonly options: BenchOptions,
    readonly runDir: string,
    readonly secrets: SystemSecrets,
  ) {}

  scriptPath(app: AppName): string {
    return path.join(this.root, APP_SCRIPTS[app]);
  }

  /** Why an app cannot be started, or undefined when its build exists. */
  missingApp(...apps: AppName[]): string | undefined {
    const missing = apps.filter((app) => !existsSync(this.scriptPath(app)));
    if (missing.length === 0) return undefined;
    return `${missing.map((app) => APP_SCRIPTS[app]).join(', ')} not built yet (npm run build)`;
  }

  /** Environment of a service: the basics of ours, PORT=0 on loopback, the run's secrets. */
  serviceEnv(extra: Record<string, string>): Record<string, string> {
    const inherited: Record<string, string> = {};
    for (const name of ['PATH', 'HOME', 'LANG', 'TMPDIR', 'NODE_OPTIONS']) {
      const value = process.env[name];
      if (value !== undefined) inherited[name] = value;
    }
    return {
      ...inherited,
      NODE_ENV: 'production',
      PORT: '0',
      HOST: '127.0.0.1',
      ...this.secrets,
      ...extra,
    };
  }

  async start(
    label: string,
    script: string,
    env: Record<string, string>,
  ): Promise<{ process: ServiceProcess; url: string }> {
    const nodeArgs = this.options.cpuProfile
      ? [
          '--cpu-prof',
          '--cpu-prof-dir',
          path.join(this.options.outDir, 'profiles'),
          '--cpu-prof-name',
          `${label}-${Date.now()}.cpuprofile`,
        ]
      : [];
    const service = new ServiceProcess({ label, script, env, cwd: this.root, nodeArgs });
    this.processes.add(service);
    try {
      return { process: service, url: await service.waitForListening() };
    } catch (error) {
      await this.stop(service);
      throw error;
    }
  }

  async startApp(app: AppName, env: Record<string, string>, label: string = app) {
    return this.start(label, this.scriptPath(app), this.serviceEnv(env));
  }

  /** The registry the DCU and agencies join (default settings), started once per run. */
  async systemRegistry(): Promise<string> {
    if (!this.registry) this.registry = await this.startApp('registry', {}, 'registry');
    return this.registry.url;
  }

  /** A folder of its own for one service's accounts. */
  accountDir(label: string): string {
    return path.join(this.runDir, `${label}-${++this.serial}`);
  }

  async stop(service: ServiceProcess): Promise<void> {
    await service.stop();
    this.processes.delete(service);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.processes].map((service) => this.stop(service)));
    this.registry = undefined;
    for (const cleanup of this.cleanups.splice(0).reverse()) await cleanup();
  }

  /** Something a scenario started that outlives it (the run's PostgreSQL): stopped by stopAll. */
  atStop(cleanup: () => Promise<void>): void {
    this.cleanups.push(cleanup);
  }

  /** For process 'exit': synchronous, certain. */
  killAll(): void {
    for (const service of this.processes) service.signal('SIGKILL');
  }

  /** Warm-up (unmeasured), then the measured run, with CPU and memory of the watched processes. */
  async measure(input: MeasureInput): Promise<Measured> {
    const durationSeconds = input.durationSeconds ?? this.options.durationSeconds;
    const connections = this.options.connections;
    const loadBefore = os.loadavg()[0] ?? 0;
    const warmup =
      this.options.warmupSeconds > 0
        ? await runLoad({
            ...input.load,
            perSecond: false,
            connections,
            durationSeconds: this.options.warmupSeconds,
          })
        : undefined;
    const disk = input.diskProbe ? measureDurableWrites(this.runDir, 2) : undefined;
    const cpuBefore = input.watch.map((service) => cpuSecondsOf(service));
    const steal = startStealMeter();
    const main = input.watch[0];
    const outcome = await runLoad({
      ...input.load,
      connections,
      durationSeconds,
      ...(input.load.perSecond ? { onSecond: gaugeSampler(input.watch, main) } : {}),
    });
    const stolen = steal();
    const cpu: Record<string, number> = { 'load generator': outcome.loadGeneratorCpu };
    const rssBytes: Record<string, number> = {};
    input.watch.forEach((service, index) => {
      const before = cpuBefore[index];
      const after = cpuSecondsOf(service);
      if (before !== undefined && after !== undefined)
        cpu[service.options.label] = (after - before) / outcome.durationSeconds;
      const rss = rssBytesOf(service);
      if (rss !== undefined) rssBytes[service.options.label] = rss;
    });
    const notes = [...(input.notes ?? [])];
    const warmupFailures = warmup ? describeFailures(warmup) : '';
    if (warmupFailures) notes.push(`warm-up had errors too: ${warmupFailures}`);
    if (disk) {
      notes.push(
        `the disk just before this run: ${Math.round(disk.writesPerSecond)} durable writes/s ` +
          `(p50 ${disk.latency.p50Ms.toFixed(2)} ms), so this run did ` +
          `${(outcome.requestsPerSecond / disk.writesPerSecond).toFixed(2)}× the disk of that moment`,
      );
    }
    const result: ScenarioResult = {
      id: input.id,
      title: input.title,
      command: reproduceCommand(input.id, this.options),
      status: 'ok',
      rate: outcome.requestsPerSecond,
      latency: outcome.latency,
      failures: describeFailures(outcome),
      connections,
      durationSeconds: outcome.durationSeconds,
      succeeded: outcome.succeeded,
      statusCounts: outcome.statusCounts,
      bytesPerSecond: outcome.bytesPerSecond,
      cpu,
      rssBytes,
      ...stolen,
      loadAverage: { before: loadBefore, after: os.loadavg()[0] ?? 0 },
      notes,
      ...(outcome.perSecond ? { perSecond: outcome.perSecond } : {}),
    };
    const baseline = BASELINE_OF[input.id];
    if (baseline) result.baseline = baseline;
    return { result, warmup, outcome };
  }
}

/** JSON over HTTP for setting a scenario up (not measured). */
export async function requestJson<T>(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<{ status: number; body: T }> {
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers: {
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...init.headers,
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON: keep the text for the error message.
  }
  return { status: response.status, body: body as T };
}

/** Runs `task` over `items`, `concurrency` at a time. */
export async function forEachLimited<T>(
  items: T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await task(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}
