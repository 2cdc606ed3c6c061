import type { MachineInfo } from '../src/machine';
import type { BenchReport, ScenarioResult } from '../src/results';
import {
  formatBytes,
  formatMs,
  formatRate,
  markdownTable,
  renderMarkdown,
  scenarioRows,
} from '../src/report';
import { evaluateTargets } from '../src/targets';

const latency = { count: 100, meanMs: 1.2, p50Ms: 1.04, p90Ms: 2, p99Ms: 12.345, maxMs: 150 };

function scenario(partial: Partial<ScenarioResult> & Pick<ScenarioResult, 'id'>): ScenarioResult {
  return {
    title: partial.id,
    command: `npm run bench -- --only ${partial.id} -d 10 -c 50`,
    status: 'ok',
    failures: '',
    notes: [],
    ...partial,
  };
}

const machine: MachineInfo = {
  cpuModel: 'AMD EPYC',
  cores: 2,
  memoryBytes: 8 * 2 ** 30,
  nodeVersion: 'v20.20.2',
  os: 'Linux 6.1 x64',
  disk: {
    dir: '/tmp/x',
    device: '/dev/vda',
    fsType: 'ext4',
    model: 'virtio disk',
    rotational: false,
  },
  loadAverageAtStart: [0.5, 0.4, 0.3],
};

/** A finished run of these scenarios, judged against the project's targets. */
function runOf(scenarios: ScenarioResult[], charts: string[] = []): BenchReport {
  return {
    startedAt: '2026-01-31T12:00:00.000Z',
    finishedAt: '2026-01-31T12:05:00.000Z',
    commandLine: 'npm run bench',
    machine,
    settings: { durationSeconds: 10, longDurationSeconds: 60, warmupSeconds: 2, connections: 50 },
    scenarios,
    targets: evaluateTargets(scenarios),
    charts,
  };
}

describe('number formatting', () => {
  it('rounds rates and groups thousands', () => {
    expect(formatRate(12345.6)).toBe('12,346');
    expect(formatRate(undefined)).toBe('–');
  });

  it('gives small latencies more decimals than large ones', () => {
    expect(formatMs(0.456)).toBe('0.46');
    expect(formatMs(12.345)).toBe('12.3');
    expect(formatMs(2380.4)).toBe('2,380');
    expect(formatMs(Number.NaN)).toBe('–');
  });

  it('shows memory in binary units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(52 * 2 ** 20)).toBe('52.0 MiB');
  });
});

describe('markdownTable', () => {
  it('writes a header, a separator and one line per row, escaping pipes', () => {
    expect(markdownTable(['a', 'b'], [['1', 'x|y']])).toBe(
      '| a | b |\n| --- | --- |\n| 1 | x\\|y |',
    );
  });
});

describe('scenario rows', () => {
  const results = [
    scenario({ id: 'disk-durable-write', rate: 2300, latency }),
    scenario({ id: 'fastify-hello', rate: 70_000, latency }),
    scenario({ id: 'dcu-read', rate: 28_000, latency, baseline: 'fastify-hello' }),
    scenario({
      id: 'dcu-withdraw-hot',
      rate: 12_000,
      latency,
      baseline: 'disk-durable-write',
      failures: '40 non-2xx (40×409)',
    }),
    scenario({
      id: 'agency-proposals',
      status: 'skipped',
      reason: 'apps/agency/dist/main.js not built yet',
      baseline: 'disk-durable-write',
    }),
  ];
  const rows = scenarioRows(results, evaluateTargets(results));
  const row = (id: string) => rows.find((cells) => cells[0] === id) ?? [];

  it('shows rate, p50, p99, the ratio to the baseline and the command', () => {
    expect(row('dcu-read')).toEqual([
      'dcu-read',
      '28,000',
      '1.04',
      '12.3',
      'none',
      '0.40× fastify-hello',
      'FAIL: 0.40× < 0.70× (missed by 42.9%)',
      '`npm run bench -- --only dcu-read -d 10 -c 50`',
    ]);
  });

  it('labels the disk probe in writes per second', () => {
    expect(row('disk-durable-write')[1]).toBe('2,300 writes/s');
  });

  it('labels the store-alone scenarios in withdrawals per second', () => {
    const [store] = scenarioRows([scenario({ id: 'dcu-store-withdraw-100', rate: 23_147, latency })], []);
    expect(store?.[1]).toBe('23,147 withdrawals/s');
  });

  it('says when a scenario had errors, and fails its target', () => {
    expect(row('dcu-withdraw-hot')[4]).toBe('the run had errors: 40 non-2xx (40×409)');
    expect(row('dcu-withdraw-hot')[6]).toContain('FAIL');
  });

  it('says why a scenario did not run', () => {
    expect(row('agency-proposals')[1]).toBe('skipped');
    expect(row('agency-proposals')[4]).toContain('not built yet');
  });
});

describe('renderMarkdown', () => {
  it('names the machine, the settings and the targets', () => {
    const scenarios = [
      scenario({ id: 'fastify-hello', rate: 70_000, latency }),
      scenario({ id: 'dcu-read', rate: 40_000, latency, baseline: 'fastify-hello' }),
    ];
    const report = runOf(scenarios, ['/out/chart-overview.svg']);
    const markdown = renderMarkdown(report, '/out');
    expect(markdown).toContain('AMD EPYC, 2 cores');
    expect(markdown).toContain('Node v20.20.2');
    expect(markdown).toContain('/dev/vda (ext4');
    expect(markdown).toContain('| DCU read ≥ 0.7 × bare Fastify hello | FAIL: 0.57× < 0.70× (missed by 18.4%) |');
    expect(markdown).toContain('![chart-overview](chart-overview.svg)');
  });

  it('names the runs during which the host was busy, with their CPU steal', () => {
    const scenarios = [
      scenario({ id: 'disk-durable-write', rate: 2300, latency, stolenCpu: 0.01 }),
      scenario({ id: 'dcu-withdraw-100', rate: 7000, latency, baseline: 'disk-durable-write', stolenCpu: 0.3 }),
    ];
    const report = runOf(scenarios);
    const markdown = renderMarkdown(report, '/out');
    expect(markdown).toContain('The host was busy during dcu-withdraw-100 (CPU steal 30.0%)');
    expect(markdown).not.toContain('busy during disk-durable-write');
    expect(markdown).toContain("- CPU steal (the host gave this machine's cores to others): 30.0% of its CPU time, so not a quiet machine");
    expect(markdown).toContain("- CPU steal (the host gave this machine's cores to others): 1.0% of its CPU time\n");
  });

  it('shows the over-time table with the CPU other processes took', () => {
    const long = scenario({
      id: 'long-read',
      rate: 30_000,
      latency,
      perSecond: [],
      degradation: {
        windowSeconds: 10,
        firstWindowRps: 30_000,
        lastWindowRps: 27_000,
        ratio: 0.9,
        firstWindowOtherCores: 0.1,
        lastWindowOtherCores: 0.8,
      },
      rssGrowth: {
        afterWarmupBytes: 100 * 2 ** 20,
        endBytes: 104 * 2 ** 20,
        growth: 0.04,
        warmupSeconds: 10,
        windowSeconds: 5,
      },
    });
    const report = runOf([long]);
    expect(renderMarkdown(report, '/out')).toContain(
      '| long-read | 30,000 | 27,000 | 0.90× | 0.10 cores / 0.80 cores | 100.0 MiB | 104.0 MiB | 4.0% |',
    );
  });
});
