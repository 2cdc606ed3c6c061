import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import {
  NumberList,
  type Gauges,
  PerSecondRecorder,
  summarizeLatencies,
  type LatencySummary,
  type SecondSample,
} from './stats';

export interface LoadSpec {
  /** Base URL of the service, e.g. http://127.0.0.1:41234. */
  url: string;
  connections: number;
  durationSeconds: number;
  method?: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** Changes each request before it is sent (a new Idempotency-Key, another account). */
  setupRequest?: (request: autocannon.RequestData) => autocannon.RequestData;
  /** A 2xx whose body fails this is counted as a mismatch (an error). */
  verifyBody?: (body: string) => boolean;
  /** Record req/s, p99 and the RSS of `watchRss` second by second. */
  perSecond?: boolean;
  /** Called once a second (per-second runs only): memory and CPU readings for that second. */
  onSecond?: () => Gauges;
}

export interface LoadOutcome {
  durationSeconds: number;
  /** 2xx responses. */
  succeeded: number;
  /** Answered, but not 2xx. */
  non2xx: number;
  /** Connection errors and timeouts (no answer). */
  errors: number;
  timeouts: number;
  /** 2xx whose body was not what the scenario expects. */
  mismatches: number;
  statusCounts: Record<string, number>;
  /** 2xx per second over the whole run. */
  requestsPerSecond: number;
  /** Latencies of 2xx responses, to the microsecond (autocannon's own are whole ms). */
  latency: LatencySummary;
  bytesPerSecond: number;
  /** CPU used by this process (the load generator), as a share of one core. */
  loadGeneratorCpu: number;
  perSecond?: SecondSample[];
}

/** Runs autocannon in this process and measures latencies itself, per request. */
export async function runLoad(spec: LoadSpec): Promise<LoadOutcome> {
  const latencies = new NumberList();
  const perSecond = spec.perSecond ? new PerSecondRecorder() : undefined;
  const request: autocannon.Request = {
    method: spec.method ?? 'GET',
    path: spec.path,
    headers: spec.headers ?? {},
    ...(spec.body === undefined ? {} : { body: spec.body }),
    ...(spec.setupRequest ? { setupRequest: spec.setupRequest } : {}),
  };
  const instance = autocannon({
    url: spec.url,
    connections: spec.connections,
    duration: spec.durationSeconds,
    requests: [request],
    ...(spec.verifyBody ? { verifyBody: spec.verifyBody } : {}),
  });
  let startedAt = performance.now();
  const cpuBefore = process.cpuUsage();
  instance.on('start', () => {
    startedAt = performance.now();
  });
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    const ok = statusCode >= 200 && statusCode < 300;
    if (ok) latencies.push(responseTime);
    perSecond?.record(performance.now() - startedAt, responseTime, ok);
  });
  const ticker =
    spec.onSecond && perSecond
      ? setInterval(() => {
          const gauges = spec.onSecond?.();
          if (gauges) perSecond.recordGauges(performance.now() - startedAt, gauges);
        }, 1000)
      : undefined;
  let result: autocannon.Result;
  try {
    result = await instance;
  } finally {
    if (ticker) clearInterval(ticker);
  }
  const elapsedSeconds = (performance.now() - startedAt) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const statusCounts: Record<string, number> = {};
  for (const [code, { count }] of Object.entries(result.statusCodeStats))
    statusCounts[code] = count;
  const succeeded = latencies.length;
  return {
    durationSeconds: elapsedSeconds,
    succeeded,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    mismatches: result.mismatches,
    statusCounts,
    requestsPerSecond: succeeded / elapsedSeconds,
    latency: summarizeLatencies(latencies.toArray()),
    bytesPerSecond: result.throughput.average,
    loadGeneratorCpu: (cpu.user + cpu.system) / 1e6 / elapsedSeconds,
    ...(perSecond ? { perSecond: perSecond.samples(Math.floor(elapsedSeconds)) } : {}),
  };
}

/** Everything that went wrong in a run, in one line; empty when nothing did. */
export function describeFailures(
  outcome: Pick<LoadOutcome, 'non2xx' | 'errors' | 'timeouts' | 'mismatches' | 'statusCounts'>,
): string {
  const parts: string[] = [];
  if (outcome.non2xx > 0) {
    const codes = Object.entries(outcome.statusCounts)
      .filter(([code]) => !code.startsWith('2'))
      .map(([code, count]) => `${count}×${code}`)
      .join(', ');
    parts.push(`${outcome.non2xx} non-2xx (${codes})`);
  }
  if (outcome.errors > 0)
    parts.push(`${outcome.errors} connection errors (${outcome.timeouts} timeouts)`);
  if (outcome.mismatches > 0) parts.push(`${outcome.mismatches} unexpected bodies`);
  return parts.join('; ');
}
