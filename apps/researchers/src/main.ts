import { RegistryClient, sleep, type Logger } from '@grantline/registry-client';
import { formatRange } from './domain/range';
import { OptionsError, parseOptions, USAGE, type SimulationOptions } from './options';
import { Printer } from './output/printer';
import { createStyle, wantsColour } from './output/style';
import { summaryText } from './output/summary';
import { runSimulation, waitForServices } from './simulation';
import { runBudgetCheck, runFinalCheck } from './final-check';

const EXIT_OK = 0;
const EXIT_PROBLEMS = 1;
const EXIT_USAGE = 2;
const EXIT_INTERRUPTED = 130;

async function main(): Promise<number> {
  let options: SimulationOptions;
  try {
    const parsed = parseOptions(process.argv.slice(2), process.env);
    if (parsed.help) {
      console.log(USAGE);
      return EXIT_OK;
    }
    options = parsed.options;
  } catch (error) {
    if (!(error instanceof OptionsError)) throw error;
    console.error(`researchers: ${error.message}\nTry --help.`);
    return EXIT_USAGE;
  }

  const style = createStyle(wantsColour(process.stdout, process.env));
  const printer = new Printer(process.stdout, style, options.quiet);
  const client = new RegistryClient({
    registryUrl: options.registryUrl,
    logger: clientLogger(printer),
  });
  const run = new AbortController();
  let firstSignalAt = 0;
  const stopOnSignal = (signal: NodeJS.Signals) => {
    // Ctrl-C under the launcher arrives twice at once (from the terminal and the launcher).
    if (firstSignalAt > 0) {
      if (Date.now() - firstSignalAt > 1_000) process.exit(EXIT_INTERRUPTED);
      return;
    }
    firstSignalAt = Date.now();
    void printer.problem(`${signal}: stopping every actor (again to quit at once)`);
    run.abort('interrupted');
  };
  process.on('SIGINT', stopOnSignal);
  process.on('SIGTERM', stopOnSignal);
  const timeout = setTimeout(
    () => run.abort(`timed out after ${options.timeoutMs} ms`),
    options.timeoutMs,
  );
  timeout.unref();

  try {
    await printer.note(
      `Grantline researchers: ${options.projects} projects, ${options.studentsPerProject} students each, ` +
        `pauses ${formatRange(options.pauseMs)} ms, seed ${options.seed}` +
        (options.seedGiven ? '' : ` (replay with --seed ${options.seed})`),
    );
    const missing = await waitForServices(client, ['agency', 'dcu'], 10_000, sleep, run.signal);
    if (run.signal.aborted)
      return run.signal.reason === 'interrupted' ? EXIT_INTERRUPTED : EXIT_PROBLEMS;
    if (missing.length > 0) {
      await printer.problem(
        `the registry at ${options.registryUrl} lists no ${missing.join(' and no ')} instance; ` +
          'start the services first (npm start does it for you)',
      );
      return EXIT_PROBLEMS;
    }

    const { reports, tally } = await runSimulation(options, { client, printer, sleep }, run.signal);
    const interrupted = run.signal.reason === 'interrupted';
    if (!interrupted) await runFinalCheck(client, reports, sleep);
    const budgetCheck = interrupted
      ? undefined
      : await runBudgetCheck(client, reports, sleep, { sharedAgency: options.sharedAgency });
    // Why the run stopped early, if it did for any reason but Ctrl-C (the timeout).
    const stopReason = run.signal.aborted && !interrupted ? String(run.signal.reason) : undefined;

    await printer.block(
      summaryText(
        {
          reports,
          failures: tally.failures,
          interrupted,
          stopReason,
          ...(budgetCheck ? { budgetCheck } : {}),
        },
        style,
      ),
    );
    const problems = [
      ...reports.flatMap((report) => report.problems),
      ...(budgetCheck?.problems ?? []),
    ];

    if (interrupted) return EXIT_INTERRUPTED;
    return tally.failures.length > 0 || problems.length > 0 || run.signal.aborted
      ? EXIT_PROBLEMS
      : EXIT_OK;
  } finally {
    clearTimeout(timeout);
    await client.close();
  }
}

/** The registry client's warnings (an instance failed, trying another) are part of the story. */
function clientLogger(printer: Printer): Logger {
  return {
    debug() {},
    info() {},
    warn(details, message) {
      const instance = (details as { instance?: string } | undefined)?.instance;
      void printer.note(`registry client: ${message ?? ''}${instance ? ` (${instance})` : ''}`);
    },
  };
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error('researchers crashed:', error);
    process.exitCode = EXIT_PROBLEMS;
  },
);
