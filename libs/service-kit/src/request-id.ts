import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyBaseLogger, FastifyContextConfig, FastifyReply, FastifyRequest } from 'fastify';

export const REQUEST_ID_HEADER = 'x-request-id';

/** The field that carries the request id in every log line about a request. */
export const REQUEST_ID_LOG_FIELD = 'requestId';

// 1 to 128 printable ASCII characters (API.md): anything else could forge log lines or grow
// them without bound, so it is replaced rather than trusted.
const ACCEPTABLE_REQUEST_ID = /^[\x20-\x7e]{1,128}$/;

// Fresh ids: this process's random prefix and a counter, in the shape of a UUID. As unique as
// random UUIDs for our purpose (74 random bits of prefix per process), and far cheaper: a
// random UUID per request was a visible share of a DCU read's CPU.
const FRESH_ID_PREFIX = randomUUID().slice(0, 24);
let freshIds = 0;

/** A new request id, unique within this process and, by its random prefix, across processes. */
export function freshRequestId(): string {
  freshIds = (freshIds + 1) % 2 ** 48;
  return FRESH_ID_PREFIX + freshIds.toString(16).padStart(12, '0');
}

/** The caller's request id when acceptable, else a fresh one (Fastify's `genReqId`). */
export function requestIdOf(request: IncomingMessage): string {
  const given = request.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && ACCEPTABLE_REQUEST_ID.test(given) ? given : freshRequestId();
}

/** Every answer says which request it answers (`x-request-id`); called by `createServer`'s onRequest hook. */
export function tagAnswer(request: FastifyRequest, reply: FastifyReply): void {
  void reply.header(REQUEST_ID_HEADER, request.id);
}

/**
 * Each answered request leaves one "answered" line: at info when it was refused (4xx), at debug
 * otherwise, so a service under load does not write a line per success (LOG_LEVEL=debug shows
 * them all), while every problem shows at the default level. A 5xx is logged in full by the
 * error handler. A route opts out with `config: { quietLog: true }` (the registry's heartbeats).
 * Called by `createServer`'s onResponse hook with the request's route options.
 */
export function logAnswer(
  request: FastifyRequest,
  reply: FastifyReply,
  route: { url?: string | undefined; config?: FastifyContextConfig | undefined },
): void {
  const level = reply.statusCode >= 400 && reply.statusCode < 500 ? 'info' : 'debug';
  if (isLevelEnabled(request.log, level) && route.config?.quietLog !== true) {
    request.log[level](
      {
        method: request.method,
        route: route.url ?? 'unmatched',
        statusCode: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 10) / 10,
      },
      'answered',
    );
  }
}

/** Whether the logger writes at `level` (pino says; any other logger is asked to log). */
function isLevelEnabled(log: FastifyBaseLogger, level: 'info' | 'debug'): boolean {
  const asked = (log as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled;
  return typeof asked === 'function' ? asked.call(log, level) : true;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Leave this route's answers out of the "answered" log lines (frequent and routine). */
    quietLog?: boolean;
  }
}
