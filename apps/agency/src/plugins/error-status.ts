import { HttpError } from '@grantline/service-kit';
import { AgencyRefusal, type RefusalReason } from '../domain/funding';
import { DcuFailedError, DcuUnavailableError } from '../errors';
import { StorageUnavailableError } from '../storage/store';

const STATUS_BY_REASON: Record<RefusalReason, number> = {
  'key-reused': 422,
  'proposal-not-found': 404,
  'not-funded': 409,
  'account-mismatch': 409,
  'returned-exceeds-grant': 422,
  'closeout-differs': 409,
  'not-pending': 409,
  'stale-attempt': 409,
};

/** The HTTP answer to each of the agency's own errors (see API.md, Agency); undefined: not ours. */
export function agencyErrorToHttp(error: unknown): HttpError | undefined {
  if (error instanceof AgencyRefusal) return new HttpError(STATUS_BY_REASON[error.reason], error.message, error.reason);
  if (error instanceof StorageUnavailableError) return new HttpError(503, error.message, error.code);
  if (error instanceof DcuUnavailableError) return new HttpError(503, error.message, 'DCU_UNAVAILABLE');
  if (error instanceof DcuFailedError) return new HttpError(502, error.message, 'DCU_FAILED');
  return undefined;
}
