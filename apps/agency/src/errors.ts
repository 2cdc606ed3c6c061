/**
 * What can go wrong with a proposal outside the funding rules (those are `AgencyRefusal`s):
 * the DCU could not be asked, or failed. Routes throw these; `plugins/error-status.ts` holds
 * the one table of statuses, so no route builds an error body itself.
 */
export class DcuUnavailableError extends Error {
  override name = 'DcuUnavailableError';
}

export class DcuFailedError extends Error {
  override name = 'DcuFailedError';
}
