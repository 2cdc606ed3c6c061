import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
  type CounterConfiguration,
  type GaugeConfiguration,
  type HistogramConfiguration,
  type Metric,
} from 'prom-client';

declare module 'fastify' {
  interface FastifyInstance {
    /** This service's Prometheus metrics; `GET /metrics` shows them (see `metricsRoute`). */
    metrics: ServiceMetrics;
  }
}

// The process's own metrics (CPU, memory, event loop, GC) exist once per process, however
// many apps a test builds in it; they are collected on the first scrape.
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/**
 * One service's metrics (prom-client, a registry per app). The getters create a metric the
 * first time and return the same one afterwards, so the code that counts something declares
 * it where it counts, and two places naming one metric share it.
 */
export class ServiceMetrics {
  readonly registry = new Registry();

  counter<T extends string>(config: CounterConfiguration<T>): Counter<T> {
    return (
      this.existing(config.name, Counter) ?? new Counter({ ...config, registers: [this.registry] })
    );
  }

  gauge<T extends string>(config: GaugeConfiguration<T>): Gauge<T> {
    return (
      this.existing(config.name, Gauge) ?? new Gauge({ ...config, registers: [this.registry] })
    );
  }

  histogram<T extends string>(config: HistogramConfiguration<T>): Histogram<T> {
    return (
      this.existing(config.name, Histogram) ??
      new Histogram({ ...config, registers: [this.registry] })
    );
  }

  /** The Prometheus text exposition of this service's and the process's metrics. */
  async text(): Promise<string> {
    return `${await this.registry.metrics()}\n${await processMetrics().metrics()}`;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private existing<M>(name: string, kind: abstract new (...args: never[]) => M): M | undefined {
    const found = this.registry.getSingleMetric(name);
    if (found === undefined) return undefined;
    if (!(found instanceof kind)) throw new Error(`metric ${name} already exists as another kind`);
    return found;
  }
}

/** Counts one answer (called by `createServer`'s onResponse hook, with the route's pattern). */
export type AnswerCounter = (request: FastifyRequest, reply: FastifyReply, route: string) => void;

/**
 * Decorates `app.metrics`; the counter it answers times every answer into
 * `http_request_duration_seconds` by method, route (the route's pattern, so ids do not make new
 * series) and status code. Called by `createServer`, which calls the counter from its one
 * onResponse hook (a hook per job cost every request a turn of Fastify's hook runner).
 */
export function installMetrics(app: FastifyInstance): AnswerCounter {
  const metrics = new ServiceMetrics();
  app.decorate('metrics', metrics);
  const durations = new RequestDurations(metrics.registry);
  const replays = metrics.counter({
    name: 'grantline_idempotent_replays_total',
    help: 'Answers repeated for a request whose Idempotency-Key was already applied (nothing applied again), by route.',
    labelNames: ['method', 'route'] as const,
  });
  return (request, reply, route) => {
    durations.count(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    // Only a change can be a replay (a GET or HEAD never carries an Idempotency-Key).
    if (request.method !== 'GET' && request.method !== 'HEAD' && reply.getHeader('idempotent-replayed') === 'true')
      replays.inc({ method: request.method, route });
  };
}

interface DurationSeries {
  labels: { method: string; route: string; status_code: number };
  /** Observations per bucket (not cumulative), in the order of BOUNDS. */
  buckets: number[];
  sum: number;
  count: number;
}

/**
 * `http_request_duration_seconds`, a histogram exported as prom-client exports one (the same
 * lines, labels in the same order), but counted through a map and a plain array: prom-client's
 * `observe` checks and hashes the labels and keys its buckets by number on every call, about
 * 2 µs of each request in a profile of the DCU's reads. A registry takes any metric with
 * `get()` (prom-client's `Metric` interface).
 */
export class RequestDurations {
  private static readonly BOUNDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
  readonly name = 'http_request_duration_seconds';
  readonly help = 'Time from receiving a request to the end of its answer, by method, route pattern and status code.';
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  /** Every series, in the order they first counted (the order of the export). */
  private series: DurationSeries[] = [];
  private byRoute = new Map<string, Map<string, Map<number, DurationSeries>>>();

  constructor(registry: Registry) {
    registry.registerMetric(this as unknown as Metric);
  }

  count(method: string, route: string, statusCode: number, seconds: number): void {
    // Found through maps keyed by what the request already has (no key string built and
    // hashed per request): route pattern and method are strings Fastify and Node keep, the
    // status a number.
    let byMethod = this.byRoute.get(route);
    if (byMethod === undefined) this.byRoute.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (byStatus === undefined) byMethod.set(method, (byStatus = new Map()));
    let series = byStatus.get(statusCode);
    if (series === undefined) {
      series = {
        labels: { method, route, status_code: statusCode },
        buckets: RequestDurations.BOUNDS.map(() => 0),
        sum: 0,
        count: 0,
      };
      byStatus.set(statusCode, series);
      this.series.push(series);
    }
    const bounds = RequestDurations.BOUNDS;
    let bucket = 0;
    while (bucket < bounds.length && seconds > bounds[bucket]!) bucket++;
    if (bucket < bounds.length) series.buckets[bucket]! += 1;
    series.sum += seconds;
    series.count += 1;
  }

  /** Per series: the cumulative buckets, +Inf, sum and count, as prom-client's Histogram. */
  async get() {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const { labels, buckets, sum, count } of this.series) {
      let cumulative = 0;
      RequestDurations.BOUNDS.forEach((bound, index) => {
        cumulative += buckets[index]!;
        values.push({ labels: { le: bound, ...labels }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push(
        { labels: { le: '+Inf', ...labels }, value: count, metricName: `${this.name}_bucket` },
        { labels: { ...labels }, value: sum, metricName: `${this.name}_sum` },
        { labels: { ...labels }, value: count, metricName: `${this.name}_count` },
      );
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.series = [];
    this.byRoute = new Map();
  }
}

/** `GET /metrics`: Prometheus text format. Register after `registerOpenApi`, like the other routes. */
export const metricsRoute: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/metrics',
    {
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics',
        description:
          'Request durations by method, route and status code, the process metrics, and the ' +
          "service's own counters and gauges, in the Prometheus text format.",
        response: {
          200: {
            description: 'The metrics in the Prometheus text exposition format',
            content: { 'text/plain': { schema: { type: 'string' as const } } },
          },
        },
      },
    },
    async (_request, reply) => {
      const text = await app.metrics.text();
      return reply.type(app.metrics.contentType).send(text);
    },
  );
};
