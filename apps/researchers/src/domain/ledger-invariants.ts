import { formatEuro, type Transaction } from '@grantline/contracts';

/** A withdrawal the DCU answered 2xx to, as the simulation recorded it. */
export interface ReportedWithdrawal {
  withdrawalId: string;
  amountCents: number;
}

export interface LedgerFacts {
  /** What the professor asked for (and the agency accepted). */
  askedCents: number;
  initialCents: number;
  balanceCents: number;
  transactions: Transaction[];
  reported: ReportedWithdrawal[];
  /** Withdrawals whose outcome the simulation never learned (failed after retries). */
  uncertainWithdrawals: number;
}

/**
 * The account must add up: balance = initial - withdrawals, never below zero, and every
 * withdrawal the DCU confirmed is in the ledger exactly once, for the amount confirmed.
 * Returns the problems found, in words; empty means the account is sound.
 */
export function findLedgerProblems(facts: LedgerFacts): string[] {
  const problems: string[] = [];
  const { transactions } = facts;
  if (facts.initialCents !== facts.askedCents) {
    problems.push(
      `initial ${formatEuro(facts.initialCents)} differs from the ${formatEuro(facts.askedCents)} granted`,
    );
  }

  const deposits = transactions.filter((transaction) => transaction.type === 'deposit');
  const withdrawals = transactions.filter((transaction) => transaction.type === 'withdrawal');
  const depositedCents = sum(deposits.map((deposit) => deposit.amountCents));
  const withdrawnCents = sum(withdrawals.map((withdrawal) => withdrawal.amountCents));
  if (deposits.length > 0 && depositedCents !== facts.initialCents) {
    problems.push(
      `deposits ${formatEuro(depositedCents)} differ from initial ${formatEuro(facts.initialCents)}`,
    );
  }
  if (facts.balanceCents !== facts.initialCents - withdrawnCents) {
    problems.push(
      `balance ${formatEuro(facts.balanceCents)} is not initial ${formatEuro(facts.initialCents)} ` +
        `minus withdrawals ${formatEuro(withdrawnCents)} (= ${formatEuro(facts.initialCents - withdrawnCents)})`,
    );
  }
  if (facts.balanceCents < 0)
    problems.push(`balance is below zero: ${formatEuro(facts.balanceCents)}`);

  // Replay the ledger: each entry's balanceAfter must follow from the one before.
  let runningCents = deposits.length > 0 ? 0 : facts.initialCents;
  for (const transaction of transactions) {
    runningCents +=
      transaction.type === 'deposit' ? transaction.amountCents : -transaction.amountCents;
    if (runningCents < 0) problems.push(`the ledger goes below zero at ${transaction.id}`);
    if (transaction.balanceAfterCents !== runningCents) {
      problems.push(
        `${transaction.id}: balanceAfter ${formatEuro(transaction.balanceAfterCents)}, expected ${formatEuro(runningCents)}`,
      );
      runningCents = transaction.balanceAfterCents;
    }
  }

  const ledgerCount = new Map<string, Transaction[]>();
  for (const withdrawal of withdrawals) {
    ledgerCount.set(withdrawal.id, [...(ledgerCount.get(withdrawal.id) ?? []), withdrawal]);
  }
  const reportedIds = new Set<string>();
  for (const reported of facts.reported) {
    if (reportedIds.has(reported.withdrawalId)) {
      problems.push(`withdrawal ${reported.withdrawalId} was confirmed for two different requests`);
    }
    reportedIds.add(reported.withdrawalId);
    const entries = ledgerCount.get(reported.withdrawalId) ?? [];
    if (entries.length !== 1) {
      problems.push(
        `confirmed withdrawal ${reported.withdrawalId} is in the ledger ${entries.length} times`,
      );
    } else if (entries[0]?.amountCents !== reported.amountCents) {
      problems.push(
        `withdrawal ${reported.withdrawalId}: ledger says ${formatEuro(entries[0]?.amountCents ?? 0)}, ` +
          `the DCU confirmed ${formatEuro(reported.amountCents)}`,
      );
    }
  }
  // Money may move without the simulation knowing only when an answer was lost.
  const unknown = withdrawals.filter((withdrawal) => !reportedIds.has(withdrawal.id));
  if (unknown.length > facts.uncertainWithdrawals) {
    problems.push(
      `${unknown.length} withdrawal(s) in the ledger were never confirmed to the simulation ` +
        `(only ${facts.uncertainWithdrawals} had an unknown outcome)`,
    );
  }
  return problems;
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

/** One page of an account's history, as GET /accounts/:id/transactions answers it. */
export interface HistoryPage {
  transactions: Transaction[];
  next: string | null;
}

/** Pages a history may have before following it is given up as a loop (1,000 per page). */
const MAX_PAGES = 100_000;

/**
 * The whole history of an account, following `next` from the first page to the last.
 * `fetchPage(after)` reads one page (after undefined: the first). A cursor seen twice is a
 * problem of the DCU, reported rather than followed forever.
 */
export async function readWholeHistory(
  fetchPage: (after: string | undefined) => Promise<HistoryPage>,
): Promise<Transaction[]> {
  const transactions: Transaction[] = [];
  const seen = new Set<string>();
  let after: string | undefined;
  for (let pages = 0; pages < MAX_PAGES; pages++) {
    const page = await fetchPage(after);
    transactions.push(...page.transactions);
    if (page.next === null) return transactions;
    if (seen.has(page.next)) throw new Error(`the history's cursor ${page.next} came twice`);
    seen.add(page.next);
    after = page.next;
  }
  throw new Error(`the history did not end after ${MAX_PAGES} pages`);
}
