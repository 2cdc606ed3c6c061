/** Pure statistics over what a run recorded: no I/O, no clocks. */

export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Nearest-rank percentile of an ascending array; NaN when it is empty. */
export function percentile(sorted: ArrayLike<number>, fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil(fraction * sorted.length);
  const index = Math.min(sorted.length - 1, Math.max(0, rank - 1));
  return sorted[index] as number;
}

export function summarizeLatencies(values: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  let total = 0;
  for (const value of sorted) total += value;
  return {
    count: sorted.length,
    meanMs: sorted.length === 0 ? Number.NaN : total / sorted.length,
    p50Ms: percentile(sorted, 0.5),
    p90Ms: percentile(sorted, 0.9),
    p99Ms: percentile(sorted, 0.99),
    maxMs: sorted.length === 0 ? Number.NaN : (sorted[sorted.length - 1] as number),
  };
}

/** A growable list of numbers without the boxing of a plain array (millions of latencies). */
export class NumberList {
  private values = new Float64Array(1024);
  private size = 0;

  push(value: number): void {
    if (this.size === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.size++] = value;
  }

  get length(): number {
    return this.size;
  }

  toArray(): Float64Array {
    return this.values.subarray(0, this.size);
  }
}

export interface SecondSample {
  /** 1 for the first second of the run. */
  second: number;
  /** Successful (2xx) responses that arrived during this second. */
  requests: number;
  /** Responses that were not 2xx, during this second. */
  failed: number;
  p50Ms: number;
  p99Ms: number;
  /** Resident memory of the service under test at the end of this second, when sampled. */
  rssBytes?: number;
  /** CPU the service(s) under test used during this second, in cores. */
  serviceCores?: number;
  /** CPU every other process on the machine used during this second, in cores: interference. */
  otherCores?: number;
}

/** What is sampled once a second besides the responses. */
export type Gauges = Pick<SecondSample, 'rssBytes' | 'serviceCores' | 'otherCores'>;

/**
 * Buckets responses by the second (since the start of the run) in which they arrived, so
 * req/s and p99 can be drawn over time. Only whole seconds are reported.
 */
export class PerSecondRecorder {
  private readonly latencies: NumberList[] = [];
  private readonly failures: number[] = [];
  private readonly gauges = new Map<number, Gauges>();

  record(elapsedMs: number, latencyMs: number, ok: boolean): void {
    const index = Math.floor(elapsedMs / 1000);
    if (ok) {
      let list = this.latencies[index];
      if (!list) {
        list = new NumberList();
        this.latencies[index] = list;
      }
      list.push(latencyMs);
    } else {
      this.failures[index] = (this.failures[index] ?? 0) + 1;
    }
  }

  /** Readings taken at `elapsedMs`; they describe the second that just ended. */
  recordGauges(elapsedMs: number, gauges: Gauges): void {
    const second = Math.round(elapsedMs / 1000);
    if (second >= 1) this.gauges.set(second, gauges);
  }

  samples(wholeSeconds: number): SecondSample[] {
    const result: SecondSample[] = [];
    for (let index = 0; index < wholeSeconds; index++) {
      const summary = summarizeLatencies(this.latencies[index]?.toArray() ?? []);
      const sample: SecondSample = {
        second: index + 1,
        requests: summary.count,
        failed: this.failures[index] ?? 0,
        p50Ms: summary.p50Ms,
        p99Ms: summary.p99Ms,
      };
      const gauges = this.gauges.get(index + 1) ?? {};
      for (const [name, value] of Object.entries(gauges) as [keyof Gauges, number | undefined][]) {
        if (value !== undefined) sample[name] = value;
      }
      result.push(sample);
    }
    return result;
  }
}

export interface Degradation {
  windowSeconds: number;
  firstWindowRps: number;
  lastWindowRps: number;
  /** last / first: 1 means no change, below 1 means it got slower. */
  ratio: number;
  /** Cores other processes used, on average, in each window (when sampled): noise, not the service. */
  firstWindowOtherCores?: number;
  lastWindowOtherCores?: number;
}

/** Average req/s of the first and of the last `windowSeconds` of a per-second series. */
export function degradation(samples: SecondSample[], windowSeconds = 10): Degradation | undefined {
  if (samples.length < windowSeconds * 2) return undefined;
  const firstWindow = samples.slice(0, windowSeconds);
  const lastWindow = samples.slice(-windowSeconds);
  const first = mean(firstWindow.map((sample) => sample.requests));
  const last = mean(lastWindow.map((sample) => sample.requests));
  const result: Degradation = {
    windowSeconds,
    firstWindowRps: first,
    lastWindowRps: last,
    ratio: first > 0 ? last / first : Number.NaN,
  };
  const firstOther = meanOtherCores(firstWindow);
  const lastOther = meanOtherCores(lastWindow);
  if (firstOther !== undefined) result.firstWindowOtherCores = firstOther;
  if (lastOther !== undefined) result.lastWindowOtherCores = lastOther;
  return result;
}

function meanOtherCores(window: SecondSample[]): number | undefined {
  const values = window.flatMap((sample) =>
    sample.otherCores === undefined ? [] : [sample.otherCores],
  );
  return values.length > 0 ? mean(values) : undefined;
}

export interface RssGrowth {
  /** Median RSS over seconds (warmup-window, warmup]: the footprint once warm. */
  afterWarmupBytes: number;
  /** Median RSS over the last `windowSeconds`. */
  endBytes: number;
  /** end / afterWarmup - 1; 0.1 means it grew by 10%. */
  growth: number;
  warmupSeconds: number;
  windowSeconds: number;
}

/**
 * RSS growth after warm-up. Medians over five-second windows, so one garbage-collection peak
 * neither hides nor fakes growth.
 */
export function rssGrowth(
  samples: SecondSample[],
  warmupSeconds = 10,
  windowSeconds = 5,
): RssGrowth | undefined {
  const withRss = samples.filter((sample) => sample.rssBytes !== undefined);
  const warm = withRss.filter(
    (sample) => sample.second > warmupSeconds - windowSeconds && sample.second <= warmupSeconds,
  );
  const lastSecond = samples.length;
  const end = withRss.filter((sample) => sample.second > lastSecond - windowSeconds);
  if (warm.length === 0 || end.length === 0 || lastSecond - windowSeconds < warmupSeconds)
    return undefined;
  const afterWarmupBytes = median(warm.map((sample) => sample.rssBytes as number));
  const endBytes = median(end.map((sample) => sample.rssBytes as number));
  return {
    afterWarmupBytes,
    endBytes,
    growth: endBytes / afterWarmupBytes - 1,
    warmupSeconds,
    windowSeconds,
  };
}

export function mean(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

export function median(values: number[]): number {
  return percentile(Float64Array.from(values).sort(), 0.5);
}
