import { AgencyRefusal, apply, decide, type AgencyCommand, type Slice } from '../src/domain/funding';

const P = '6713b17b-babd-5b11-8a13-7418f14cdc6f';
const ACCOUNT = '0b87c737-e027-5b6f-9439-b31b6a0a9a83';
const OTHER_ACCOUNT = '57305b33-e135-5d92-9215-bd2795805503';
const NOW = '2026-01-01T00:00:00.000Z';
const LATER = '2026-01-02T00:00:00.000Z';
const terms = { title: 'Soil', investigator: 'Ada', amountCents: 40_000_000, durationDays: 30 };
const empty: Slice = { proposal: undefined, budget: { committedCents: 0, returnedCents: 0 } };

const submit = (over: Partial<Extract<AgencyCommand, { type: 'submit' }>> = {}): AgencyCommand => ({
  type: 'submit',
  proposalId: P,
  terms,
  totalCents: 100_000_000,
  owner: 'agency-a',
  now: NOW,
  ...over,
});

function refusalOf(slice: Slice, command: AgencyCommand): string {
  try {
    decide(slice, command);
  } catch (error) {
    if (error instanceof AgencyRefusal) return error.reason;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('deciding a proposal', () => {
  it('reserves an in-range amount that fits, counting it as committed', () => {
    const { slice, decision } = apply(empty, submit());
    expect(decision).toEqual({ outcome: 'created', events: [{ type: 'reserved', proposalId: P, terms, owner: 'agency-a', at: NOW }] });
    expect(slice).toEqual({
      proposal: { proposalId: P, terms, status: 'pending', decidedAt: NOW, attempts: 1, owner: 'agency-a', lastAttemptAt: NOW },
      budget: { committedCents: 40_000_000, returnedCents: 0 },
    });
  });

  it('rejects an amount that does not fit, saying how much is left', () => {
    const budget = { committedCents: 70_000_000, returnedCents: 0 };
    const { slice } = apply({ proposal: undefined, budget }, submit());
    expect(slice.budget).toEqual(budget);
    expect(slice.proposal).toEqual({
      proposalId: P,
      terms,
      status: 'rejected',
      decidedAt: NOW,
      reason:
        "The agency's budget has €300,000.00 left to commit; this proposal asks for €400,000.00, " +
        'more than that, so it was not funded and no account was opened.',
    });
  });

  it('funds exactly the amount left, and counts returned money as available again', () => {
    expect(apply({ proposal: undefined, budget: { committedCents: 60_000_000, returnedCents: 0 } }, submit()).slice.proposal?.status).toBe('pending');
    const refilled = { committedCents: 90_000_000, returnedCents: 30_000_000 };
    expect(apply({ proposal: undefined, budget: refilled }, submit()).slice.budget).toEqual({ committedCents: 130_000_000, returnedCents: 30_000_000 });
  });

  it('never limits an unlimited budget', () => {
    const huge = { committedCents: 900_000_000_000, returnedCents: 0 };
    expect(apply({ proposal: undefined, budget: huge }, submit({ totalCents: null })).slice.proposal?.status).toBe('pending');
  });

  it('rejects an out-of-range amount without touching the budget', () => {
    const { slice } = apply(empty, submit({ terms: { ...terms, amountCents: 29_999_999 } }));
    expect(slice.proposal?.status).toBe('rejected');
    expect(slice.budget).toEqual({ committedCents: 0, returnedCents: 0 });
  });

  it('answers a repeat with the record, and keeps a rejection even when money is free again', () => {
    const rejected = apply({ proposal: undefined, budget: { committedCents: 100_000_000, returnedCents: 0 } }, submit()).slice;
    const freed = { ...rejected, budget: { committedCents: 100_000_000, returnedCents: 100_000_000 } };
    expect(decide(freed, submit({ now: LATER }))).toEqual({ outcome: 'repeat', events: [] });
  });

  it('refuses the same key with other terms', () => {
    const pending = apply(empty, submit()).slice;
    expect(refusalOf(pending, submit({ terms: { ...terms, title: 'Water' } }))).toBe('key-reused');
  });

  it('decides a released reservation afresh', () => {
    const pending = apply(empty, submit()).slice;
    const released = apply(pending, { type: 'release', proposalId: P, attempt: 1, reason: 'gone', now: NOW }).slice;
    expect(released.budget.committedCents).toBe(0);
    expect(decide(released, submit({ terms: { ...terms, title: 'Water' } })).outcome).toBe('created');
  });
});

describe('confirming and releasing a reservation', () => {
  const pending = apply(empty, submit()).slice;

  it('confirms once; a repeat with the same account changes nothing, another account is refused', () => {
    const confirmed = apply(pending, { type: 'confirm', proposalId: P, accountId: ACCOUNT, dcuUrl: 'http://dcu', now: LATER }).slice;
    expect(confirmed.proposal).toMatchObject({ proposalId: P, terms, status: 'accepted', decidedAt: NOW, accountId: ACCOUNT, dcuUrl: 'http://dcu' });
    expect(confirmed.budget).toEqual(pending.budget);
    expect(decide(confirmed, { type: 'confirm', proposalId: P, accountId: ACCOUNT, now: LATER })).toEqual({ outcome: 'repeat', events: [] });
    expect(refusalOf(confirmed, { type: 'confirm', proposalId: P, accountId: OTHER_ACCOUNT, now: LATER })).toBe('account-mismatch');
  });

  it('releases only a pending reservation, giving its money back', () => {
    const released = apply(pending, { type: 'release', proposalId: P, attempt: 1, reason: 'DCU knows other terms', now: LATER }).slice;
    expect(released.budget).toEqual({ committedCents: 0, returnedCents: 0 });
    expect(released.proposal?.status).toBe('released');
    expect(refusalOf(released, { type: 'release', proposalId: P, attempt: 1, reason: 'x', now: LATER })).toBe('not-pending');
    expect(refusalOf(released, { type: 'confirm', proposalId: P, accountId: ACCOUNT, now: LATER })).toBe('not-pending');
  });
});

describe('claiming a reservation', () => {
  it('counts the attempts, so an earlier attempt can no longer release what a later one may have opened', () => {
    const pending = apply(empty, submit()).slice;
    const claimed = apply(pending, { type: 'claim', proposalId: P, owner: 'agency-b', now: LATER }).slice;
    expect(claimed.proposal).toMatchObject({ status: 'pending', attempts: 2, owner: 'agency-b', lastAttemptAt: LATER });
    expect(claimed.budget).toEqual(pending.budget);
    expect(refusalOf(claimed, { type: 'release', proposalId: P, attempt: 1, reason: 'x', now: LATER })).toBe('stale-attempt');
    expect(apply(claimed, { type: 'release', proposalId: P, attempt: 2, reason: 'x', now: LATER }).slice.proposal?.status).toBe('released');
  });

  it('claims only a pending reservation', () => {
    const rejected = apply(empty, submit({ terms: { ...terms, amountCents: 1 } })).slice;
    expect(refusalOf(rejected, { type: 'claim', proposalId: P, owner: 'b', now: LATER })).toBe('not-pending');
    expect(refusalOf(empty, { type: 'claim', proposalId: P, owner: 'b', now: LATER })).toBe('not-pending');
  });
});

describe('closeouts', () => {
  const accepted = apply(apply(empty, submit()).slice, { type: 'confirm', proposalId: P, accountId: ACCOUNT, now: NOW }).slice;
  const closeout = (over: Partial<Extract<AgencyCommand, { type: 'closeout' }>> = {}): AgencyCommand => ({
    type: 'closeout',
    proposalId: P,
    accountId: ACCOUNT,
    returnedCents: 1_234_567,
    now: LATER,
    ...over,
  });

  it('closes the proposal and counts the returned money once', () => {
    const closed = apply(accepted, closeout()).slice;
    expect(closed.proposal).toMatchObject({
      proposalId: P,
      terms,
      status: 'closed',
      decidedAt: NOW,
      accountId: ACCOUNT,
      returnedCents: 1_234_567,
      closedAt: LATER,
    });
    expect(closed.budget).toEqual({ committedCents: 40_000_000, returnedCents: 1_234_567 });
    expect(decide(closed, closeout({ now: '2026-02-01T00:00:00.000Z' }))).toEqual({ outcome: 'repeat', events: [] });
    expect(refusalOf(closed, closeout({ returnedCents: 1 }))).toBe('closeout-differs');
  });

  it('accepts returning the whole grant or nothing, and refuses more than the grant', () => {
    expect(apply(accepted, closeout({ returnedCents: 40_000_000 })).slice.budget.returnedCents).toBe(40_000_000);
    expect(apply(accepted, closeout({ returnedCents: 0 })).slice.proposal?.status).toBe('closed');
    expect(refusalOf(accepted, closeout({ returnedCents: 40_000_001 }))).toBe('returned-exceeds-grant');
  });

  it('refuses an unknown proposal, a rejected one and another account', () => {
    expect(refusalOf(empty, closeout())).toBe('proposal-not-found');
    const rejected = apply(empty, submit({ terms: { ...terms, amountCents: 1 } })).slice;
    expect(refusalOf(rejected, closeout({ returnedCents: 0 }))).toBe('not-funded');
    expect(refusalOf(accepted, closeout({ accountId: OTHER_ACCOUNT }))).toBe('account-mismatch');
  });

  it('confirms a reservation whose account closed before the agency confirmed it, if it is the derived account', () => {
    const pending = apply(empty, submit()).slice;
    // uuid5(UUID('1b4e28ba-2fa1-4d3b-a3f5-8d7a0c2e6f10'), P), computed with Python: the DCU's account id of P.
    const DERIVED = 'd34735f2-1ff4-5c18-b65c-9d9210ec209a';
    expect(refusalOf(pending, closeout())).toBe('account-mismatch');
    const { slice, decision } = apply(pending, closeout({ accountId: DERIVED }));
    expect(decision.events.map((event) => event.type)).toEqual(['confirmed', 'closed']);
    expect(slice.proposal?.accountId).toBe(DERIVED);
    expect(slice.budget).toEqual({ committedCents: 40_000_000, returnedCents: 1_234_567 });
  });
});
