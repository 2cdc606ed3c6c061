import { FormatRegistry } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import {
  AmountCents,
  IdempotencyKey,
  MAX_AMOUNT_CENTS,
  ProposalRequest,
  RegisterRequest,
  WithdrawalRequest,
} from '../src';

beforeAll(() => {
  if (!FormatRegistry.Has('uuid')) FormatRegistry.Set('uuid', (value) => /^[0-9a-f-]{36}$/i.test(value));
});

describe('money in the contracts', () => {
  it.each([1, 30_000_000, MAX_AMOUNT_CENTS])('accepts %p cents', (amount) => {
    expect(Value.Check(AmountCents, amount)).toBe(true);
  });

  it.each([0, -1, 10.5, MAX_AMOUNT_CENTS + 1, '100', true, null, Number.NaN])('refuses %p as an amount', (amount) => {
    expect(Value.Check(AmountCents, amount)).toBe(false);
  });

  it('keeps every amount exactly representable', () => {
    expect(Number.isSafeInteger(MAX_AMOUNT_CENTS)).toBe(true);
  });
});

describe('Idempotency-Key', () => {
  it.each(['a', 'order-42', 'x'.repeat(255), 'with inner space', '~!@#$%^&*()'])('accepts %p', (key) => {
    expect(Value.Check(IdempotencyKey, key)).toBe(true);
  });

  it.each(['', 'x'.repeat(256), ' leading', 'trailing ', 'tab\there', 'new\nline', 'ünïcode'])('refuses %p', (key) => {
    expect(Value.Check(IdempotencyKey, key)).toBe(false);
  });
});

describe('request shapes', () => {
  const proposal = { title: 'Soil', investigator: 'Ada', amountCents: 30_000_000, durationDays: 30 };

  it('accepts a complete proposal and refuses one with a missing or an extra field', () => {
    expect(Value.Check(ProposalRequest, proposal)).toBe(true);
    const { title: _title, ...withoutTitle } = proposal;
    expect(Value.Check(ProposalRequest, withoutTitle)).toBe(false);
    expect(Value.Check(ProposalRequest, { ...proposal, accountId: 'x' })).toBe(false);
  });

  it.each([0, 3651, 1.5])('refuses durationDays %p', (durationDays) => {
    expect(Value.Check(ProposalRequest, { ...proposal, durationDays })).toBe(false);
  });

  it('limits a withdrawal note to 500 characters', () => {
    expect(Value.Check(WithdrawalRequest, { amountCents: 1, note: 'n'.repeat(500) })).toBe(true);
    expect(Value.Check(WithdrawalRequest, { amountCents: 1, note: 'n'.repeat(501) })).toBe(false);
  });

  it('accepts only service types the registry allows', () => {
    expect(Value.Check(RegisterRequest, { type: 'dcu', url: 'http://127.0.0.1:9002' })).toBe(true);
    for (const type of ['DCU', '1dcu', 'd'.repeat(64), '../x', '']) {
      expect(Value.Check(RegisterRequest, { type, url: 'http://127.0.0.1:9002' })).toBe(false);
    }
  });
});
