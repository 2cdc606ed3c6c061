import path from 'node:path';
import { describeMachineLine } from './machine';
import type { BenchReport, ScenarioResult, TargetOutcome } from './results';
import { formatPercent, formatRatio, NOTICEABLE_STEAL, ratio, unusableReason } from './targets';

/** Pure formatting of a finished run as Markdown. */

export function formatRate(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  return Math.round(value).toLocaleString('en-US');
}

export function formatMs(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  if (value < 10) return value.toFixed(2);
  if (value < 100) return value.toFixed(1);
  return Math.round(value).toLocaleString('en-US');
}

export function formatBytes(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  if (value >= 2 ** 30) return `${(value / 2 ** 30).toFixed(2)} GiB`;
  if (value >= 2 ** 20) return `${(value / 2 ** 20).toFixed(1)} MiB`;
  if (value >= 2 ** 10) return `${(value / 2 ** 10).toFixed(1)} KiB`;
  return `${Math.round(value)} B`;
}

export function formatCores(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  return `${value.toFixed(2)} cores`;
}

/** A Markdown table; `|` inside a cell is escaped so it cannot break the row. */
export function markdownTable(header: string[], rows: string[][]): string {
  const escape = (cell: string) => cell.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const line = (cells: string[]) => `| ${cells.map(escape).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** "1.23× fastify-hello", or why there is no ratio. */
export function ratioCell(result: ScenarioResult, byId: Map<string, ScenarioResult>): string {
  if (!result.baseline) return '(reference)';
  const baseline = byId.get(result.baseline);
  const value = ratio(result.rate, baseline?.rate);
  if (value === undefined) return `– (${result.baseline} not measured)`;
  return `${formatRatio(value)} ${result.baseline}`;
}

/** pass / FAIL for the targets on this scenario, or "–" when it has none. */
export function targetCell(result: ScenarioResult, targets: TargetOutcome[]): string {
  const own = targets.filter((target) => target.scenario === result.id);
  if (own.length === 0) return '–';
  return own.map((target) => target.verdict).join('; ');
}

/** What a scenario's rate counts: requests, unless it measured the disk or the store alone. */
export function rateUnit(id: string): string {
  if (id === 'disk-durable-write') return 'writes/s';
  if (id.startsWith('dcu-store-')) return 'withdrawals/s';
  return 'req/s';
}

export function scenarioRows(results: ScenarioResult[], targets: TargetOutcome[]): string[][] {
  const byId = new Map<string, ScenarioResult>(results.map((result) => [result.id, result]));
  return results.map((result) => {
    const problem = unusableReason(result);
    const unit = rateUnit(result.id) === 'req/s' ? '' : ` ${rateUnit(result.id)}`;
    return [
      `${result.id}`,
      result.status === 'ok' ? `${formatRate(result.rate)}${unit}` : result.status,
      formatMs(result.latency?.p50Ms),
      formatMs(result.latency?.p99Ms),
      problem ?? 'none',
      ratioCell(result, byId),
      targetCell(result, targets),
      `\`${result.command}\``,
    ];
  });
}

export function renderMarkdown(report: BenchReport, outDir: string): string {
  const { machine, settings } = report;
  const lines: string[] = [];
  lines.push(`# Grantline benchmark, ${report.startedAt.slice(0, 16).replace('T', ' ')} UTC`, '');
  lines.push(`Machine: ${describeMachineLine(machine)}.`);
  lines.push(
    `Load average (1 min) at start: ${machine.loadAverageAtStart.map((value) => value.toFixed(2)).join(', ')} ` +
      `(anything above 0 is other work sharing the ${machine.cores} cores).`,
  );
  lines.push(
    `Settings: ${settings.durationSeconds} s per scenario after ${settings.warmupSeconds} s of unmeasured warm-up, ` +
      `${settings.connections} connections, long runs ${settings.longDurationSeconds} s. ` +
      `Load generator: autocannon in the benchmark process; every server is its own process. ` +
      `Latencies are of 2xx answers, measured per request.`,
  );
  lines.push(`Reproduce the whole run: \`${report.commandLine}\``, '');

  lines.push('## Results', '');
  lines.push(
    markdownTable(
      [
        'scenario',
        'req/s',
        'p50 ms',
        'p99 ms',
        'errors',
        'ratio to baseline',
        'target',
        'reproduce',
      ],
      scenarioRows(report.scenarios, report.targets),
    ),
    '',
  );

  const busy = report.scenarios.filter((result) => (result.stolenCpu ?? 0) >= NOTICEABLE_STEAL);
  if (busy.length > 0) {
    lines.push(
      `The host was busy during ${busy
        .map((result) => `${result.id} (CPU steal ${formatPercent(result.stolenCpu!)})`)
        .join(', ')}: those figures are lower than this machine's own, by an amount that changes ` +
        'from run to run. Compare runs with little steal.',
      '',
    );
  }

  if (report.targets.length > 0) {
    lines.push('## Targets (issue 6)', '');
    lines.push(
      markdownTable(
        ['target', 'verdict'],
        report.targets.map((target) => [target.description, target.verdict]),
      ),
      '',
    );
  }

  const longRuns = report.scenarios.filter((result) => result.perSecond);
  if (longRuns.length > 0) {
    lines.push('## Over time', '');
    lines.push(
      markdownTable(
        [
          'run',
          'first 10 s req/s',
          'last 10 s req/s',
          'last / first',
          'other processes, first / last 10 s',
          'RSS after warm-up',
          'RSS at end',
          'RSS growth',
        ],
        longRuns.map((result) => [
          result.id,
          formatRate(result.degradation?.firstWindowRps),
          formatRate(result.degradation?.lastWindowRps),
          result.degradation ? formatRatio(result.degradation.ratio) : '–',
          `${formatCores(result.degradation?.firstWindowOtherCores)} / ${formatCores(result.degradation?.lastWindowOtherCores)}`,
          formatBytes(result.rssGrowth?.afterWarmupBytes),
          formatBytes(result.rssGrowth?.endBytes),
          result.rssGrowth ? formatPercent(result.rssGrowth.growth) : '–',
        ]),
      ),
      '',
    );
    lines.push(
      'RSS after warm-up is the median of seconds 6–10 of the run; at end, the median of its last 5 seconds. ' +
        '"Other processes" is the CPU (in cores) that processes other than the benchmark and the service used ' +
        'meanwhile, from /proc/stat: when it differs between the two windows, so does the machine the service had.',
      '',
    );
  }
  for (const chart of report.charts) {
    lines.push(`![${path.basename(chart, '.svg')}](${path.relative(outDir, chart)})`, '');
  }

  lines.push('## Details', '');
  for (const result of report.scenarios) {
    lines.push(`### ${result.id}: ${result.title}`, '');
    if (result.reason) lines.push(`- ${result.status}: ${result.reason}`);
    if (result.latency) {
      lines.push(
        `- latency ms: mean ${formatMs(result.latency.meanMs)}, p50 ${formatMs(result.latency.p50Ms)}, ` +
          `p90 ${formatMs(result.latency.p90Ms)}, p99 ${formatMs(result.latency.p99Ms)}, max ${formatMs(result.latency.maxMs)}`,
      );
    }
    if (result.succeeded !== undefined) {
      const statuses = result.statusCounts
        ? `; statuses ${JSON.stringify(result.statusCounts)}`
        : '';
      lines.push(
        `- ${result.succeeded.toLocaleString('en-US')} successful in ${result.durationSeconds?.toFixed(1)} s${statuses}`,
      );
    }
    if (result.bytesPerSecond)
      lines.push(`- response bytes: ${formatBytes(result.bytesPerSecond)}/s`);
    if (result.cpu) {
      lines.push(
        `- CPU (share of one core): ${Object.entries(result.cpu)
          .map(([name, share]) => `${name} ${formatPercent(share)}`)
          .join(', ')}`,
      );
    }
    if (result.rssBytes) {
      lines.push(
        `- RSS at end: ${Object.entries(result.rssBytes)
          .map(([name, bytes]) => `${name} ${formatBytes(bytes)}`)
          .join(', ')}`,
      );
    }
    if (result.stolenCpu !== undefined) {
      lines.push(
        `- CPU steal (the host gave this machine's cores to others): ${formatPercent(result.stolenCpu)} of its CPU time` +
          (result.stolenCpu >= NOTICEABLE_STEAL ? ', so not a quiet machine' : ''),
      );
    }
    if (result.loadAverage) {
      lines.push(
        `- load average before/after: ${result.loadAverage.before.toFixed(2)} / ${result.loadAverage.after.toFixed(2)}`,
      );
    }
    for (const note of result.notes) lines.push(`- ${note}`);
    lines.push('');
  }
  return lines.join('\n');
}
