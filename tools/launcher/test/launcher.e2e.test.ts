import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isRunning, waitFor } from '@grantline/process-kit';

/**
 * Runs the real launcher (as `npm start` does, minus the Nx build, which the test target has
 * already done) with a small seeded configuration, and checks what a user would see: the exit
 * code, the summary, and that no process it started is left behind.
 */
const ROOT = path.resolve(__dirname, '..', '..', '..');
const LAUNCHER = path.join(ROOT, 'tools/launcher/dist/main.js');
// Seed 1 draws two proposals in the funded range and one outside it.
const SMALL_RUN = [
  '--projects',
  '3',
  '--students',
  '2',
  '--seed',
  '1',
  '--pause',
  '2-8',
  '--days',
  '5-12',
];

interface LauncherRun {
  code: number | null;
  stdout: string;
  stderr: string;
  pids: number[];
}

const started: ChildProcess[] = [];
const runDirs: string[] = [];

function startLauncher(args: string[]) {
  const runDir = mkdtempSync(path.join(tmpdir(), 'grantline-launcher-test-'));
  runDirs.push(runDir);
  // Nx sets FORCE_COLOR for its tasks; with NO_COLOR too, Node warns on stderr.
  const { FORCE_COLOR: _forceColor, ...inherited } = process.env;
  const child = spawn(process.execPath, [LAUNCHER, ...args], {
    cwd: ROOT,
    env: {
      ...inherited,
      LAUNCHER_SKIP_BUILD: '1',
      DAY_MS: '50',
      GRANTLINE_RUN_DIR: runDir,
      NO_COLOR: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const finished = new Promise<LauncherRun>((resolve) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    child.once('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr, pids: pidsIn(stdout) });
    });
  });
  return { child, finished, output: () => stdout };
}

/** A run long enough to interrupt (accounts of 200+ days), once its simulation has started. */
async function startLongRun() {
  const run = startLauncher([
    '--projects',
    '2',
    '--seed',
    '3',
    '--pause',
    '20-40',
    '--days',
    '200-300',
  ]);
  await waitFor(
    'the simulation to start (or the launcher to end)',
    () => /simulation started/.test(run.output()) || run.child.exitCode !== null,
    30_000,
    50,
  );
  expect(run.output()).toContain('simulation started');
  return run;
}

/** The launcher prints `(pid N)` for every process it starts. */
function pidsIn(stdout: string): number[] {
  return [...stdout.matchAll(/\(pid (\d+)\)/g)].map((match) => Number(match[1]));
}

/** The lines that depend only on the seed: what each professor asked and what was decided. */
function decisions(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((line) => /\] +asks for €|proposal rejected|grant accepted/.test(line))
    .map((line) => line.replace(/ by the agency at \S+: account \w+$/, ''))
    .sort();
}

function summaryRows(stdout: string): string[][] {
  const lines = stdout.split('\n');
  const header = lines.findIndex((line) => /^project +professor +asked +decision/.test(line));
  return lines
    .slice(header + 2)
    .filter((line) => /^P\d+ /.test(line))
    .map((line) => line.split(/ {2,}/));
}

beforeAll(() => {
  // Builds whatever is stale (nothing when Nx ran the build first).
  execFileSync(
    process.execPath,
    [
      path.join(ROOT, 'node_modules/typescript/bin/tsc'),
      '-b',
      'tools/launcher',
      'apps/registry',
      'apps/agency',
      'apps/dcu',
      'apps/researchers',
    ],
    { cwd: ROOT, stdio: 'inherit' },
  );
}, 60_000);

afterAll(() => {
  for (const child of started)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of runDirs) rmSync(dir, { recursive: true, force: true });
});

describe('npm start (the launcher)', () => {
  let first: LauncherRun;

  it('runs the whole system, prints a summary, exits 0 and leaves no process behind', async () => {
    first = await startLauncher(SMALL_RUN).finished;
    expect({
      code: first.code,
      stderr: first.stderr,
      output: first.code === 0 ? '' : first.stdout.slice(-3000),
    }).toEqual({ code: 0, stderr: '', output: '' });
    // two registries, two agencies, two DCUs, the simulation
    expect(first.pids).toHaveLength(7);
    expect(first.stdout).toMatch(/registry #1 +listening on http:\/\/127\.0\.0\.1:\d+/);
    expect(first.stdout).toMatch(/registry #2 +listening on http:\/\/127\.0\.0\.1:\d+/);
    expect(first.stdout).toContain('Ledger check passed for 2 account(s)');
    expect(first.stdout).toContain('No operation failed.');
    const rows = summaryRows(first.stdout);
    expect(rows.map((row) => [row[0], row[3]])).toEqual([
      ['P1', 'accepted'],
      ['P2', 'accepted'],
      ['P3', 'rejected'],
    ]);
    // "how it ended" is the last column, whatever columns come before it.
    for (const row of rows.filter((cells) => cells[3] === 'accepted')) {
      expect(row.at(-1)).toMatch(/^(account expired|money all spent)$/);
    }
    expect(first.stdout).toContain('every service stopped');
    expect(first.pids.filter(isRunning)).toEqual([]);
  });

  it('makes the same proposals and decisions for the same seed', async () => {
    const second = await startLauncher(SMALL_RUN).finished;
    // On failure, show the run's own account of what went wrong.
    expect({
      code: second.code,
      output: second.code === 0 ? '' : second.stdout.slice(-3000) + second.stderr,
    }).toEqual({
      code: 0,
      output: '',
    });
    expect(decisions(second.stdout)).toHaveLength(3 + 3);
    expect(decisions(second.stdout)).toEqual(decisions(first.stdout));
    expect(summaryRows(second.stdout).map((row) => row.slice(0, 5))).toEqual(
      summaryRows(first.stdout).map((row) => row.slice(0, 5)),
    );
  });

  it('stops everything on SIGINT, mid-run', async () => {
    const run = await startLongRun();
    run.child.kill('SIGINT');
    const result = await run.finished;
    expect(result.code).toBe(130);
    expect(result.pids).toHaveLength(7);
    expect(result.pids.filter(isRunning)).toEqual([]);
  });

  it('leaves no orphan even when the launcher itself is killed outright', async () => {
    const run = await startLongRun();
    const pids = pidsIn(run.output());
    run.child.kill('SIGKILL');
    await run.finished;
    expect(pids).toHaveLength(7);
    // Each child sees its IPC channel close and stops itself (graceful, so allow a moment).
    // A bound, not a measure: each stops gracefully (at most 5 s) on a loaded machine.
    await waitFor('every child to stop', () => pids.every((pid) => !isRunning(pid)), 20_000, 50);
  });
});
