import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';

export interface ServiceProcessOptions {
  /** Shown in messages: "dcu", "fastify-hello". */
  label: string;
  script: string;
  env: Record<string, string>;
  cwd: string;
  nodeArgs?: string[];
  /** Each output line, for whoever wants to watch (e.g. the registration wait). */
  onLine?: (line: string) => void;
}

/** `registry listening on http://127.0.0.1:41234` -> the URL. */
export function listeningUrlIn(line: string): string | undefined {
  return /\blistening on (https?:\/\/\S+)/.exec(line)?.[1];
}

/**
 * One service as a real process: `node <script>`, its output kept (the last lines, for error
 * messages), its URL read from its `<app> listening on <url>` line, and a stop that is
 * graceful first (so --cpu-prof can write its profile) and certain after.
 */
export class ServiceProcess {
  readonly child: ChildProcess;
  readonly url: Promise<string>;
  private readonly tail: string[] = [];
  private exitCode: number | null | undefined;
  private readonly exited: Promise<void>;

  constructor(readonly options: ServiceProcessOptions) {
    this.child = spawn(process.execPath, [...(options.nodeArgs ?? []), options.script], {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code) => {
        this.exitCode = code;
        resolve();
      });
      this.child.once('error', (error) => {
        this.remember(`could not start: ${error.message}`);
        this.exitCode = 1;
        resolve();
      });
    });
    let announce: (url: string) => void = () => undefined;
    this.url = new Promise((resolve) => (announce = resolve));
    for (const stream of [this.child.stdout, this.child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
        this.remember(line);
        const url = listeningUrlIn(line);
        if (url) announce(url);
      });
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  lastLines(count = 15): string {
    return this.tail.slice(-count).join('\n');
  }

  /** The URL of its "listening on" line; fails if it exits first or takes too long. */
  async waitForUrl(timeoutMs = 20_000): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    const failure = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `${this.options.label} did not say it was listening within ${timeoutMs} ms:\n${this.lastLines()}`,
            ),
          ),
        timeoutMs,
      );
      void this.exited.then(() =>
        reject(
          new Error(
            `${this.options.label} exited (code ${this.exitCode}) before listening:\n${this.lastLines()}`,
          ),
        ),
      );
    });
    try {
      return await Promise.race([this.url, failure]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resident set size now, from /proc/<pid>/status (Linux); undefined once it has gone. */
  rssBytes(): number | undefined {
    return this.pid === undefined || !this.running ? undefined : readRssBytes(this.pid);
  }

  /** CPU seconds (user + system) used so far, from /proc/<pid>/stat (Linux). */
  cpuSeconds(): number | undefined {
    return this.pid === undefined || !this.running ? undefined : readCpuSeconds(this.pid);
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Synchronous last resort for process 'exit': no child outlives the benchmark. */
  kill(): void {
    if (this.running) this.child.kill('SIGKILL');
  }

  private remember(line: string): void {
    this.tail.push(line);
    if (this.tail.length > 100) this.tail.shift();
    this.options.onLine?.(line);
  }
}

export function readRssBytes(pid: number): number | undefined {
  try {
    return parseVmRss(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** `VmRSS:	  51234 kB` -> bytes. */
export function parseVmRss(status: string): number | undefined {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return match ? Number(match[1]) * 1024 : undefined;
}

/** Linux reports utime and stime in clock ticks, 100 per second on every common kernel build. */
const CLOCK_TICKS_PER_SECOND = 100;

export function readCpuSeconds(pid: number): number | undefined {
  try {
    return parseCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Fields 14 and 15 of /proc/<pid>/stat, counted after the parenthesised command name. */
export function parseCpuSeconds(stat: string): number | undefined {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return (utime + stime) / CLOCK_TICKS_PER_SECOND;
}

/** CPU seconds every core of the machine has spent busy since boot, from /proc/stat. */
export function readMachineBusySeconds(): number | undefined {
  try {
    return parseMachineBusySeconds(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return undefined;
  }
}

/** The `cpu` line of /proc/stat: everything but idle and iowait counts as busy (guest time is already in user). */
export function parseMachineBusySeconds(stat: string): number | undefined {
  const line = /^cpu\s+(.*)$/m.exec(stat)?.[1];
  if (!line) return undefined;
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line
    .trim()
    .split(/\s+/)
    .map(Number);
  return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS_PER_SECOND;
}

/**
 * Once a second: the service's RSS, the CPU the watched services used and the CPU everything
 * else on the machine used (busy time less ours), each over the second since the last call.
 */
export function gaugeSampler(services: ServiceProcess[], main: ServiceProcess | undefined) {
  const servicesCpu = () => services.reduce((sum, service) => sum + (service.cpuSeconds() ?? 0), 0);
  const ownCpu = () => {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1e6;
  };
  let last = {
    at: performance.now(),
    machine: readMachineBusySeconds(),
    services: servicesCpu(),
    own: ownCpu(),
  };
  return () => {
    const now = {
      at: performance.now(),
      machine: readMachineBusySeconds(),
      services: servicesCpu(),
      own: ownCpu(),
    };
    const seconds = (now.at - last.at) / 1000;
    const serviceCores = (now.services - last.services) / seconds;
    const gauges: { rssBytes?: number; serviceCores?: number; otherCores?: number } = {
      serviceCores,
    };
    if (now.machine !== undefined && last.machine !== undefined) {
      const otherSeconds =
        now.machine - last.machine - (now.services - last.services) - (now.own - last.own);
      gauges.otherCores = Math.max(0, otherSeconds / seconds);
    }
    const rss = main?.rssBytes();
    if (rss !== undefined) gauges.rssBytes = rss;
    last = now;
    return gauges;
  };
}
