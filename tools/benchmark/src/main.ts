import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { overviewSpec, renderSvg, timelineSpec } from './charts';
import { freshSecrets } from '@grantline/process-kit';
import { Harness } from './harness';
import { describeMachine, describeMachineLine } from './machine';
import { parseOptions, USAGE, UsageError, type BenchOptions } from './options';
import { formatMs, formatRate, rateUnit, renderMarkdown } from './report';
import type { BenchReport, ScenarioResult } from './results';
import { runScenario } from './scenarios';
import { evaluateTargets, formatPercent, NOTICEABLE_STEAL } from './targets';

/** The repository root, from tools/benchmark/dist/main.js. */
const ROOT = path.resolve(__dirname, '..', '..', '..');
const DEFAULT_OUT = path.join(ROOT, 'tools', 'benchmark', 'results');

async function main(): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseOptions(process.argv.slice(2), DEFAULT_OUT);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  if (options.build) buildApps();

  const parent = options.workDir ?? path.join(ROOT, 'account_files');
  mkdirSync(parent, { recursive: true });
  const runDir = mkdtempSync(path.join(parent, 'bench-'));
  const harness = new Harness(ROOT, options, runDir, freshSecrets());
  const cleanUp = () => {
    harness.killAll();
    rmSync(runDir, { recursive: true, force: true });
  };
  process.once('exit', cleanUp);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping the services and removing ${runDir}`);
      process.exit(130);
    });
  }

  const machine = describeMachine(runDir, ROOT);
  const startedAt = new Date().toISOString();
  console.log(`Machine: ${describeMachineLine(machine)}`);
  console.log(
    `Load average: ${machine.loadAverageAtStart.map((value) => value.toFixed(2)).join(' ')}`,
  );
  console.log(`Scenarios: ${options.scenarios.join(', ')}\n`);

  const scenarios: ScenarioResult[] = [];
  try {
    for (const id of options.scenarios) {
      process.stdout.write(`${id} ... `);
      const result = await runScenario(harness, id);
      scenarios.push(result);
      console.log(summaryLine(result));
    }
  } finally {
    await harness.stopAll();
  }

  const report: BenchReport = {
    startedAt,
    finishedAt: new Date().toISOString(),
    commandLine: ['npm run bench --', ...process.argv.slice(2)].join(' ').replace(/ --$/, ''),
    machine,
    settings: {
      durationSeconds: options.durationSeconds,
      longDurationSeconds: options.longDurationSeconds,
      warmupSeconds: options.warmupSeconds,
      connections: options.connections,
    },
    scenarios,
    targets: evaluateTargets(scenarios),
    charts: [],
  };
  await writeOutputs(report, options.outDir);
  console.log('\nTargets:');
  for (const target of report.targets) console.log(`  ${target.description}: ${target.verdict}`);
  console.log(`\nWritten to ${options.outDir}`);
  return 0;
}

/** Builds the apps with Nx (only what changed). A failed build is reported; an older dist/ is still used. */
function buildApps(): void {
  const nx = path.join(ROOT, 'node_modules', 'nx', 'dist', 'bin', 'nx.js');
  console.log('Building the apps (nx run-many -t build) ...');
  const build = spawnSync(
    process.execPath,
    [
      nx,
      'run-many',
      '-t',
      'build',
      '--projects=@grantline/registry,@grantline/dcu,@grantline/agency',
      '--output-style=static',
    ],
    { cwd: ROOT, env: { ...process.env, NX_TUI: 'false', NX_DAEMON: 'false' }, encoding: 'utf8' },
  );
  if (build.status !== 0) {
    console.warn(
      `The build failed; scenarios use whatever dist/ exists.\n${(build.stdout + build.stderr).trim().split('\n').slice(-20).join('\n')}`,
    );
  }
}

function summaryLine(result: ScenarioResult): string {
  if (result.status !== 'ok') return `${result.status}: ${result.reason}`;
  const unit = rateUnit(result.id);
  const errors = result.failures ? `  ERRORS: ${result.failures}` : '';
  const stolen =
    result.stolenCpu !== undefined && result.stolenCpu >= NOTICEABLE_STEAL
      ? `, CPU steal ${formatPercent(result.stolenCpu)} (busy host)`
      : '';
  return `${formatRate(result.rate)} ${unit}, p50 ${formatMs(result.latency?.p50Ms)} ms, p99 ${formatMs(result.latency?.p99Ms)} ms${stolen}${errors}`;
}

async function writeOutputs(report: BenchReport, outDir: string): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  const subtitle = `${report.startedAt.slice(0, 16).replace('T', ' ')} UTC, ${report.machine.cores} cores, Node ${report.machine.nodeVersion}`;
  const charts: [string, Parameters<typeof renderSvg>[0]][] = [];
  for (const result of report.scenarios) {
    if (result.perSecond && result.perSecond.length > 0)
      charts.push([`chart-${result.id}.svg`, timelineSpec(result, subtitle)]);
  }
  charts.push(['chart-overview.svg', overviewSpec(report.scenarios, subtitle)]);
  for (const [name, spec] of charts) {
    const file = path.join(outDir, name);
    writeFileSync(file, await renderSvg(spec));
    report.charts.push(file);
  }
  writeFileSync(
    path.join(outDir, 'results.json'),
    `${JSON.stringify({ ...report, charts: report.charts.map((file) => path.basename(file)) }, null, 2)}\n`,
  );
  writeFileSync(path.join(outDir, 'results.md'), `${renderMarkdown(report, outDir)}\n`);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
