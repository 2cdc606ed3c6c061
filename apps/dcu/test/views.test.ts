import { evolve, type AccountState } from '../src/domain/account';
import { accountView, sharedAccountView } from '../src/domain/views';

const DAY_MS = 1000;
const OPENED_AT = Date.parse('2026-01-01T00:00:00Z');

function opened(): AccountState {
  return evolve(undefined, {
    type: 'opened',
    accountId: '00000000-0000-4000-8000-000000000001',
    proposalId: '00000000-0000-4000-8000-000000000002',
    title: 'Tides',
    investigator: 'Ada Lovelace',
    ownerId: '00000000-0000-4000-8000-000000000003',
    initialCents: 10_000,
    durationDays: 3,
    dayMs: DAY_MS,
    createdAt: new Date(OPENED_AT).toISOString(),
    expiresAt: new Date(OPENED_AT + 3 * DAY_MS).toISOString(),
  });
}

describe('the shared view of an account', () => {
  it('is the same frozen object while the account, its days remaining and its status stay the same', () => {
    const state = opened();
    const first = sharedAccountView(state, OPENED_AT + 10);
    expect(first).toEqual(accountView(state, OPENED_AT + 10));
    expect(sharedAccountView(state, OPENED_AT + 900)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first.researchers)).toBe(true);
    expect(first.researchers.every((researcher) => Object.isFrozen(researcher))).toBe(true);
  });

  it('is made again when a day passes, the status changes or the account changes', () => {
    const state = opened();
    const first = sharedAccountView(state, OPENED_AT);
    const nextDay = sharedAccountView(state, OPENED_AT + DAY_MS + 1);
    expect(nextDay).not.toBe(first);
    expect(nextDay).toEqual(accountView(state, OPENED_AT + DAY_MS + 1));
    expect(nextDay.daysRemaining).toBe(first.daysRemaining - 1);

    const expired = sharedAccountView(state, OPENED_AT + 3 * DAY_MS);
    expect(expired).toMatchObject({ daysRemaining: 0, status: 'expired' });

    const withdrawn = evolve(state, {
      type: 'withdrawal',
      id: '00000000-0000-4000-8000-000000000004',
      researcherId: state.ownerId,
      amountCents: 2_500,
      balanceAfterCents: 7_500,
      idempotencyKey: 'k-1',
      at: new Date(OPENED_AT + 5).toISOString(),
    });
    const after = sharedAccountView(withdrawn, OPENED_AT + 10);
    expect(after.balanceCents).toBe(7_500);
    expect(sharedAccountView(state, OPENED_AT + 10).balanceCents).toBe(10_000);
  });

  it('is not answered from an old view when a state object is changed in place', () => {
    const state = opened();
    const first = sharedAccountView(state, OPENED_AT);
    (state as { balanceCents: number }).balanceCents = 9_000;
    expect(sharedAccountView(state, OPENED_AT).balanceCents).toBe(9_000);
    expect(first.balanceCents).toBe(10_000);
  });
});
