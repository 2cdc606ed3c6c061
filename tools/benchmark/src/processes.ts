import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { ServiceProcess } from '@grantline/process-kit';

/** Resident set size now, from /proc/<pid>/status (Linux); undefined once it has gone. */
export function rssBytesOf(service: ServiceProcess): number | undefined {
  return service.pid === undefined || !service.running ? undefined : readRssBytes(service.pid);
}

/** CPU seconds (user + system) used so far, from /proc/<pid>/stat (Linux). */
export function cpuSecondsOf(service: ServiceProcess): number | undefined {
  return service.pid === undefined || !service.running ? undefined : readCpuSeconds(service.pid);
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

function readProcStat(): string | undefined {
  try {
    return readFileSync('/proc/stat', 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * The counters of the `cpu` line of /proc/stat (every core together), in clock ticks: user,
 * nice, system, idle, iowait, irq, softirq, steal, then guest time, which is already in user.
 */
function cpuLineCounters(stat: string): number[] | undefined {
  const line = /^cpu\s+(.*)$/m.exec(stat)?.[1];
  return line?.trim().split(/\s+/).slice(0, 8).map(Number);
}

/** CPU seconds every core of the machine has spent busy since boot, from /proc/stat. */
export function readMachineBusySeconds(): number | undefined {
  const stat = readProcStat();
  return stat === undefined ? undefined : parseMachineBusySeconds(stat);
}

/** Everything but idle and iowait counts as busy. */
export function parseMachineBusySeconds(stat: string): number | undefined {
  const counters = cpuLineCounters(stat);
  if (!counters) return undefined;
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = counters;
  return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS_PER_SECOND;
}

/** The machine's CPU time since boot, in clock ticks over every core: all of it, and what the host stole. */
export interface CpuTicks {
  total: number;
  steal: number;
}

export function readCpuTicks(): CpuTicks | undefined {
  const stat = readProcStat();
  return stat === undefined ? undefined : parseCpuTicks(stat);
}

/** The sum of the first eight counters, and steal, the eighth. */
export function parseCpuTicks(stat: string): CpuTicks | undefined {
  const counters = cpuLineCounters(stat);
  if (!counters || counters.length < 8 || counters.some((counter) => !Number.isFinite(counter)))
    return undefined;
  return { total: counters.reduce((sum, counter) => sum + counter, 0), steal: counters[7]! };
}

/**
 * The share of the machine's CPU time between two readings that the hypervisor gave to other
 * guests (steal): the cores were meant to be ours and were not. A busy host makes every figure
 * of the run lower, by an amount that differs from run to run.
 */
export function stolenShare(
  before: CpuTicks | undefined,
  after: CpuTicks | undefined,
): number | undefined {
  if (!before || !after || after.total <= before.total) return undefined;
  return (after.steal - before.steal) / (after.total - before.total);
}

/**
 * Starts measuring CPU steal; the function returned gives the share since then, as a result's
 * `stolenCpu` field (none where /proc/stat cannot be read).
 */
export function startStealMeter(): () => { stolenCpu?: number } {
  const before = readCpuTicks();
  return () => {
    const stolenCpu = stolenShare(before, readCpuTicks());
    return stolenCpu === undefined ? {} : { stolenCpu };
  };
}

/**
 * Once a second: the service's RSS, the CPU the watched services used and the CPU everything
 * else on the machine used (busy time less ours), each over the second since the last call.
 */
export function gaugeSampler(services: ServiceProcess[], main: ServiceProcess | undefined) {
  const servicesCpu = () =>
    services.reduce((sum, service) => sum + (cpuSecondsOf(service) ?? 0), 0);
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
    const rss = main ? rssBytesOf(main) : undefined;
    if (rss !== undefined) gauges.rssBytes = rss;
    last = now;
    return gauges;
  };
}
