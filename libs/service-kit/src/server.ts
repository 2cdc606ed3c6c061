import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { DRAINING_HEADER } from '@grantline/contracts';
import { installErrorHandlers, type ErrorMapper } from './errors';
import { installMetrics } from './metrics';
import { logAnswer, REQUEST_ID_LOG_FIELD, requestIdOf, tagAnswer } from './request-id';
import { deferredChildLogger } from './request-logger';

export interface ServerOptions {
  logLevel?: string;
  /** Pretty logs for people; JSON otherwise. Defaults to "stdout is a terminal". */
  prettyLogs?: boolean;
  /** Maps the service's domain errors (e.g. a refused withdrawal) to HTTP answers. */
  mapError?: ErrorMapper;
  /** Extra Fastify options (tests pass `logger: false`). */
  fastify?: FastifyServerOptions;
}

/**
 * A Fastify instance configured the same way in every service: strict validation (no type
 * coercion, unknown properties rejected rather than silently dropped), JSON errors, request
 * ids in logs, and the TypeBox type provider.
 */
export function createServer(options: ServerOptions = {}) {
  const pretty = options.prettyLogs ?? process.stdout.isTTY === true;
  const app = Fastify({
    logger: {
      level: options.logLevel ?? 'info',
      ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l' } } } : {}),
    },
    // Fastify's two lines per request would dominate the logs under load; one "answered"
    // line per request is written instead (see request-id.ts), and errors are still logged.
    logController: new LogController({
      disableRequestLogging: true,
      requestIdLogLabel: REQUEST_ID_LOG_FIELD,
    }),
    // pino's child logger with the request id is made only when the request writes a line.
    childLoggerFactory: deferredChildLogger,
    // The id comes from x-request-id only when acceptable, so the header is read here.
    requestIdHeader: false,
    genReqId: requestIdOf,
    bodyLimit: 64 * 1024,
    ajv: {
      customOptions: {
        coerceTypes: false,
        removeAdditional: false,
        useDefaults: true,
        allErrors: false,
      },
    },
    forceCloseConnections: 'idle',
    // Replaced by the draining answer below, which says so in a header.
    return503OnClosing: false,
    ...options.fastify,
  }).withTypeProvider<TypeBoxTypeProvider>();
  // Every service speaks JSON only: any other body is 415, not a string that fails validation.
  app.removeContentTypeParser('text/plain');
  installErrorHandlers(app, options.mapError);
  const countAnswer = installMetrics(app as unknown as FastifyInstance);
  const draining = answerDrainingWhileClosing(app as unknown as FastifyInstance);
  // One hook at each end of a request for every job the kit does there (request id, draining;
  // the "answered" line, metrics): every request runs them, and a turn of Fastify's hook runner
  // per job showed in the profile of a DCU read. Callback hooks, not async ones: no promise each.
  app.addHook('onRequest', (request, reply, done) => {
    tagAnswer(request, reply);
    if (draining.now) return draining.answer(reply);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions; // Fastify builds this object on every access: read once
    logAnswer(request, reply, route);
    // Requests that matched no route share one series, whatever their URL.
    countAnswer(request, reply, route.url ?? 'unmatched');
    done();
  });
  return app;
}

export type AppInstance = ReturnType<typeof createServer>;

/**
 * While the server closes, a request that still arrives (on a kept-alive connection) gets 503
 * with the DRAINING_HEADER before any handler runs: the caller knows nothing was done and may
 * ask another instance, without reading our error text. (`createServer`'s onRequest hook asks.)
 */
function answerDrainingWhileClosing(app: FastifyInstance) {
  const draining = {
    now: false,
    answer(reply: FastifyReply): void {
      void reply
        .code(503)
        .header(DRAINING_HEADER, 'true')
        .header('connection', 'close')
        .send({ statusCode: 503, error: 'Service Unavailable', message: 'This instance is shutting down; ask another one.' });
    },
  };
  app.addHook('preClose', async () => {
    draining.now = true;
  });
  return draining;
}
