import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServiceProcessOptions {
  /** Shown in messages, e.g. "dcu #2". */
  label: string;
  /** The Node script to run: `node [nodeArgs] <script> [args]`. */
  script: string;
  args?: string[];
  /** Options for Node itself, e.g. `--cpu-prof`. */
  nodeArgs?: string[];
  /** A command to run Node under, e.g. `ip netns exec <host>` (it must exec Node, keeping its PID). */
  wrap?: string[];
  cwd?: string;
  /** The whole environment of the child (nothing is inherited implicitly). */
  env: Record<string, string>;
  /** Every output line is appended here. */
  logFile?: string;
  /** Share the terminal (a program a person watches) instead of capturing the output. */
  inheritOutput?: boolean;
  /** Called with each output line. */
  onLine?: (line: string) => void;
  /**
   * The child stops itself (SIGTERM) when this process dies, even by SIGKILL: it is given an
   * IPC channel and a preload that watches it (lifeline.js).
   */
  stopWithParent?: boolean;
  /** How many of the last output lines are kept in memory (default 5,000). */
  keepLines?: number;
}

/** The preload behind `stopWithParent`. */
const LIFELINE = path.join(__dirname, '..', 'lifeline.js');

/** `dcu listening on http://127.0.0.1:41234` -> the URL: the line every service prints when ready. */
export function listeningUrlIn(line: string): string | undefined {
  return /\blistening on (https?:\/\/\S+)/.exec(line)?.[1];
}

export function describeExit(exit: ProcessExit): string {
  return exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
}

/** The exit code a shell would report for this exit. */
export function exitCodeOf(exit: ProcessExit): number {
  if (exit.code !== null) return exit.code;
  const signals: Record<string, number> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
  return 128 + (signals[exit.signal ?? ''] ?? 1);
}

/**
 * One Node program as a real process, in a process group of its own: its output read line by
 * line (and the URL of its `<app> listening on <url>` line), and a stop that is graceful
 * first and certain after. Signals go to the whole group, so nothing the program started
 * itself outlives it. Every instance is remembered in `ServiceProcess.all`, and whatever
 * still runs when this process exits is killed.
 */
export class ServiceProcess {
  static readonly all = new Set<ServiceProcess>();

  readonly child: ChildProcess;
  /** Resolves once the process has gone and its output is drained; never rejects. */
  readonly exited: Promise<ProcessExit>;
  private exit: ProcessExit | undefined;
  private readonly kept: string[] = [];
  private readonly log: WriteStream | undefined;
  private readonly lineListeners = new Set<(line: string) => void>();
  private listening: string | undefined;

  constructor(readonly options: ServiceProcessOptions) {
    const ipc = options.stopWithParent ? ['ipc'] : [];
    const stdio = [
      'ignore',
      ...(options.inheritOutput ? ['inherit', 'inherit'] : ['pipe', 'pipe']),
      ...ipc,
    ] as StdioOptions;
    const [command, ...prefix] = [...(options.wrap ?? []), process.execPath];
    this.child = spawn(
      command ?? process.execPath,
      [
        ...prefix,
        ...(options.stopWithParent ? ['--require', LIFELINE] : []),
        ...(options.nodeArgs ?? []),
        options.script,
        ...(options.args ?? []),
      ],
      { cwd: options.cwd, env: options.env, stdio, detached: true },
    );
    ServiceProcess.all.add(this);
    this.log = options.logFile ? createWriteStream(options.logFile, { flags: 'a' }) : undefined;
    this.child.once('exit', (code, signal) => {
      this.exit ??= { code, signal };
    });
    this.exited = new Promise((resolve) => {
      let finished = false;
      const finish = (exit: ProcessExit) => {
        if (finished) return;
        finished = true;
        ServiceProcess.all.delete(this);
        // The log file is complete by the time anyone hears of the exit.
        if (this.log) this.log.end(() => resolve(exit));
        else resolve(exit);
      };
      // 'close' comes after 'exit' once the output is drained, so no last line is lost.
      this.child.once('close', (code, signal) => finish((this.exit ??= { code, signal })));
      // A spawn failure still counts as an exit.
      this.child.once('error', (error) => {
        this.remember(`could not start: ${error.message}`);
        finish((this.exit ??= { code: 1, signal: null }));
      });
    });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      if (stream)
        createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) =>
          this.remember(line),
        );
    }
    // The channel only exists so the child can notice this process going away.
    this.child.channel?.unref();
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

  /** The output lines kept so far (at least the last `keepLines`). */
  get lines(): readonly string[] {
    return this.kept;
  }

  get output(): string {
    return this.kept.join('\n');
  }

  lastLines(count = 15): string[] {
    return this.kept.slice(-count);
  }

  /** Resolves with the URL of its `<app> listening on <url>` line; fails if it exits first. */
  waitForListening(timeoutMs = 20_000): Promise<string> {
    if (this.listening) return Promise.resolve(this.listening);
    return new Promise((resolve, reject) => {
      const finish = (outcome: () => void) => {
        clearTimeout(timer);
        this.lineListeners.delete(onLine);
        outcome();
      };
      const onLine = () => {
        const url = this.listening;
        if (url) finish(() => resolve(url));
      };
      const lastLines = () => this.lastLines().join('\n');
      const timer = setTimeout(
        () =>
          finish(() =>
            reject(
              new Error(
                `${this.options.label} did not say it was listening within ${timeoutMs} ms:\n${lastLines()}`,
              ),
            ),
          ),
        timeoutMs,
      );
      this.lineListeners.add(onLine);
      void this.exited.then((exit) =>
        finish(() =>
          reject(
            new Error(
              `${this.options.label} exited before listening (${describeExit(exit)}):\n${lastLines()}`,
            ),
          ),
        ),
      );
    });
  }

  /** Sends `signal` to its process group (to it alone if the group is gone), while it runs. */
  signal(signal: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (!this.running || pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      try {
        this.child.kill(signal);
      } catch {
        // Already gone.
      }
    }
  }

  /** Sends `signal` (SIGKILL unless told) and waits until the process is gone. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<ProcessExit> {
    this.signal(signal);
    return this.exited;
  }

  /** SIGTERM, then SIGKILL if it has not gone after `graceMs`. */
  async stop(graceMs = 5_000): Promise<ProcessExit> {
    if (!this.running) return this.exited;
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  /** SIGKILLs every process started through this class that still runs, and waits for them. */
  static async killAll(): Promise<void> {
    await Promise.all([...ServiceProcess.all].map((service) => service.kill('SIGKILL')));
  }

  private remember(line: string): void {
    this.kept.push(line);
    // Trimmed in batches, so a chatty process does not pay a copy per line.
    const keep = this.options.keepLines ?? 5_000;
    if (this.kept.length > keep + 1_000) this.kept.splice(0, this.kept.length - keep);
    this.log?.write(`${line}\n`);
    this.listening ??= listeningUrlIn(line);
    this.options.onLine?.(line);
    for (const listener of this.lineListeners) listener(line);
  }
}

// Whatever happens to this process, no child started through the kit outlives it.
process.once('exit', () => {
  for (const service of ServiceProcess.all) service.signal('SIGKILL');
});

/**
 * Whether a process with this PID runs: it exists and is not a zombie (one that has exited but
 * that its parent, or an init that may never do it, has not reaped yet).
 */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
