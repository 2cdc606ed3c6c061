import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { listeningUrlIn } from './environment';

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ChildOptions {
  /** Shown in messages, e.g. "agency #2". */
  label: string;
  script: string;
  args?: string[];
  cwd: string;
  env: Record<string, string>;
  /** Every output line goes here; warnings and errors are also echoed by `onLine`. */
  logFile?: string;
  /** Inherit the terminal (the simulation) instead of capturing output (the services). */
  inheritOutput?: boolean;
  onLine?: (line: string) => void;
}

/** The preload that makes a child stop when the launcher dies (see parent-watch.ts). */
const PARENT_WATCH = path.join(__dirname, 'parent-watch.js');

/**
 * One child process: node <script> with an IPC channel (so it notices if the launcher dies),
 * its output captured line by line, and a stop that is graceful first and certain after.
 */
export class ChildService {
  readonly process: ChildProcess;
  readonly exited: Promise<ChildExit>;
  private exit: ChildExit | undefined;
  private readonly tail: string[] = [];
  private readonly log: WriteStream | undefined;
  private readonly lineListeners = new Set<(line: string) => void>();

  constructor(readonly options: ChildOptions) {
    const stdio: StdioOptions = options.inheritOutput
      ? ['ignore', 'inherit', 'inherit', 'ipc']
      : ['ignore', 'pipe', 'pipe', 'ipc'];
    this.process = spawn(
      process.execPath,
      ['--require', PARENT_WATCH, options.script, ...(options.args ?? [])],
      {
        cwd: options.cwd,
        env: options.env,
        stdio,
      },
    );
    this.log = options.logFile ? createWriteStream(options.logFile, { flags: 'a' }) : undefined;
    this.process.once('exit', (code, signal) => {
      this.exit = { code, signal };
    });
    this.exited = new Promise((resolve) => {
      // 'close' comes after 'exit' once its output is drained, so no last line is lost.
      this.process.once('close', (code, signal) => {
        this.exit ??= { code, signal };
        this.log?.end();
        resolve(this.exit);
      });
      // A spawn failure (no such file) still counts as an exit.
      this.process.once('error', (error) => {
        this.remember(`could not start: ${error.message}`);
        this.exit ??= { code: 1, signal: null };
        resolve(this.exit);
      });
    });
    for (const stream of [this.process.stdout, this.process.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) =>
        this.remember(line),
      );
    }
    // The channel only exists so the child can notice the launcher going away.
    this.process.channel?.unref();
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  get running(): boolean {
    return this.exit === undefined && this.process.pid !== undefined;
  }

  /** The last lines the child printed, for error messages. */
  lastLines(count = 15): string[] {
    return this.tail.slice(-count);
  }

  /** Resolves with the URL of its `<app> listening on <url>` line. */
  waitForListening(timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const finish = (outcome: () => void) => {
        clearTimeout(timer);
        this.lineListeners.delete(onLine);
        outcome();
      };
      const onLine = (line: string) => {
        const url = listeningUrlIn(line);
        if (url) finish(() => resolve(url));
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
      this.lineListeners.add(onLine);
      void this.exited.then((exit) =>
        finish(() =>
          reject(
            new Error(`${this.options.label} exited before listening (${describeExit(exit)})`),
          ),
        ),
      );
    });
  }

  /** SIGTERM, then SIGKILL if it has not gone after `graceMs`. */
  async stop(graceMs: number): Promise<ChildExit> {
    if (!this.running) return this.exited;
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  /** Last resort, synchronous (for process 'exit'): no child may outlive the launcher. */
  kill(): void {
    this.signal('SIGKILL');
  }

  private signal(signal: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      this.process.kill(signal);
    } catch {
      // Already gone.
    }
  }

  private remember(line: string): void {
    this.tail.push(line);
    if (this.tail.length > 200) this.tail.shift();
    this.log?.write(`${line}\n`);
    this.options.onLine?.(line);
    for (const listener of this.lineListeners) listener(line);
  }
}

export function describeExit(exit: ChildExit): string {
  return exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
}

/** The exit code a shell would report for this exit. */
export function exitCodeOf(exit: ChildExit): number {
  if (exit.code !== null) return exit.code;
  const signals: Record<string, number> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
  return 128 + (signals[exit.signal ?? ''] ?? 1);
}
