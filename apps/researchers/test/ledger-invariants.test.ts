import type { Transaction } from '@grantline/contracts';
import { findLedgerProblems, readWholeHistory, type LedgerFacts } from '../src/domain/ledger-invariants';

const at = '2026-01-01T00:00:00.000Z';
const researcherId = '00000000-0000-4000-8000-000000000000';
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

function ledger(initialCents: number, withdrawals: number[]): Transaction[] {
  let balance = initialCents;
  const entries: Transaction[] = [
    {
      id: id(0),
      type: 'deposit',
      amountCents: initialCents,
      researcherId,
      at,
      balanceAfterCents: initialCents,
    },
  ];
  withdrawals.forEach((amountCents, index) => {
    balance -= amountCents;
    entries.push({
      id: id(index + 1),
      type: 'withdrawal',
      amountCents,
      researcherId,
      at,
      balanceAfterCents: balance,
    });
  });
  return entries;
}

function facts(overrides: Partial<LedgerFacts> = {}): LedgerFacts {
  return {
    askedCents: 1_000,
    initialCents: 1_000,
    balanceCents: 700,
    transactions: ledger(1_000, [100, 200]),
    reported: [
      { withdrawalId: id(1), amountCents: 100 },
      { withdrawalId: id(2), amountCents: 200 },
    ],
    uncertainWithdrawals: 0,
    ...overrides,
  };
}

describe('the ledger check', () => {
  it('passes an account that adds up', () => {
    expect(findLedgerProblems(facts())).toEqual([]);
  });

  it('flags a balance that is not initial minus withdrawals', () => {
    expect(findLedgerProblems(facts({ balanceCents: 750 })).join()).toMatch(
      /balance €7\.50 is not initial/,
    );
  });

  it('flags a confirmed withdrawal missing from the ledger', () => {
    const problems = findLedgerProblems(
      facts({ reported: [...facts().reported, { withdrawalId: id(9), amountCents: 5 }] }),
    );
    expect(problems.join()).toMatch(/in the ledger 0 times/);
  });

  it('flags a withdrawal recorded twice', () => {
    const transactions = ledger(1_000, [100, 200]);
    const duplicate = { ...(transactions[1] as Transaction), balanceAfterCents: 600 };
    const problems = findLedgerProblems(
      facts({ transactions: [...transactions, duplicate], balanceCents: 600 }),
    );
    expect(problems.join()).toMatch(/in the ledger 2 times/);
  });

  it('flags money that moved without the simulation being told, unless an answer was lost', () => {
    const transactions = ledger(1_000, [100, 200, 50]);
    expect(findLedgerProblems(facts({ transactions, balanceCents: 650 })).join()).toMatch(
      /never confirmed/,
    );
    expect(
      findLedgerProblems(facts({ transactions, balanceCents: 650, uncertainWithdrawals: 1 })),
    ).toEqual([]);
  });

  it('flags a ledger whose running balance goes below zero', () => {
    const transactions = ledger(100, [80, 80]);
    const problems = findLedgerProblems(
      facts({
        askedCents: 100,
        initialCents: 100,
        balanceCents: 0,
        transactions,
        reported: [],
        uncertainWithdrawals: 2,
      }),
    );
    expect(problems.join()).toMatch(/below zero/);
  });

  it('flags an initial amount other than the one granted', () => {
    expect(findLedgerProblems(facts({ askedCents: 2_000 })).join()).toMatch(
      /differs from the €20\.00 granted/,
    );
  });
});

describe('readWholeHistory', () => {
  const line = (id: string) => ({ id, type: 'withdrawal' as const, amountCents: 1, researcherId: id, at: '2026-01-01T00:00:00.000Z', balanceAfterCents: 0 });

  it('follows next from the first page to the last', async () => {
    const pages: Record<string, { transactions: ReturnType<typeof line>[]; next: string | null }> = {
      first: { transactions: [line('a'), line('b')], next: 'c1' },
      c1: { transactions: [line('c')], next: 'c2' },
      c2: { transactions: [], next: null },
    };
    const asked: Array<string | undefined> = [];
    const history = await readWholeHistory(async (after) => {
      asked.push(after);
      return pages[after ?? 'first']!;
    });
    expect(history.map((transaction) => transaction.id)).toEqual(['a', 'b', 'c']);
    expect(asked).toEqual([undefined, 'c1', 'c2']);
  });

  it('reports a cursor that comes back instead of looping', async () => {
    await expect(readWholeHistory(async () => ({ transactions: [line('a')], next: 'same' }))).rejects.toThrow(/came twice/);
  });
});
