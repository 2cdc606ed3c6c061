/** An inclusive range of whole numbers, e.g. a pause of 80-300 ms. */
export interface IntRange {
  min: number;
  max: number;
}

export function formatRange(range: IntRange): string {
  return range.min === range.max ? String(range.min) : `${range.min}-${range.max}`;
}
