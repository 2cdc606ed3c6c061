import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { NumberList, summarizeLatencies, type LatencySummary } from './stats';

export interface DurableWriteOutcome {
  /** Completed durable replacements per second. */
  writesPerSecond: number;
  writes: number;
  durationSeconds: number;
  bytesPerWrite: number;
  latency: LatencySummary;
}

/**
 * The physical reference for durable withdrawals: replace one small file durably, one
 * replacement after another — write a temp file, fsync it, rename it over the old one, fsync
 * the folder so the rename itself survives a crash. Nothing else runs meanwhile, so this is
 * the best a one-write-per-request design can do on this disk.
 */
export function measureDurableWrites(
  dir: string,
  durationSeconds: number,
  bytesPerWrite = 1024,
): DurableWriteOutcome {
  const probeDir = path.join(dir, 'disk-probe');
  mkdirSync(probeDir, { recursive: true });
  const target = path.join(probeDir, 'record.json');
  const temp = `${target}.tmp`;
  const payload = randomBytes(bytesPerWrite / 2).toString('hex');
  const latencies = new NumberList();
  const dirFd = openSync(probeDir, 'r');
  const started = performance.now();
  const deadline = started + durationSeconds * 1000;
  try {
    let now = started;
    while (now < deadline) {
      const fd = openSync(temp, 'w');
      try {
        writeSync(fd, payload);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(temp, target);
      fsyncSync(dirFd);
      const finished = performance.now();
      latencies.push(finished - now);
      now = finished;
    }
  } finally {
    closeSync(dirFd);
    rmSync(probeDir, { recursive: true, force: true });
  }
  const elapsedSeconds = (performance.now() - started) / 1000;
  return {
    writesPerSecond: latencies.length / elapsedSeconds,
    writes: latencies.length,
    durationSeconds: elapsedSeconds,
    bytesPerWrite,
    latency: summarizeLatencies(latencies.toArray()),
  };
}
