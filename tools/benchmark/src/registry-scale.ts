import { performance } from 'node:perf_hooks';
import { waitFor } from '@grantline/process-kit';
import { Pool } from 'undici';
import { summarizeLatencies, type LatencySummary } from './stats';

export interface PacedOutcome {
  /** Heartbeats answered per second, counted over the real elapsed time (not autocannon's). */
  achievedPerSecond: number;
  /** The rate the schedule asked for. */
  plannedPerSecond: number;
  sent: number;
  answered: number;
  statusCounts: Record<string, number>;
  errors: number;
  /** From the moment each heartbeat was due (not when it was sent) to its answer. */
  latency: LatencySummary;
  durationSeconds: number;
  /** The largest number of heartbeats of one id that were due but not yet sent (generator lag). */
  maxBacklog: number;
  registrations: number;
  /** Heartbeats answered 404 (the registry had dropped the instance); it then registers again. */
  dropped: number;
}

/**
 * Heartbeats of every id once per `periodMs`, spread evenly over the period (id i at
 * offset i·period/n), as real instances with their own timers would send them. Latency is
 * measured from when a heartbeat was due, so a generator or registry that falls behind shows
 * up as latency instead of hiding as a lower rate (no coordinated omission).
 */
export async function paceHeartbeats(input: {
  url: string;
  token: string;
  /** Each instance's registration body; its first message registers it, the rest heartbeat. */
  instances: { type: string; url: string }[];
  periodMs: number;
  durationSeconds: number;
  connections: number;
}): Promise<PacedOutcome> {
  const pool = new Pool(input.url, { connections: input.connections, pipelining: 8 });
  const latencies: number[] = [];
  const statusCounts: Record<string, number> = {};
  let errors = 0;
  let sent = 0;
  let answered = 0;
  let maxBacklog = 0;
  const count = input.instances.length;
  const total = Math.floor((input.durationSeconds * 1000 * count) / input.periodMs);
  const spacingMs = input.periodMs / count;
  const headers = { authorization: `Bearer ${input.token}`, 'content-type': 'application/json' };
  const registrationBodies = input.instances.map((instance) => JSON.stringify(instance));
  const heartbeatBodies: (string | undefined)[] = new Array(count);
  let registrations = 0;
  let dropped = 0;
  const inflight = new Set<Promise<void>>();
  const startedAt = performance.now();

  const send = (sequence: number) => {
    const dueAt = startedAt + sequence * spacingMs;
    const index = sequence % count;
    const heartbeat = heartbeatBodies[index];
    sent += 1;
    const request = pool
      .request({
        method: 'POST',
        path: heartbeat ? '/heartbeat' : '/register',
        headers,
        body: heartbeat ?? (registrationBodies[index] as string),
      })
      .then(async (response) => {
        answered += 1;
        latencies.push(performance.now() - dueAt);
        if (!heartbeat) {
          registrations += 1;
          const registered = (await response.body.json()) as { id?: string };
          if (registered.id) heartbeatBodies[index] = JSON.stringify({ id: registered.id });
          return;
        }
        await response.body.dump();
        statusCounts[response.statusCode] = (statusCounts[response.statusCode] ?? 0) + 1;
        if (response.statusCode === 404) {
          dropped += 1;
          heartbeatBodies[index] = undefined;
        }
      })
      .catch(() => {
        errors += 1;
      });
    inflight.add(request);
    void request.finally(() => inflight.delete(request));
  };

  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor((performance.now() - startedAt) / spacingMs) + 1);
      maxBacklog = Math.max(maxBacklog, due - sent);
      while (sent < due) send(sent);
      if (sent >= total) return resolve();
      setTimeout(tick, 2);
    };
    tick();
  });
  await Promise.all(inflight);
  const durationSeconds = (performance.now() - startedAt) / 1000;
  await pool.close();
  return {
    achievedPerSecond: answered / durationSeconds,
    plannedPerSecond: (count * 1000) / input.periodMs,
    registrations,
    dropped,
    sent,
    answered,
    statusCounts,
    errors,
    latency: summarizeLatencies(Float64Array.from(latencies).sort()),
    durationSeconds,
    maxBacklog,
  };
}

export interface FanOutOutcome {
  /** From the trigger to each waiting request's answer. */
  latency: LatencySummary;
  answered: number;
  failed: number;
  statusCounts: Record<string, number>;
}

/**
 * Opens `count` requests that the server holds (each on its own connection), waits until the
 * server says it holds them all, fires `trigger`, and times every answer from that moment.
 */
export async function fanOut(input: {
  url: string;
  path: string;
  count: number;
  /** How many requests the server holds right now. */
  held: () => Promise<number>;
  trigger: () => Promise<void>;
  timeoutMs: number;
}): Promise<FanOutOutcome> {
  const pool = new Pool(input.url, {
    connections: input.count,
    pipelining: 1,
    headersTimeout: input.timeoutMs,
    bodyTimeout: input.timeoutMs,
  });
  let triggeredAt = Number.NaN;
  const latencies: number[] = [];
  const statusCounts: Record<string, number> = {};
  let failed = 0;
  const requests = Array.from({ length: input.count }, () =>
    pool
      .request({ method: 'GET', path: input.path })
      .then(async (response) => {
        await response.body.dump();
        latencies.push(performance.now() - triggeredAt);
        statusCounts[response.statusCode] = (statusCounts[response.statusCode] ?? 0) + 1;
      })
      .catch(() => {
        failed += 1;
      }),
  );
  await waitFor(
    `the server to hold all ${input.count} requests`,
    async () => (await input.held()) >= input.count,
    input.timeoutMs,
    50,
  );
  triggeredAt = performance.now();
  await input.trigger();
  await Promise.all(requests);
  await pool.close();
  return {
    latency: summarizeLatencies(Float64Array.from(latencies).sort()),
    answered: latencies.length,
    failed,
    statusCounts,
  };
}

/** Peak RSS of a process (VmHWM), from /proc; undefined where there is no /proc. */
export async function peakRssBytes(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  try {
    const { readFile } = await import('node:fs/promises');
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
