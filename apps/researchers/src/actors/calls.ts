import {
  backoffDelay,
  NoInstanceError,
  UncertainOutcomeError,
  type CallRequest,
  type CallResponse,
  type RegistryClient,
} from '@grantline/registry-client';
import { isRetryableStatus } from '../domain/decisions';

export type CallOutcome<T> =
  | { ok: true; response: CallResponse<T> }
  | { ok: false; error: string; /** The request may have been applied. */ uncertain: boolean };

export interface RetryOptions {
  /** Further tries after the first. */
  retries: number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  signal?: AbortSignal;
}

/**
 * One call through the registry, tried again when that is safe: when no instance could be
 * reached (the request never got through), and for repeatable requests (GET, or with an
 * Idempotency-Key, reused on every try) also when the service answered 5xx. The registry
 * client already fails over between instances within one call; this adds patience across
 * short outages such as an instance restarting.
 */
export async function callWithRetries<T>(
  client: RegistryClient,
  type: string,
  request: CallRequest,
  options: RetryOptions,
): Promise<CallOutcome<T>> {
  const repeatable = request.method === 'GET' || request.idempotencyKey !== undefined;
  let lastError = 'not tried';
  let uncertain = false;
  for (let attempt = 0; attempt <= options.retries; attempt++) {
    if (attempt > 0) {
      if (options.signal?.aborted) break;
      await options.sleep(backoffDelay(attempt, 100, 1_000), options.signal);
    }
    try {
      const response = await client.call<T>(type, { timeoutMs: 5_000, ...request });
      if (repeatable && isRetryableStatus(response.statusCode) && attempt < options.retries) {
        lastError = `${type} answered ${response.statusCode}: ${messageOf(response.body)}`;
        uncertain = true;
        continue;
      }
      return { ok: true, response };
    } catch (error) {
      if (error instanceof UncertainOutcomeError)
        return { ok: false, error: error.message, uncertain: true };
      if (!(error instanceof NoInstanceError)) {
        return {
          ok: false,
          error: error instanceof Error ? error.message : String(error),
          uncertain: true,
        };
      }
      lastError = error.message;
      // A failed connection on a repeatable request may have reached the service.
      if (repeatable && error.lastError !== undefined) uncertain = true;
    }
  }
  return { ok: false, error: lastError, uncertain };
}

/** The message of a JSON error answer, or the body itself. */
export function messageOf(body: unknown): string {
  if (body && typeof body === 'object' && 'message' in body) return String(body.message);
  return typeof body === 'string' ? body : (JSON.stringify(body) ?? '(empty)');
}
