import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';

export const REQUEST_ID_HEADER = 'x-request-id';

/** The field that carries the request id in every log line about a request. */
export const REQUEST_ID_LOG_FIELD = 'requestId';

// 1 to 128 printable ASCII characters (API.md): anything else could forge log lines or grow
// them without bound, so it is replaced rather than trusted.
const ACCEPTABLE_REQUEST_ID = /^[\x20-\x7e]{1,128}$/;

/** The caller's request id when acceptable, else a fresh one (Fastify's `genReqId`). */
export function requestIdOf(request: IncomingMessage): string {
  const given = request.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && ACCEPTABLE_REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * Every answer says which request it answers (`x-request-id`), and each answered request
 * leaves one "answered" line: at info when it was refused (4xx), at debug otherwise, so a
 * service under load does not write a line per success (LOG_LEVEL=debug shows them all),
 * while every problem shows at the default level. A 5xx is logged in full by the error
 * handler. A route opts out with `config: { quietLog: true }` (the registry's heartbeats).
 */
export function installRequestIds(app: FastifyInstance): void {
  // Callback hooks, not async ones: every request runs them, and a promise per hook per
  // request showed in the profile of a DCU read.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const level = reply.statusCode >= 400 && reply.statusCode < 500 ? 'info' : 'debug';
    if (isLevelEnabled(request.log, level) && request.routeOptions.config?.quietLog !== true) {
      request.log[level](
        {
          method: request.method,
          route: request.routeOptions.url ?? 'unmatched',
          statusCode: reply.statusCode,
          durationMs: Math.round(reply.elapsedTime * 10) / 10,
        },
        'answered',
      );
    }
    done();
  });
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
