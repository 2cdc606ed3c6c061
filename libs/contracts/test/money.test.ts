import { formatEuro } from '../src/money';

describe('formatEuro', () => {
  it.each([
    [0, '€0.00'],
    [5, '€0.05'],
    [100, '€1.00'],
    [30_000_000, '€300,000.00'],
    [123_456_789, '€1,234,567.89'],
    [-1_050, '-€10.50'],
    [1_000_000_000_000, '€10,000,000,000.00'],
  ])('writes %d cents as %s', (cents, text) => {
    expect(formatEuro(cents)).toBe(text);
  });

  it('refuses fractions of a cent', () => {
    expect(() => formatEuro(1.5)).toThrow(RangeError);
  });
});
