import { findBudgetProblems } from '../src/domain/budget-invariants';
import type { ProjectReport } from '../src/domain/project-report';

function report(
  amountCents: number,
  closeout?: number,
  extra: Partial<ProjectReport> = {},
): ProjectReport {
  return {
    plan: { amountCents, code: 'P1' } as ProjectReport['plan'],
    decision: 'accepted',
    account: { accountId: 'a', ownerKey: 'k' },
    studentsAdded: 0,
    withdrawals: [],
    uncertainWithdrawals: 0,
    ending: { kind: 'spent', reason: 'expired' },
    problems: [],
    ...(closeout === undefined
      ? {}
      : {
          closeout: { returnedCents: closeout },
          finalBalanceCents: closeout,
          accountReturnedCents: closeout,
        }),
    ...extra,
  };
}

describe('the budget check of a run', () => {
  const reports = [report(40_000_000, 1_000), report(30_000_000, 0)];

  it('passes when committed − returned is what the accounts started with minus what they handed back', () => {
    const budget = {
      totalCents: 100_000_000,
      committedCents: 70_000_000,
      returnedCents: 1_000,
      availableCents: 30_001_000,
    };
    expect(findBudgetProblems(budget, reports)).toEqual([]);
  });

  it('finds a closeout counted twice', () => {
    const budget = {
      totalCents: 100_000_000,
      committedCents: 70_000_000,
      returnedCents: 2_000,
      availableCents: 30_002_000,
    };
    expect(findBudgetProblems(budget, reports)).toEqual([
      "the agency's budget says committed − returned = €699,980.00, but the accepted accounts started with €700,000.00 and handed back €10.00 (€699,990.00)",
      'the agency counted €20.00 returned, but the closeouts of this run add up to €10.00',
    ]);
  });

  it('finds a closeout that disagrees with the account, and an overcommitted budget', () => {
    const odd = [report(40_000_000, 1_000, { accountReturnedCents: 999 })];
    const budget = {
      totalCents: 30_000_000,
      committedCents: 40_000_000,
      returnedCents: 1_000,
      availableCents: -9_999_000,
    };
    expect(findBudgetProblems(budget, odd)).toEqual([
      'the budget is overcommitted: €399,990.00 outstanding of €300,000.00',
      "P1: the agency recorded €10.00 returned, the DCU's account says €9.99",
    ]);
  });

  it('with a shared agency, accepts totals that hold more than the run, and finds a run that does not fit in them', () => {
    const withOthers = {
      totalCents: 200_000_000,
      committedCents: 150_000_000,
      returnedCents: 5_000,
      availableCents: 50_005_000,
    };
    expect(findBudgetProblems(withOthers, reports, { sharedAgency: true })).toEqual([]);
    const tooSmall = {
      totalCents: 200_000_000,
      committedCents: 60_000_000,
      returnedCents: 500,
      availableCents: 140_000_500,
    };
    expect(findBudgetProblems(tooSmall, reports, { sharedAgency: true })).toEqual([
      "the agency's budget has €600,000.00 committed, less than the €700,000.00 this run's accepted accounts started with",
      "the agency counted €5.00 returned, less than the €10.00 this run's closeouts add up to",
    ]);
  });
});
