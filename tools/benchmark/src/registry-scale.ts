import { connect, type Socket } from 'node:net';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
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
  /** Heartbeats alone that were due after the first two periods (the registrations' burst is over). */
  steadyLatency: LatencySummary;
  /** The worst latency (ms) of the messages due in each second of the run, in order. */
  worstBySecond: number[];
  /** The generator's own CPU time over the run, in seconds (it shares the machine with the server). */
  generatorCpuSeconds: number;
  /**
   * The generator's event-loop delay, p99 and max (ms): an answer read this late was timed this
   * late, so this bounds how much of the measured latency can be queueing in the generator itself.
   */
  generatorLoopDelay: { p99Ms: number; maxMs: number };
}

/**
 * Heartbeats of every id once per `periodMs`, spread evenly over the period (id i at
 * offset i·period/n), as real instances with their own timers would send them. Latency is
 * measured from when a heartbeat was due, so a generator or registry that falls behind shows
 * up as latency instead of hiding as a lower rate (no coordinated omission).
 *
 * The generator writes pipelined HTTP/1.1 requests from prebuilt buffers on plain keep-alive
 * sockets and reads only the status line, Content-Length and (for registrations) the body:
 * a promise-per-request client costs tens of microseconds a message, and at 10,000 messages a
 * second on a machine whose other core runs the registry that alone kept the generator at
 * 1,000–2,000 a second. Each instance keeps to one connection, so its messages stay in order.
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
  const target = new URL(input.url);
  const port = Number(target.port);
  const head = (path: string, body: Buffer) =>
    Buffer.from(
      `POST ${path} HTTP/1.1\r\nHost: ${target.host}\r\nAuthorization: Bearer ${input.token}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
      'latin1',
    );
  const request = (path: string, json: string) => {
    const body = Buffer.from(json);
    return Buffer.concat([head(path, body), body]);
  };
  const latencies: number[] = [];
  const steadyLatencies: number[] = [];
  const worstBySecond: number[] = [];
  const statusCounts: Record<string, number> = {};
  let errors = 0;
  let sent = 0;
  let answered = 0;
  let maxBacklog = 0;
  let registrations = 0;
  let dropped = 0;
  const count = input.instances.length;
  const total = Math.floor((input.durationSeconds * 1000 * count) / input.periodMs);
  const spacingMs = input.periodMs / count;
  const registrationRequests = input.instances.map((instance) =>
    request('/register', JSON.stringify(instance)),
  );
  /** An instance's prebuilt heartbeat once it is registered. */
  const heartbeatRequests: (Buffer | undefined)[] = new Array(count);
  /** An instance whose registration is in flight: the due times of heartbeats waiting for it. */
  const waiting: (number[] | undefined)[] = new Array(count);

  interface Pending {
    index: number;
    dueAt: number;
    registration: boolean;
  }
  interface Connection {
    socket: Socket;
    /** Closed or failed: what is still written to it can never be answered. */
    lost: boolean;
    pending: Pending[];
    /** Index of the oldest unanswered request in `pending` (a queue without shifting). */
    head: number;
    buffered: Buffer | undefined;
  }
  let finish: () => void = () => undefined;
  let startedAt = 0;
  let steadyFrom = 0;
  const connections: Connection[] = [];

  const settled = () => {
    if (sent >= total && answered + errors >= sent) finish();
  };
  const write = (connection: Connection, index: number, dueAt: number) => {
    const heartbeat = heartbeatRequests[index];
    if (!heartbeat && waiting[index]) {
      // Its registration has not been answered yet: the heartbeat goes out when it is,
      // still timed from now.
      waiting[index].push(dueAt);
      return;
    }
    if (connection.lost) {
      errors += 1;
      return;
    }
    if (!heartbeat) waiting[index] = [];
    connection.pending.push({ index, dueAt, registration: !heartbeat });
    connection.socket.write(heartbeat ?? (registrationRequests[index] as Buffer));
  };
  const answer = (connection: Connection, status: number, body: Buffer) => {
    const pending = connection.pending[connection.head] as Pending;
    connection.head += 1;
    if (connection.head > 1024 && connection.head * 2 > connection.pending.length) {
      connection.pending = connection.pending.slice(connection.head);
      connection.head = 0;
    }
    answered += 1;
    const latency = performance.now() - pending.dueAt;
    latencies.push(latency);
    const second = Math.floor((pending.dueAt - startedAt) / 1000);
    worstBySecond[second] = Math.max(worstBySecond[second] ?? 0, latency);
    if (!pending.registration && pending.dueAt >= steadyFrom) steadyLatencies.push(latency);
    const { index } = pending;
    if (pending.registration) {
      registrations += 1;
      const later = waiting[index] ?? [];
      waiting[index] = undefined;
      try {
        const registered = JSON.parse(body.toString('utf8')) as { id?: string };
        if (registered.id)
          heartbeatRequests[index] = request('/heartbeat', JSON.stringify({ id: registered.id }));
      } catch {
        // Not JSON: the instance is not registered, so its next message registers again.
      }
      for (const dueAt of later) write(connection, index, dueAt);
      return;
    }
    statusCounts[status] = (statusCounts[status] ?? 0) + 1;
    if (status === 404) {
      dropped += 1;
      heartbeatRequests[index] = undefined;
    }
  };
  /** Reads every complete response in the buffer; keeps a partial one for the next chunk. */
  const parse = (connection: Connection, chunk: Buffer) => {
    let data = connection.buffered ? Buffer.concat([connection.buffered, chunk]) : chunk;
    let offset = 0;
    for (;;) {
      const end = data.indexOf('\r\n\r\n', offset, 'latin1');
      if (end < 0) break;
      const headers = data.toString('latin1', offset, end);
      const status = Number(headers.slice(9, 12));
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(headers);
      if (/\r\ntransfer-encoding:/i.test(headers)) {
        // A chunked body this reader does not decode: the rest of the connection is unreadable,
        // so everything still unanswered on it counts as an error.
        connection.socket.destroy();
        return;
      }
      const bodyStart = end + 4;
      const bodyEnd = bodyStart + (length ? Number(length[1]) : 0);
      if (bodyEnd > data.length) break;
      answer(connection, status, data.subarray(bodyStart, bodyEnd));
      offset = bodyEnd;
    }
    data = data.subarray(offset);
    connection.buffered = data.length > 0 ? Buffer.from(data) : undefined;
    settled();
  };

  for (let number = 0; number < input.connections; number += 1) {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const opened = connect({ host: target.hostname, port, noDelay: true }, () => resolve(opened));
      opened.once('error', reject);
    });
    const connection: Connection = { socket, lost: false, pending: [], head: 0, buffered: undefined };
    socket.on('data', (chunk: Buffer) => parse(connection, chunk));
    const lost = () => {
      connection.lost = true;
      // Requests written but never answered on a connection that broke are errors.
      errors += connection.pending.length - connection.head;
      connection.head = connection.pending.length;
      settled();
    };
    socket.on('error', lost);
    socket.on('close', lost);
    connections.push(connection);
  }

  const loopDelayResolutionMs = 5;
  const loopDelay = monitorEventLoopDelay({ resolution: loopDelayResolutionMs });
  loopDelay.enable();
  const cpuBefore = process.cpuUsage();
  startedAt = performance.now();
  steadyFrom = startedAt + 2 * input.periodMs;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor((performance.now() - startedAt) / spacingMs) + 1);
      maxBacklog = Math.max(maxBacklog, due - sent);
      for (const connection of connections) connection.socket.cork();
      while (sent < due) {
        const index = sent % count;
        write(
          connections[index % connections.length] as Connection,
          index,
          startedAt + sent * spacingMs,
        );
        sent += 1;
      }
      // One write system call per connection per tick instead of one per message.
      for (const connection of connections) connection.socket.uncork();
      if (sent >= total) return resolve();
      setTimeout(tick, 2);
    };
    tick();
  });
  settled();
  // A server that stops answering must not hold the benchmark (and the machine's bench lock)
  // for ever: what is unanswered a minute after the schedule ended counts as errors.
  const gaveUp = setTimeout(() => {
    for (const connection of connections) {
      errors += connection.pending.length - connection.head;
      connection.head = connection.pending.length;
      connection.lost = true;
      connection.socket.destroy();
    }
    finish();
  }, 60_000);
  await done;
  clearTimeout(gaveUp);
  const durationSeconds = (performance.now() - startedAt) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  loopDelay.disable();
  for (const connection of connections) {
    connection.socket.removeAllListeners('close');
    connection.socket.destroy();
  }
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
    steadyLatency: summarizeLatencies(Float64Array.from(steadyLatencies).sort()),
    durationSeconds,
    maxBacklog,
    worstBySecond: Array.from(worstBySecond, (worst) => worst ?? 0),
    generatorCpuSeconds: (cpu.user + cpu.system) / 1e6,
    generatorLoopDelay: {
      // The histogram holds whole intervals (the resolution plus the delay).
      p99Ms: Math.max(0, loopDelay.percentile(99) / 1e6 - loopDelayResolutionMs),
      maxMs: Math.max(0, loopDelay.max / 1e6 - loopDelayResolutionMs),
    },
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
