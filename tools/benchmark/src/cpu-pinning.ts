import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

export interface CpuPinning {
  /** CPUs of the benchmark process (the load generator), as taskset writes them: "0". */
  loadGenerator: string;
  /** CPUs of every server under test: "1" or "1-3". */
  servers: string;
}

/**
 * Keeps the load generator and the servers on different CPUs. Left to the scheduler, on two
 * cores they share one core part of the time, and the same scenario measured 12k or 24k req/s
 * from one second to the next. Needs Linux's `taskset` and two CPUs; otherwise undefined.
 */
export function pinCpus(): CpuPinning | undefined {
  const cpus = availableParallelism();
  if (process.platform !== 'linux' || cpus < 2) return undefined;
  const pinning = { loadGenerator: '0', servers: cpus === 2 ? '1' : `1-${cpus - 1}` };
  try {
    execFileSync('taskset', ['-pc', pinning.loadGenerator, String(process.pid)], {
      stdio: 'ignore',
    });
  } catch {
    return undefined;
  }
  return pinning;
}

/** The command that starts `node args...` on the servers' CPUs (or as it is, unpinned). */
export function pinnedCommand(pinning: CpuPinning | undefined, args: string[]): [string, string[]] {
  return pinning
    ? ['taskset', ['-c', pinning.servers, process.execPath, ...args]]
    : [process.execPath, args];
}
