import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import type { ScenarioResult } from './results';

/** One row per second of a long run, in the units the charts show. */
export interface TimelinePoint {
  second: number;
  requestsPerSecond: number;
  p99Ms: number | null;
  rssMiB: number | null;
  serviceCores: number | null;
  otherCores: number | null;
}

export function timelinePoints(result: ScenarioResult): TimelinePoint[] {
  return (result.perSecond ?? []).map((sample) => ({
    second: sample.second,
    requestsPerSecond: sample.requests,
    p99Ms: Number.isFinite(sample.p99Ms) ? sample.p99Ms : null,
    rssMiB: sample.rssBytes === undefined ? null : sample.rssBytes / 2 ** 20,
    serviceCores: sample.serviceCores ?? null,
    otherCores: sample.otherCores ?? null,
  }));
}

/** req/s, p99 and the service's RSS, second by second, stacked on one time axis. */
export function timelineSpec(result: ScenarioResult, subtitle: string): TopLevelSpec {
  const panel = (field: keyof TimelinePoint, title: string, color: string) => ({
    width: 640,
    height: 160,
    mark: { type: 'line' as const, point: false, color, interpolate: 'linear' as const },
    encoding: {
      x: { field: 'second', type: 'quantitative' as const, title: 'second of the run' },
      y: { field, type: 'quantitative' as const, title, scale: { zero: field !== 'p99Ms' } },
    },
  });
  const first = result.degradation?.firstWindowRps;
  // The line the last 10 s must stay above (0.95 × the first 10 s), when the run was long enough.
  const requestsPanel =
    first === undefined
      ? panel('requestsPerSecond', 'req/s (2xx)', '#1f77b4')
      : {
          layer: [
            panel('requestsPerSecond', 'req/s (2xx)', '#1f77b4'),
            {
              data: { values: [{ y: 0.95 * first, label: '0.95 × first 10 s' }] },
              layer: [
                {
                  mark: { type: 'rule' as const, strokeDash: [4, 4], color: '#555' },
                  encoding: { y: { field: 'y', type: 'quantitative' as const } },
                },
                {
                  mark: {
                    type: 'text' as const,
                    align: 'left' as const,
                    dx: 4,
                    dy: -6,
                    color: '#555',
                  },
                  encoding: {
                    y: { field: 'y', type: 'quantitative' as const },
                    x: { value: 0 },
                    text: { field: 'label' },
                  },
                },
              ],
            },
          ],
        };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: `${result.id}: ${result.title}`, subtitle },
    data: { values: timelinePoints(result) },
    vconcat: [
      requestsPanel,
      panel('p99Ms', 'p99 latency (ms)', '#d62728'),
      panel('rssMiB', 'service RSS (MiB)', '#2ca02c'),
      {
        // Who had the CPU: a dip in req/s while other processes take the cores is noise, not the service.
        width: 640,
        height: 120,
        transform: [
          { fold: ['serviceCores', 'otherCores'], as: ['who', 'cores'] },
          {
            calculate: "datum.who === 'serviceCores' ? 'service under test' : 'other processes'",
            as: 'who',
          },
        ],
        mark: { type: 'line' as const, interpolate: 'linear' as const },
        encoding: {
          x: { field: 'second', type: 'quantitative' as const, title: 'second of the run' },
          y: { field: 'cores', type: 'quantitative' as const, title: 'CPU (cores)' },
          color: {
            field: 'who',
            type: 'nominal' as const,
            scale: {
              domain: ['service under test', 'other processes'],
              range: ['#9467bd', '#7f7f7f'],
            },
            title: null,
            legend: { orient: 'top' as const },
          },
        },
      },
    ],
  } as TopLevelSpec;
}

/** Successful req/s of every scenario that ran, with the disk's durable writes/s for scale. */
export function overviewSpec(results: ScenarioResult[], subtitle: string): TopLevelSpec {
  const values = results
    .filter((result) => result.status === 'ok' && result.rate !== undefined && !result.perSecond)
    .map((result) => ({
      scenario: result.id,
      rate: Math.round(result.rate as number),
      clean: result.failures ? 'had errors' : 'no errors',
    }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: 'Successful requests per second (disk: durable writes per second)', subtitle },
    data: { values },
    width: 560,
    height: { step: 22 },
    mark: 'bar',
    encoding: {
      y: { field: 'scenario', type: 'nominal', sort: null, title: null },
      x: { field: 'rate', type: 'quantitative', title: 'per second' },
      color: {
        field: 'clean',
        type: 'nominal',
        scale: { domain: ['no errors', 'had errors'], range: ['#1f77b4', '#d62728'] },
        title: null,
      },
      tooltip: [{ field: 'scenario' }, { field: 'rate' }],
    },
  } as TopLevelSpec;
}

/** Vega-Lite -> Vega -> SVG, headless. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
