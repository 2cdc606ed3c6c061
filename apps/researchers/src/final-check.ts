import type { AccountView, TransactionsResponse } from '@grantline/contracts';
import type { RegistryClient } from '@grantline/registry-client';
import { callWithRetries, messageOf } from './actors/calls';
import { findLedgerProblems } from './domain/ledger-invariants';
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
      const [account, ledger] = await Promise.all([
        callWithRetries<AccountView>(
          client,
          'dcu',
          { method: 'GET', path: `/accounts/${accountId}`, headers },
          { retries: 3, sleep },
        ),
        callWithRetries<TransactionsResponse>(
          client,
          'dcu',
          { method: 'GET', path: `/accounts/${accountId}/transactions`, headers },
          { retries: 3, sleep },
        ),
      ]);
      if (!account.ok || account.response.statusCode !== 200) {
        report.problems.push(
          `could not read the account: ${account.ok ? messageOf(account.response.body) : account.error}`,
        );
        return;
      }
      if (!ledger.ok || ledger.response.statusCode !== 200) {
        report.problems.push(
          `could not read the ledger: ${ledger.ok ? messageOf(ledger.response.body) : ledger.error}`,
        );
        return;
      }
      const view = account.response.body;
      report.finalBalanceCents = view.balanceCents;
      report.problems.push(
        ...findLedgerProblems({
          askedCents: report.plan.amountCents,
          initialCents: view.initialCents,
          balanceCents: view.balanceCents,
          transactions: ledger.response.body.transactions,
          reported: report.withdrawals,
          uncertainWithdrawals: report.uncertainWithdrawals,
        }),
      );
    }),
  );
}
