/**
 * The one way amounts are written for people (messages, the simulation's story and summary):
 * euro from integer cents, with integer arithmetic only: `123456789` -> `€1,234,567.89`.
 */
export function formatEuro(cents: number): string {
  if (!Number.isSafeInteger(cents)) throw new RangeError(`not a whole number of cents: ${cents}`);
  const sign = cents < 0 ? '-' : '';
  const absolute = Math.abs(cents);
  const euros = (absolute - (absolute % 100)) / 100;
  const rest = absolute % 100;
  const grouped = String(euros).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${sign}€${grouped}.${String(rest).padStart(2, '0')}`;
}
