import {
  answerChecker,
  ErrorResponse,
  OpenAccountResponse,
  type OpenAccountRequest,
} from '@grantline/contracts';
import {
  NoInstanceError,
  PeerAnswerError,
  UncertainOutcomeError,
  type CallRequest,
  type CallResponse,
  type HttpResponse,
} from '@grantline/registry-client';
import { accountIdFor } from '@grantline/service-kit';

/** What the agency needs of a registry client: a call to some live instance of a type. */
export interface ServiceCaller {
  call<T = unknown>(type: string, request: CallRequest): Promise<CallResponse<T>>;
}

export interface OpenAccountOptions {
  caller: ServiceCaller;
  serviceToken: string;
  /** Per attempt, per DCU instance, headers and body. Default: the registry client's (PEER_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Across every attempt. */
  deadlineMs?: number;
  /** The id of the proposal's request, passed on so the DCU's log lines carry it too. */
  requestId?: string;
}

/**
 * The ways opening an account can end, with what the route needs to answer and to log.
 * `mayHaveOpened` is false only when no DCU can have opened the account: nothing reached one,
 * or every one that answered refused or changed nothing (503). Only then may a reservation be
 * released at once; otherwise the agency finishes it.
 */
export type OpenAccountOutcome =
  | { kind: 'opened'; accountId: string; ownerKey: string; dcuUrl: string }
  /** The DCU knows this proposalId with other terms: this proposal's account does not exist. */
  | { kind: 'conflict'; dcuUrl: string }
  /** No DCU instance could be reached. */
  | { kind: 'unavailable'; detail: string; mayHaveOpened: boolean }
  /** The DCU answered, or failed, in a way the agency cannot turn into an account. */
  | { kind: 'failed'; problem: DcuProblem; detail: Record<string, unknown>; mayHaveOpened: boolean };

export type DcuProblem = 'refused-credentials' | 'error-status' | 'bad-answer' | 'uncertain' | 'transport';

const accountAnswer = answerChecker(OpenAccountResponse);
const errorAnswer = answerChecker(ErrorResponse);

/**
 * Why a DCU's answer to POST /accounts cannot be believed, or undefined. An account must be
 * the one derived from the proposal (a DCU that names another, or adds its own `dcuUrl`, is
 * lying); anything else must be the error shape. Never quotes the body: it may hold a key.
 */
export function dcuAnswerProblem(response: HttpResponse, expectedAccountId: string): string | undefined {
  if (response.statusCode === 200 || response.statusCode === 201) {
    const problems = accountAnswer.problems(response.body);
    if (problems !== undefined) return `not an account (${problems})`;
    if ((response.body as OpenAccountResponse).accountId.toLowerCase() !== expectedAccountId) {
      return 'an account other than the one derived from the proposal';
    }
    return undefined;
  }
  if (response.statusCode < 400) return `an unexpected status ${response.statusCode}`;
  const problems = errorAnswer.problems(response.body);
  return problems === undefined ? undefined : `not an error answer (${problems})`;
}

/** Failures that happen before a request is on the wire: no DCU saw it. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_CONNECT_TIMEOUT']);

function neverSent(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; current && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return NOT_SENT_CODES.has(code);
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Asks DCU instances, one at a time, to open the account of a proposal. The proposalId doubles
 * as the Idempotency-Key, so another instance may safely be tried when one fails (no answer in
 * time, too large an answer, or one that fails `dcuAnswerProblem`), and the DCU answers a
 * repeat with the account it already opened. One instance per call to the registry client, so
 * that the agency knows what every attempt did, not only the last one. The client is handed
 * the URL of the instance the registry listed and the agency called, never one from the answer.
 */
export async function openDcuAccount(
  account: OpenAccountRequest,
  options: OpenAccountOptions,
): Promise<OpenAccountOutcome> {
  const expectedAccountId = accountIdFor(account.proposalId);
  const deadline = Date.now() + (options.deadlineMs ?? 15_000);
  const maxAttempts = 4;
  let mayHaveOpened = false;
  let last: OpenAccountOutcome = { kind: 'unavailable', detail: 'no dcu instance is registered', mayHaveOpened };
  for (let attempt = 0; attempt < maxAttempts && Date.now() < deadline; attempt++) {
    let response: CallResponse;
    try {
      response = await options.caller.call('dcu', {
        method: 'POST',
        path: '/accounts',
        headers: { authorization: `Bearer ${options.serviceToken}` },
        // The client serializes the body and sets the JSON content type itself.
        body: account,
        idempotencyKey: account.proposalId,
        check: (answer) => dcuAnswerProblem(answer, expectedAccountId),
        maxAttempts: 1,
        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
        ...(options.requestId === undefined ? {} : { requestId: options.requestId }),
        deadlineMs: Math.max(1, deadline - Date.now()),
      });
    } catch (error) {
      if (error instanceof NoInstanceError && error.lastError instanceof PeerAnswerError) {
        // An instance broke the rules (or ran out of time after the request was sent): it may have
        // opened the account. Another may still answer properly.
        const problem = error.lastError.code === 'GRANTLINE_PEER_DEADLINE' ? 'uncertain' : 'bad-answer';
        mayHaveOpened = true;
        last = { kind: 'failed', problem, detail: { instanceUrl: error.lastError.origin, reason: error.lastError.message }, mayHaveOpened };
        continue;
      }
      if (error instanceof NoInstanceError) {
        if (error.lastError === undefined) return withMayHaveOpened(last, mayHaveOpened, error.message);
        mayHaveOpened ||= !neverSent(error.lastError);
        if (last.kind === 'unavailable') last = { kind: 'unavailable', detail: error.message, mayHaveOpened };
        continue;
      }
      if (error instanceof UncertainOutcomeError) {
        return { kind: 'failed', problem: 'uncertain', detail: { instanceUrl: error.instanceUrl, err: error }, mayHaveOpened: true };
      }
      return { kind: 'failed', problem: 'transport', detail: { err: error }, mayHaveOpened: true };
    }
    const outcome = interpret(response, expectedAccountId, mayHaveOpened);
    // The DCU says it cannot write right now and changed nothing: try another instance.
    if (outcome.kind === 'unavailable') {
      if (last.kind === 'unavailable') last = outcome;
      continue;
    }
    return outcome;
  }
  return withMayHaveOpened(last, mayHaveOpened);
}

function withMayHaveOpened(outcome: OpenAccountOutcome, mayHaveOpened: boolean, detail?: string): OpenAccountOutcome {
  if (outcome.kind === 'unavailable') return { ...outcome, mayHaveOpened, ...(detail === undefined ? {} : { detail }) };
  if (outcome.kind === 'failed') return { ...outcome, mayHaveOpened };
  return outcome;
}

function interpret(response: CallResponse, expectedAccountId: string, mayHaveOpenedBefore: boolean): OpenAccountOutcome {
  const { statusCode, instanceUrl } = response;
  // Checked again here: a caller other than the registry client may not have run the check.
  const problem = dcuAnswerProblem(response, expectedAccountId);
  // Never log a success body: it may carry an owner key.
  if (problem !== undefined) {
    return { kind: 'failed', problem: 'bad-answer', detail: { instanceUrl, statusCode, problem }, mayHaveOpened: true };
  }
  if (statusCode === 200 || statusCode === 201) {
    const opened = response.body as OpenAccountResponse;
    return { kind: 'opened', accountId: expectedAccountId, ownerKey: opened.ownerKey, dcuUrl: instanceUrl };
  }
  if (statusCode === 409) return { kind: 'conflict', dcuUrl: instanceUrl };
  if (statusCode === 503) {
    return { kind: 'unavailable', detail: `${instanceUrl} answered 503: ${truncate(response.body)}`, mayHaveOpened: mayHaveOpenedBefore };
  }
  const detail = { instanceUrl, statusCode, body: truncate(response.body) };
  // A 4xx is a refusal: this DCU opened nothing. A 5xx may hide a write that happened.
  const mayHaveOpened = mayHaveOpenedBefore || statusCode >= 500;
  if (statusCode === 401 || statusCode === 403) return { kind: 'failed', problem: 'refused-credentials', detail, mayHaveOpened };
  return { kind: 'failed', problem: 'error-status', detail, mayHaveOpened };
}

function truncate(body: unknown): string {
  const text = typeof body === 'string' ? body : (JSON.stringify(body) ?? '');
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}
