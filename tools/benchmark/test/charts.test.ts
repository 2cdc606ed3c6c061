import { overviewSpec, renderSvg, timelinePoints, timelineSpec } from '../src/charts';
import type { ScenarioResult } from '../src/results';

const longRun: ScenarioResult = {
  id: 'long-read',
  title: 'long run of DCU reads',
  command: 'npm run bench -- --only long-read',
  status: 'ok',
  rate: 1000,
  failures: '',
  notes: [],
  perSecond: [
    {
      second: 1,
      requests: 1000,
      failed: 0,
      p50Ms: 1,
      p99Ms: 4,
      rssBytes: 50 * 2 ** 20,
      serviceCores: 0.9,
      otherCores: 0.25,
    },
    { second: 2, requests: 0, failed: 0, p50Ms: Number.NaN, p99Ms: Number.NaN },
  ],
};

describe('charts', () => {
  it('turns per-second samples into points, with gaps where nothing was measured', () => {
    expect(timelinePoints(longRun)).toEqual([
      {
        second: 1,
        requestsPerSecond: 1000,
        p99Ms: 4,
        rssMiB: 50,
        serviceCores: 0.9,
        otherCores: 0.25,
      },
      {
        second: 2,
        requestsPerSecond: 0,
        p99Ms: null,
        rssMiB: null,
        serviceCores: null,
        otherCores: null,
      },
    ]);
  });

  it('renders the long-run chart to SVG with vega-lite', async () => {
    const svg = await renderSvg(timelineSpec(longRun, 'test'));
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('p99 latency (ms)');
    expect(svg).toContain('req/s (2xx)');
    expect(svg).toContain('other processes');
  });

  it('leaves long runs and scenarios that did not run out of the overview', () => {
    const skipped: ScenarioResult = {
      ...longRun,
      id: 'dcu-read',
      status: 'skipped',
      perSecond: undefined,
    };
    const hello: ScenarioResult = {
      ...longRun,
      id: 'fastify-hello',
      perSecond: undefined,
      rate: 70_000.4,
    };
    const spec = overviewSpec([longRun, skipped, hello], 'test') as { data: { values: unknown[] } };
    expect(spec.data.values).toEqual([
      { scenario: 'fastify-hello', rate: 70_000, clean: 'no errors' },
    ]);
  });
});
