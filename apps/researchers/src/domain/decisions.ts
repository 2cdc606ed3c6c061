import type { AccountView } from '@grantline/contracts';

/** Why a project's spending stopped. */
export type EndReason = 'expired' | 'empty';

/**
 * Whether the account, as just seen, still allows spending. An account is over for every
 * actor when it has expired or when nothing is left.
 */
export function endReasonOf(
  account: Pick<AccountView, 'status' | 'balanceCents'>,
): EndReason | undefined {
  if (account.status === 'expired') return 'expired';
  if (account.status === 'depleted' || account.balanceCents <= 0) return 'empty';
  return undefined;
}

/**
 * How much to ask for: what the actor drew, or what is left when the balance is below the
 * draw (the "try a smaller amount" rule). Undefined when there is nothing to ask for.
 */
export function nextWithdrawalCents(
  drawnCents: number,
  knownBalanceCents: number,
): number | undefined {
  if (knownBalanceCents <= 0) return undefined;
  return Math.min(drawnCents, knownBalanceCents);
}

/** What a DCU answer to a withdrawal means for the actor. */
export type WithdrawalVerdict =
  /** Money moved. */
  | 'withdrawn'
  /** More than is left: look at the balance again and ask for less. */
  | 'overdraw'
  /** A twin with the same key is still being applied: ask again with the same key. */
  | 'in-flight'
  /** The account's time is up: the whole project stops. */
  | 'expired'
  /** Worth repeating with the same key (the instance failed or is busy). */
  | 'retry'
  /** A client error that repeating will not fix: count it as a failed operation. */
  | 'failed';

export function judgeWithdrawalAnswer(statusCode: number, body: unknown): WithdrawalVerdict {
  if (statusCode === 200 || statusCode === 201) return 'withdrawn';
  if (statusCode === 410) return 'expired';
  if (statusCode === 409) return looksInFlight(body) ? 'in-flight' : 'overdraw';
  if (statusCode === 429 || statusCode >= 500) return 'retry';
  return 'failed';
}

/** The contract lets a twin of a request still in flight get 409; its message says so. */
function looksInFlight(body: unknown): boolean {
  if (!body || typeof body !== 'object') return false;
  const { message, code } = body as { message?: unknown; code?: unknown };
  const text = `${typeof code === 'string' ? code : ''} ${typeof message === 'string' ? message : ''}`;
  return /in[ -_]?flight|in[ -_]?progress|still being|being processed/i.test(text);
}

/** Whether an answer to a repeatable request (GET, or with an Idempotency-Key) is worth a retry. */
export function isRetryableStatus(statusCode: number): boolean {
  return statusCode === 429 || statusCode >= 500;
}
