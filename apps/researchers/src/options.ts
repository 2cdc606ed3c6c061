import { parseArgs } from 'node:util';
import { freshSeed } from '@grantline/process-kit';
import { formatRange, type IntRange } from './domain/range';

export interface SimulationOptions {
  projects: number;
  studentsPerProject: number;
  seed: number;
  /** Whether the seed was given (a run without one prints how to replay it). */
  seedGiven: boolean;
  pauseMs: IntRange;
  durationDays: IntRange;
  /** Everything stops after this long, counted as a failure: a safety net, not a feature. */
  timeoutMs: number;
  quiet: boolean;
  registryUrl: string;
  /**
   * The agency also funds proposals that are not this run's (a test's own load beside the
   * simulation): its budget totals cannot equal this run's sums, so the budget check holds the
   * run's part against them (contained, never overcommitted) instead of asking for equality.
   */
  sharedAgency: boolean;
}

export type ParsedOptions = { help: true } | { help: false; options: SimulationOptions };

export class OptionsError extends Error {
  override name = 'OptionsError';
}

const DEFAULTS = {
  projects: 4,
  studentsPerProject: 2,
  pauseMs: { min: 80, max: 300 },
  durationDays: { min: 5, max: 15 },
  timeoutMs: 120_000,
  registryUrl: 'http://127.0.0.1:9000',
};

export const USAGE = `Usage: researchers [options]

Runs research projects against the Grantline services: each professor asks an agency for a
grant; accepted projects add students, and everyone spends until the account expires or is
empty. At the end every account is checked against the DCU's ledger.

Options (environment variable in brackets):
  --projects <n>         projects to run, 1-100 [SIM_PROJECTS] (default ${DEFAULTS.projects})
  --students <n>         students per accepted project, 0-20 [SIM_STUDENTS] (default ${DEFAULTS.studentsPerProject})
  --seed <n>             random seed, 0-4294967295: the same seed makes the same proposals
                         and choices [SIM_SEED] (default: a fresh one, printed)
  --pause <min-max>      pause between an actor's withdrawals, in ms [SIM_PAUSE_MS] (default ${formatRange(DEFAULTS.pauseMs)})
  --days <min-max>       durationDays asked for [SIM_DAYS] (default ${formatRange(DEFAULTS.durationDays)})
  --timeout <ms>         give up after this long [SIM_TIMEOUT_MS] (default ${DEFAULTS.timeoutMs})
  --registry-url <urls>  where the registries answer, comma-separated [REGISTRY_URL] (default ${DEFAULTS.registryUrl})
  --shared-agency        the agency also serves others: check that this run's proposals fit
                         in its budget totals, not that they make them up [SIM_SHARED_AGENCY=1]
  -q, --quiet            print only the summary and problems [SIM_QUIET=1]
  -h, --help             show this help

Exit code: 0 when every operation succeeded and every account adds up, 1 otherwise,
2 for bad options.`;

/** Flags win over environment variables, which win over defaults. */
export function parseOptions(
  argv: string[],
  env: Record<string, string | undefined>,
): ParsedOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        projects: { type: 'string' },
        students: { type: 'string' },
        seed: { type: 'string' },
        pause: { type: 'string' },
        days: { type: 'string' },
        timeout: { type: 'string' },
        'registry-url': { type: 'string' },
        quiet: { type: 'boolean', short: 'q' },
        'shared-agency': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new OptionsError((error as Error).message);
  }
  if (values.help) return { help: true };

  const setting = (flag: string | undefined, variable: string) =>
    flag !== undefined
      ? { value: flag, name: `--${variableToFlag[variable]}` }
      : env[variable]
        ? { value: env[variable], name: variable }
        : undefined;

  const seedSetting = setting(values.seed, 'SIM_SEED');
  const options: SimulationOptions = {
    projects: integerSetting(setting(values.projects, 'SIM_PROJECTS'), 1, 100) ?? DEFAULTS.projects,
    studentsPerProject:
      integerSetting(setting(values.students, 'SIM_STUDENTS'), 0, 20) ??
      DEFAULTS.studentsPerProject,
    seed: integerSetting(seedSetting, 0, 4_294_967_295) ?? freshSeed(),
    seedGiven: seedSetting !== undefined,
    pauseMs: rangeSetting(setting(values.pause, 'SIM_PAUSE_MS'), 0, 60_000) ?? DEFAULTS.pauseMs,
    durationDays: rangeSetting(setting(values.days, 'SIM_DAYS'), 1, 3650) ?? DEFAULTS.durationDays,
    timeoutMs:
      integerSetting(setting(values.timeout, 'SIM_TIMEOUT_MS'), 1_000, 3_600_000) ??
      DEFAULTS.timeoutMs,
    quiet: values.quiet ?? isTrue(env.SIM_QUIET),
    registryUrl:
      urlSetting(setting(values['registry-url'], 'REGISTRY_URL')) ?? DEFAULTS.registryUrl,
    sharedAgency: values['shared-agency'] ?? isTrue(env.SIM_SHARED_AGENCY),
  };
  return { help: false, options };
}

const variableToFlag: Record<string, string> = {
  SIM_PROJECTS: 'projects',
  SIM_STUDENTS: 'students',
  SIM_SEED: 'seed',
  SIM_PAUSE_MS: 'pause',
  SIM_DAYS: 'days',
  SIM_TIMEOUT_MS: 'timeout',
  REGISTRY_URL: 'registry-url',
};

interface Setting {
  value: string;
  /** The flag or variable it came from, for error messages. */
  name: string;
}

function integerSetting(
  setting: Setting | undefined,
  min: number,
  max: number,
): number | undefined {
  if (!setting) return undefined;
  const value = parseWholeNumber(setting.value);
  if (value === undefined || value < min || value > max) {
    throw new OptionsError(
      `${setting.name} must be a whole number from ${min} to ${max}, got "${setting.value}"`,
    );
  }
  return value;
}

function rangeSetting(
  setting: Setting | undefined,
  min: number,
  max: number,
): IntRange | undefined {
  if (!setting) return undefined;
  const match = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(setting.value);
  const low = match ? parseWholeNumber(match[1] ?? '') : undefined;
  const high = match ? (match[2] === undefined ? low : parseWholeNumber(match[2])) : undefined;
  if (low === undefined || high === undefined || low < min || high > max || low > high) {
    throw new OptionsError(
      `${setting.name} must be "min-max" (or one number) with ${min} <= min <= max <= ${max}, got "${setting.value}"`,
    );
  }
  return { min: low, max: high };
}

/** One http(s) URL, or several comma-separated (several registries). */
function urlSetting(setting: Setting | undefined): string | undefined {
  if (!setting) return undefined;
  for (const part of setting.value.split(',')) {
    let url: URL | undefined;
    try {
      url = new URL(part.trim());
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new OptionsError(
        `${setting.name} must be http(s) URLs, comma-separated, got "${setting.value}"`,
      );
    }
  }
  return setting.value;
}

function parseWholeNumber(text: string): number | undefined {
  if (!/^\s*\d{1,15}\s*$/.test(text)) return undefined;
  return Number(text.trim());
}

function isTrue(value: string | undefined): boolean {
  return value !== undefined && /^(1|true|yes|on)$/i.test(value);
}
