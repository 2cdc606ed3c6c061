import type { AccountView, BudgetView, TransactionsResponse } from '@grantline/contracts';
import type { RegistryClient } from '@grantline/registry-client';
import { callWithRetries, messageOf } from './actors/calls';
import { findBudgetProblems } from './domain/budget-invariants';
import { findLedgerProblems, readWholeHistory } from './domain/ledger-invariants';
import type { ProjectReport } from './domain/project-report';

/**
 * The final check of a run. It checks the system, not the simulation: reads every account and its ledger back from the
 * DCU and compares them with what the DCU confirmed during the run. Fills in each report's
 * final balance and problems; the rules themselves are in domain/ledger-invariants.ts.
 */
export async function runFinalCheck(
  client: RegistryClient,
  reports: ProjectReport[],
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>,
): Promise<void> {
  await Promise.all(
    reports.map(async (report) => {
      if (!report.account) return;
      const { accountId, ownerKey } = report.account;
      const headers = { authorization: `Bearer ${ownerKey}` };
      const readPage = async (after: string | undefined) => {
        const query =
          after === undefined ? '?limit=1000' : `?limit=1000&after=${encodeURIComponent(after)}`;
        const page = await callWithRetries<TransactionsResponse>(
          client,
          'dcu',
          { method: 'GET', path: `/accounts/${accountId}/transactions${query}`, headers },
          { retries: 3, sleep },
        );
        if (!page.ok || page.response.statusCode !== 200) {
          throw new Error(page.ok ? messageOf(page.response.body) : page.error);
        }
        return page.response.body;
      };
      const [account, ledger] = await Promise.all([
        callWithRetries<AccountView>(
          client,
          'dcu',
          { method: 'GET', path: `/accounts/${accountId}`, headers },
          { retries: 3, sleep },
        ),
        readWholeHistory(readPage).then(
          (transactions) => ({ ok: true as const, transactions }),
          (error: unknown) => ({
            ok: false as const,
            error: error instanceof Error ? error.message : String(error),
          }),
        ),
      ]);
      if (!account.ok || account.response.statusCode !== 200) {
        report.problems.push(
          `could not read the account: ${account.ok ? messageOf(account.response.body) : account.error}`,
        );
        return;
      }
      if (!ledger.ok) {
        report.problems.push(`could not read the ledger: ${ledger.error}`);
        return;
      }
      const view = account.response.body;
      report.finalBalanceCents = view.balanceCents;
      if (view.returnedCents !== undefined) report.accountReturnedCents = view.returnedCents;
      report.problems.push(
        ...findLedgerProblems({
          askedCents: report.plan.amountCents,
          initialCents: view.initialCents,
          balanceCents: view.balanceCents,
          transactions: ledger.transactions,
          reported: report.withdrawals,
          uncertainWithdrawals: report.uncertainWithdrawals,
        }),
      );
    }),
  );
}

/** The agency's budget at the end of a run, and what is wrong with it (domain/budget-invariants.ts). */
export async function runBudgetCheck(
  client: RegistryClient,
  reports: ProjectReport[],
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>,
  { sharedAgency = false }: { sharedAgency?: boolean } = {},
): Promise<{ budget?: BudgetView; problems: string[]; sharedAgency: boolean }> {
  const answer = await callWithRetries<BudgetView>(
    client,
    'agency',
    { method: 'GET', path: '/budget' },
    { retries: 3, sleep },
  );
  if (!answer.ok || answer.response.statusCode !== 200) {
    return {
      problems: [
        `could not read the agency's budget: ${answer.ok ? messageOf(answer.response.body) : answer.error}`,
      ],
      sharedAgency,
    };
  }
  return {
    budget: answer.response.body,
    problems: findBudgetProblems(answer.response.body, reports, { sharedAgency }),
    sharedAgency,
  };
}
