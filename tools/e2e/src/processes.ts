import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';

/** The repository root, from tools/e2e/src or tools/e2e/dist. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

export const APP_SCRIPTS = {
  registry: path.join(REPO_ROOT, 'apps/registry/dist/main.js'),
  agency: path.join(REPO_ROOT, 'apps/agency/dist/main.js'),
  dcu: path.join(REPO_ROOT, 'apps/dcu/dist/main.js'),
  researchers: path.join(REPO_ROOT, 'apps/researchers/dist/main.js'),
} as const;

export type AppName = keyof typeof APP_SCRIPTS;

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ProcessOptions {
  /** Shown in messages, e.g. "dcu #2". */
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

/** `dcu listening on http://127.0.0.1:41234` -> the URL (the launcher reads the same line). */
export function listeningUrlIn(line: string): string | undefined {
  return /\blistening on (https?:\/\/\S+)/.exec(line)?.[1];
}

/**
 * One app as a real process (`node apps/<app>/dist/main.js`): its output captured line by
 * line, the URL of its "listening on" line, and a kill that the test decides the signal of.
 * Every instance is remembered in `ServiceProcess.all`, so a test can kill whatever it started.
 */
export class ServiceProcess {
  static readonly all = new Set<ServiceProcess>();

  readonly child: ChildProcess;
  readonly exited: Promise<ProcessExit>;
  readonly lines: string[] = [];
  private exit: ProcessExit | undefined;
  private readonly log: WriteStream | undefined;
  private readonly listeners = new Set<(line: string) => void>();
  private listening: string | undefined;

  constructor(readonly options: ProcessOptions) {
    const [command, ...prefix] = [...(options.wrap ?? []), process.execPath];
    this.child = spawn(command!, [...prefix, APP_SCRIPTS[options.app], ...(options.args ?? [])], {
      cwd: options.cwd ?? REPO_ROOT,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    ServiceProcess.all.add(this);
    this.log = options.logFile ? createWriteStream(options.logFile, { flags: 'a' }) : undefined;
    this.child.once('exit', (code, signal) => {
      this.exit ??= { code, signal };
    });
    this.exited = new Promise((resolve) => {
      this.child.once('close', (code, signal) => {
        this.exit ??= { code, signal };
        this.log?.end();
        resolve(this.exit);
      });
      this.child.once('error', (error) => {
        this.remember(`could not start: ${error.message}`);
        this.exit ??= { code: 1, signal: null };
        resolve(this.exit);
      });
    });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      if (stream)
        createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) =>
          this.remember(line),
        );
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exit === undefined && this.child.pid !== undefined;
  }

  /** The URL it printed in its "listening on" line, once it has. */
  get url(): string | undefined {
    return this.listening;
  }

  get output(): string {
    return this.lines.join('\n');
  }

  /** Resolves with the URL of the `<app> listening on <url>` line. */
  waitForListening(timeoutMs = 20_000): Promise<string> {
    if (this.listening) return Promise.resolve(this.listening);
    return new Promise((resolve, reject) => {
      const finish = (outcome: () => void) => {
        clearTimeout(timer);
        this.listeners.delete(onLine);
        outcome();
      };
      const onLine = () => {
        if (this.listening) finish(() => resolve(this.listening!));
      };
      const timer = setTimeout(
        () =>
          finish(() =>
            reject(
              new Error(
                `${this.options.label} did not say it was listening within ${timeoutMs} ms`,
              ),
            ),
          ),
        timeoutMs,
      );
      this.listeners.add(onLine);
      void this.exited.then((exit) =>
        finish(() =>
          reject(
            new Error(
              `${this.options.label} exited before listening (${describeExit(exit)}):\n${this.lines.slice(-15).join('\n')}`,
            ),
          ),
        ),
      );
    });
  }

  /** Sends `signal` and waits until the process is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<ProcessExit> {
    if (this.running) {
      try {
        this.child.kill(signal);
      } catch {
        // already gone
      }
    }
    return this.exited;
  }

  /** SIGTERM, then SIGKILL if it has not gone after `graceMs`. */
  async stop(graceMs = 5_000): Promise<ProcessExit> {
    if (!this.running) return this.exited;
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    this.child.kill('SIGTERM');
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  /** SIGKILLs every process started through this class that still runs, and waits for them. */
  static async killAll(): Promise<void> {
    await Promise.all([...ServiceProcess.all].map((service) => service.kill('SIGKILL')));
    ServiceProcess.all.clear();
  }

  private remember(line: string): void {
    this.lines.push(line);
    if (this.lines.length > 5_000) this.lines.splice(0, 1_000);
    this.log?.write(`${line}\n`);
    this.listening ??= listeningUrlIn(line);
    for (const listener of this.listeners) listener(line);
  }
}

export function describeExit(exit: ProcessExit): string {
  return exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
}

// Whatever happens to the test process, no service it started outlives it.
process.once('exit', () => {
  for (const service of ServiceProcess.all) {
    if (service.running) service.child.kill('SIGKILL');
  }
});

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
