import type { FastifyError, FastifyInstance } from 'fastify';
import { STATUS_CODES } from 'node:http';
import { TEXT_PATTERN } from '@grantline/contracts';

/** An error whose message is meant for the client, with the status that goes with it. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export function errorBody(statusCode: number, message: string, code?: string) {
  return {
    statusCode,
    error: STATUS_CODES[statusCode] ?? 'Error',
    message,
    ...(code === undefined ? {} : { code }),
  };
}

/** Turns a service's own domain errors into HttpErrors; undefined leaves the error as it is. */
export type ErrorMapper = (error: unknown) => HttpError | undefined;

/**
 * One error handler for every service: client errors keep their message, server errors are
 * logged in full and answered without internals.
 */
export function installErrorHandlers(app: FastifyInstance, mapError?: ErrorMapper): void {
  app.setErrorHandler((thrown: FastifyError, request, reply) => {
    const error: FastifyError = (mapError?.(thrown) as FastifyError | undefined) ?? thrown;
    const statusCode =
      typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 600
        ? error.statusCode
        : 500;
    if (statusCode >= 500) {
      request.log.error({ err: error }, 'request failed');
      // An HttpError's message is written for the client (say, "the DCU failed; retry with the
      // same key"); any other 5xx may carry internals.
      const message =
        statusCode === 503 || error instanceof HttpError
          ? error.message
          : 'Internal error; the failure has been logged.';
      return reply.status(statusCode).send(errorBody(statusCode, message));
    }
    const message = error.validation ? validationMessage(error) : error.message;
    return reply.status(statusCode).send(errorBody(statusCode, message, error.code));
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .send(errorBody(404, `No route for ${request.method} ${request.url.split('?')[0]}`)),
  );
}

/** Fastify's validation message, naming the field Ajv leaves out for unknown properties. */
function validationMessage(error: FastifyError): string {
  const context = error.validationContext ?? 'request';
  const first = error.validation?.[0];
  const unknown = (first?.params as { additionalProperty?: unknown } | undefined)
    ?.additionalProperty;
  if (first?.keyword === 'additionalProperties' && typeof unknown === 'string') {
    const where = first.instancePath
      ? `${context}${first.instancePath.replace(/\//g, '.')}`
      : context;
    return `${where} must not have the property ${JSON.stringify(unknown)}`;
  }
  if (
    first?.keyword === 'pattern' &&
    (first.params as { pattern?: unknown }).pattern === TEXT_PATTERN
  ) {
    return `${context}${first.instancePath.replace(/\//g, '.')} must not contain the NUL character (\\u0000)`;
  }
  return `${context}${error.message.replace(/^(body|params|querystring|headers)/, '')}`;
}
