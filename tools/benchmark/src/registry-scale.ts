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
  /** The most messages one tick of the generator sent (those due since its previous tick, every 2 ms when on time). */
  maxBacklog: number;
  registrations: number;
  /** Heartbeats answered 404 (the registry had dropped the instance); it then registers again. */
  dropped: number;
  /**
   * Heartbeats alone that were due once every instance had registered and heartbeated for a
   * period: the registry holding all its instances, which is what the target is about.
   */
  steadyLatency: LatencySummary;
  /** Heartbeats answered per second in that steady window, counted over its real duration. */
  steadyPerSecond: number;
  /** The registrations alone, from when each was due. */
  registrationLatency: LatencySummary;
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
 * Instances that register one after another, evenly over `rampPeriods` periods, and from then
 * on heartbeat once per `periodMs`, each on its own timer started by its registration (so the
 * heartbeats of all of them are spread over the period as real instances' would be); then
 * `durationSeconds` more of heartbeats of every instance. The ramp is how a fleet comes up (a
 * fleet of 10,000 does not register within one second), and it is not what the steady figures
 * judge: they count the heartbeats due once every instance had registered and heartbeated for
 * a period. Latency is measured from when a message was due, so a generator or registry that
 * falls behind shows up as latency instead of hiding as a lower rate (no coordinated omission).
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
  /** Periods over which the instances register, one after another. */
  rampPeriods: number;
  /** The steady phase, every instance heartbeating, after the ramp and one more period. */
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
  const registrationLatencies: number[] = [];
  const worstBySecond: number[] = [];
  const statusCounts: Record<string, number> = {};
  let errors = 0;
  let sent = 0;
  let answered = 0;
  let maxBacklog = 0;
  let registrations = 0;
  let dropped = 0;
  const count = input.instances.length;
  const periodMs = input.periodMs;
  const rampPeriods = Math.max(1, Math.round(input.rampPeriods));
  const steadyPeriods = Math.max(1, Math.round((input.durationSeconds * 1000) / periodMs));
  const periods = rampPeriods + 1 + steadyPeriods;
  // Instance i registers at i·ramp/n: in period ⌊i·rampPeriods/n⌋, at its phase within a period,
  // which its heartbeats keep. Walking the instances in phase order, period by period, gives
  // every message in the order it is due without a priority queue.
  const registrationPeriod = new Int32Array(count);
  const phaseMs = new Float64Array(count);
  for (let index = 0; index < count; index += 1) {
    const periodsIn = (index * rampPeriods) / count;
    registrationPeriod[index] = Math.floor(periodsIn);
    phaseMs[index] = (periodsIn - Math.floor(periodsIn)) * periodMs;
  }
  const byPhase = Array.from({ length: count }, (_, index) => index).sort(
    (a, b) => (phaseMs[a] as number) - (phaseMs[b] as number),
  );
  // Messages in all: each instance registers once and heartbeats in every later period.
  let total = 0;
  for (let index = 0; index < count; index += 1)
    total += periods - (registrationPeriod[index] as number);
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
  let steadyAnswered = 0;
  let lastSteadyAnswerAt = 0;
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
    const now = performance.now();
    const latency = now - pending.dueAt;
    latencies.push(latency);
    const second = Math.floor((pending.dueAt - startedAt) / 1000);
    worstBySecond[second] = Math.max(worstBySecond[second] ?? 0, latency);
    if (pending.registration) registrationLatencies.push(latency);
    else if (pending.dueAt >= steadyFrom) {
      steadyLatencies.push(latency);
      steadyAnswered += 1;
      lastSteadyAnswerAt = now;
    }
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
  steadyFrom = startedAt + (rampPeriods + 1) * periodMs;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  await new Promise<void>((resolve) => {
    // The next message to consider: the instance at `cursor` in phase order, in `period`.
    let period = 0;
    let cursor = 0;
    const tick = () => {
      const now = performance.now();
      for (const connection of connections) connection.socket.cork();
      let lag = 0;
      while (period < periods) {
        const index = byPhase[cursor] as number;
        const dueAt = startedAt + period * periodMs + (phaseMs[index] as number);
        if (dueAt > now) break;
        // Before its registration's period an instance does not exist yet.
        if (period >= (registrationPeriod[index] as number)) {
          write(connections[index % connections.length] as Connection, index, dueAt);
          sent += 1;
          lag += 1;
        }
        cursor += 1;
        if (cursor === count) {
          cursor = 0;
          period += 1;
        }
      }
      maxBacklog = Math.max(maxBacklog, lag);
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
  const steadySeconds = Math.max(lastSteadyAnswerAt - steadyFrom, steadyPeriods * periodMs) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  loopDelay.disable();
  for (const connection of connections) {
    connection.socket.removeAllListeners('close');
    connection.socket.destroy();
  }
  return {
    achievedPerSecond: answered / durationSeconds,
    plannedPerSecond: (count * 1000) / periodMs,
    steadyPerSecond: steadyAnswered / steadySeconds,
    registrationLatency: summarizeLatencies(Float64Array.from(registrationLatencies).sort()),
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
