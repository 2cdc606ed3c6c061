/**
 * What a service answers while its database cannot be reached: 503 with this message (the
 * service-kit error handler answers any error whose statusCode is 503 with its message).
 * Nothing the request asked for can be assumed done or not done, so the client retries
 * (with the same Idempotency-Key where the route takes one).
 */
export class StorageUnavailableError extends Error {
  readonly statusCode = 503;
  readonly code = 'STORAGE_UNAVAILABLE';

  constructor(
    message = 'The database is unreachable right now; retry in a moment.',
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StorageUnavailableError';
  }
}

/** Node socket errors that mean the server cannot be reached or the connection broke. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs that say the server is going away, starting, overloaded or gave up waiting, never
 * that the request itself was wrong: 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03
 * cannot_connect_now (starting up, recovering), 53300 too_many_connections, 55P03
 * lock_not_available (lock_timeout), 57014 query_canceled (statement_timeout), 25P03
 * idle_in_transaction_session_timeout, 58030 io_error, 53100 disk_full. Class 08 (connection
 * exception) is matched by its prefix.
 */
const UNAVAILABLE_SQLSTATES = new Set([
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '53100',
  '55P03',
  '57014',
  '25P03',
  '58030',
]);

/** node-postgres and pg-pool report these without a code. */
const CONNECTION_MESSAGES = [
  'timeout exceeded when trying to connect',
  'Connection terminated',
  'Query read timeout',
  'is not queryable',
  'Client was closed and is not queryable',
  'Cannot use a pool after calling end on the pool',
];

/** Transaction conflicts PostgreSQL rolled back whole: safe to run the transaction again. */
const RETRYABLE_SQLSTATES = new Set(['40001', '40P01']);

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** True when the error means "the database cannot be used right now", whatever the request. */
export function isUnavailable(error: unknown): boolean {
  if (error instanceof StorageUnavailableError) return true;
  if (error instanceof AggregateError) return error.errors.some(isUnavailable);
  const code = codeOf(error);
  if (code !== undefined) {
    if (SOCKET_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08'))
      return true;
  }
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' && CONNECTION_MESSAGES.some((text) => message.includes(text));
}

/** A serialization failure or deadlock: the transaction was rolled back and may be retried. */
export function isRetryableConflict(error: unknown): boolean {
  const code = codeOf(error);
  return code !== undefined && RETRYABLE_SQLSTATES.has(code);
}

/** Unavailability becomes StorageUnavailableError; everything else is passed through unchanged. */
export function toStorageError(error: unknown): unknown {
  if (error instanceof StorageUnavailableError) return error;
  if (isUnavailable(error)) return new StorageUnavailableError(undefined, { cause: error });
  return error;
}
