import path from 'node:path';
import { secretsForService, type SystemSecrets } from '@grantline/contracts';

export type RunSecrets = SystemSecrets;

/**
 * Settings a child must not inherit from the launcher's own environment; secrets included,
 * so that each child holds only the ones it is given.
 */
const NOT_INHERITED = [
  'PORT',
  'HOST',
  'ADVERTISED_URL',
  'REGISTRY_URL',
  'NODE_CHANNEL_FD',
  'REGISTRY_TOKEN',
  'SERVICE_TOKEN',
  'ACCOUNT_KEY_SECRET',
  // The store is the launcher's --store option, not whatever the shell has.
  'DATABASE_URL',
  // The agencies' folder and budget come from the run (--budget), not the shell.
  'AGENCY_DIR',
  'AGENCY_BUDGET_CENTS',
];

export interface ServiceEnvironmentInput {
  app: 'registry' | 'agency' | 'dcu';
  inherited: Record<string, string | undefined>;
  secrets: RunSecrets;
  registryUrl?: string;
  accountDir: string;
  logLevel: string;
}

/**
 * The environment of one service: the launcher's own (PATH, DAY_MS, ...) less what would
 * point it elsewhere, plus PORT=0 (any free port; the real one is read from its
 * "listening on" line), its own share of the run's secrets (an agency or DCU gets its type's
 * registration token, never REGISTRY_TOKEN) and the registry's URL once it is known.
 */
export function serviceEnvironment(input: ServiceEnvironmentInput): Record<string, string> {
  return {
    ...inheritable(input.inherited),
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: input.logLevel,
    ACCOUNT_DIR: input.accountDir,
    ...secretsForService(input.app, input.secrets),
    ...(input.registryUrl ? { REGISTRY_URL: input.registryUrl } : {}),
  };
}

/** The simulation's environment: the launcher's own, pointed at this run's registry. */
export function simulationEnvironment(
  inherited: Record<string, string | undefined>,
  registryUrl: string,
): Record<string, string> {
  return { ...inheritable(inherited), REGISTRY_URL: registryUrl };
}

function inheritable(inherited: Record<string, string | undefined>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(inherited)) {
    if (value !== undefined && !NOT_INHERITED.includes(name)) env[name] = value;
  }
  return env;
}

/** `account_files/run-2026-01-31T12-00-00-000Z`: sortable, and safe on every file system. */
export function runFolderName(now: Date): string {
  return `run-${now.toISOString().replace(/[:.]/g, '-')}`;
}

/** Where this run keeps its accounts and logs, honouring ACCOUNT_DIR / GRANTLINE_RUN_DIR. */
export function runPaths(root: string, env: Record<string, string | undefined>, now: Date) {
  const runDir = path.resolve(
    root,
    env.GRANTLINE_RUN_DIR ?? path.join('account_files', runFolderName(now)),
  );
  const accountDir = env.ACCOUNT_DIR
    ? path.resolve(root, env.ACCOUNT_DIR)
    : path.join(runDir, 'accounts');
  return { runDir, accountDir };
}
