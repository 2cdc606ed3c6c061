import { OpenAccountResponse, type OpenAccountRequest } from '@grantline/contracts';
import {
  NoInstanceError,
  UncertainOutcomeError,
  type CallRequest,
  type CallResponse,
} from '@grantline/registry-client';
import { FormatRegistry } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/** What the agency needs of a registry client: a call to some live instance of a type. */
export interface ServiceCaller {
  call<T = unknown>(type: string, request: CallRequest): Promise<CallResponse<T>>;
}

export interface OpenAccountOptions {
  caller: ServiceCaller;
  serviceToken: string;
  /** Per attempt, per DCU instance. */
  timeoutMs?: number;
  /** Across every attempt. */
  deadlineMs?: number;
}

/** The ways opening an account can end, with what the route needs to answer and to log. */
export type OpenAccountOutcome =
  | { kind: 'opened'; accountId: string; ownerKey: string; dcuUrl: string }
  /** The DCU knows this proposalId with other terms. */
  | { kind: 'conflict'; dcuUrl: string }
  /** No DCU instance could be reached. */
  | { kind: 'unavailable'; detail: string }
  /** The DCU answered, or failed, in a way the agency cannot turn into an account. */
  | { kind: 'failed'; problem: DcuProblem; detail: Record<string, unknown> };

export type DcuProblem = 'refused-credentials' | 'error-status' | 'bad-answer' | 'uncertain' | 'transport';

// TypeBox checks formats only once they are registered; Fastify's own validator has its own.
if (!FormatRegistry.Has('uuid')) {
  FormatRegistry.Set('uuid', (value) =>
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value),
  );
}

/**
 * Asks some DCU instance to open the account of a proposal. The proposalId doubles as the
 * Idempotency-Key, so the registry client may safely try another instance when one fails,
 * and the DCU answers a repeat with the account it already opened.
 */
export async function openDcuAccount(
  account: OpenAccountRequest,
  options: OpenAccountOptions,
): Promise<OpenAccountOutcome> {
  let response: CallResponse;
  try {
    response = await options.caller.call('dcu', {
      method: 'POST',
      path: '/accounts',
      headers: { authorization: `Bearer ${options.serviceToken}` },
      // The client serializes the body and sets the JSON content type itself.
      body: account,
      idempotencyKey: account.proposalId,
      timeoutMs: options.timeoutMs ?? 5_000,
      deadlineMs: options.deadlineMs ?? 15_000,
    });
  } catch (error) {
    if (error instanceof NoInstanceError) return { kind: 'unavailable', detail: error.message };
    if (error instanceof UncertainOutcomeError) {
      return { kind: 'failed', problem: 'uncertain', detail: { instanceUrl: error.instanceUrl, err: error } };
    }
    return { kind: 'failed', problem: 'transport', detail: { err: error } };
  }

  const { statusCode, instanceUrl } = response;
  if (statusCode === 200 || statusCode === 201) {
    if (Value.Check(OpenAccountResponse, response.body)) {
      return {
        kind: 'opened',
        accountId: response.body.accountId,
        ownerKey: response.body.ownerKey,
        dcuUrl: instanceUrl,
      };
    }
    // Never log a success body: it may carry an owner key.
    const problems = [...Value.Errors(OpenAccountResponse, response.body)]
      .slice(0, 5)
      .map((error) => `${error.path || '(body)'}: ${error.message}`);
    return { kind: 'failed', problem: 'bad-answer', detail: { instanceUrl, statusCode, problems } };
  }
  if (statusCode === 409) return { kind: 'conflict', dcuUrl: instanceUrl };
  // The DCU says it cannot write right now and changed nothing: as good as unreachable.
  if (statusCode === 503) return { kind: 'unavailable', detail: `${instanceUrl} answered 503: ${truncate(response.body)}` };
  const detail = { instanceUrl, statusCode, body: truncate(response.body) };
  if (statusCode === 401 || statusCode === 403) return { kind: 'failed', problem: 'refused-credentials', detail };
  return { kind: 'failed', problem: 'error-status', detail };
}

function truncate(body: unknown): string {
  const text = typeof body === 'string' ? body : (JSON.stringify(body) ?? '');
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}
