import Fastify, { LogController, type FastifyServerOptions } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { installErrorHandlers, type ErrorMapper } from './errors';

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
    // Request lines would dominate the logs under load; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
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
    return503OnClosing: true,
    ...options.fastify,
  }).withTypeProvider<TypeBoxTypeProvider>();
  // Every service speaks JSON only: any other body is 415, not a string that fails validation.
  app.removeContentTypeParser('text/plain');
  installErrorHandlers(app, options.mapError);
  return app;
}

export type AppInstance = ReturnType<typeof createServer>;
