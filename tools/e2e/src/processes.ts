import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { ServiceProcess } from '@grantline/process-kit';

/** The repository root, from tools/e2e/src or tools/e2e/dist. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

export const APP_SCRIPTS = {
  registry: path.join(REPO_ROOT, 'apps/registry/dist/main.js'),
  agency: path.join(REPO_ROOT, 'apps/agency/dist/main.js'),
  dcu: path.join(REPO_ROOT, 'apps/dcu/dist/main.js'),
  researchers: path.join(REPO_ROOT, 'apps/researchers/dist/main.js'),
} as const;

export type AppName = keyof typeof APP_SCRIPTS;

export interface AppProcessOptions {
  /** Shown in messages, e.g. "dcu-2". */
  label: string;
  app: AppName;
  args?: string[];
  env: Record<string, string>;
  /** Folder to start in (default: the repository root). */
  cwd?: string;
  /** Every output line is appended here. */
  logFile?: string;
  /** A command to run the app under, e.g. `ip netns exec <host>` (it must exec the app, keeping its PID). */
  wrap?: string[];
}

/** One app as a real process (`node apps/<app>/dist/main.js`), through the process kit. */
export function startApp(options: AppProcessOptions): ServiceProcess {
  const { app, ...rest } = options;
  return new ServiceProcess({ cwd: REPO_ROOT, ...rest, script: APP_SCRIPTS[app] });
}

/** Builds whatever of these apps is stale (nothing when Nx ran the build first). */
export function buildApps(...apps: AppName[]): void {
  execFileSync(
    process.execPath,
    [
      path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc'),
      '-b',
      ...apps.map((app) => `apps/${app}`),
    ],
    { cwd: REPO_ROOT, stdio: 'inherit' },
  );
}
