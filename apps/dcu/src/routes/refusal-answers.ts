import { HttpError } from '@grantline/service-kit';
import { AccountDamaged, AccountRefusal } from '../storage/store';

const STATUS_BY_REASON: Record<AccountRefusal['reason'], number> = {
  'not-found': 404,
  'terms-differ': 409,
  expired: 410,
  'insufficient-funds': 409,
  'key-reused': 422,
  'too-many-researchers': 409,
  'researcher-removed': 409,
  'owner-only': 403,
  'owner-not-removable': 409,
  'researcher-not-found': 404,
  'key-revoked': 401,
  'not-ended': 409,
  'not-closed': 409,
  'bad-cursor': 400,
};

/** Storage that cannot take a write right now: the client may retry with the same key. */
const TRANSIENT_STORAGE_CODES = new Set(['ELOCKED', 'ENOSPC', 'EIO', 'EMFILE', 'ENFILE', 'EAGAIN']);

/** The HTTP answer to a change the core refused (see API.md, DCU), to a damaged account, or to failing storage. */
export function refusalToHttpError(error: unknown): HttpError | undefined {
  if (error instanceof AccountRefusal) {
    return new HttpError(STATUS_BY_REASON[error.reason], error.message, error.reason);
  }
  if (error instanceof AccountDamaged) return new HttpError(503, error.message, error.code);
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && TRANSIENT_STORAGE_CODES.has(code)) {
    return new HttpError(
      503,
      'The account storage is unavailable right now; nothing was changed. Retry with the same Idempotency-Key.',
      code,
    );
  }
  return undefined;
}
