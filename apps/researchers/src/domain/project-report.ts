import type { ProjectPlan } from './draws';
import type { EndReason } from './decisions';
import type { ReportedWithdrawal } from './ledger-invariants';

export type Decision = 'accepted' | 'rejected' | 'no answer';

/** How a project ended, for the summary. */
export type ProjectEnding =
  | { kind: 'rejected'; reason: string }
  | { kind: 'spent'; reason: EndReason }
  | { kind: 'failed'; reason: string }
  | { kind: 'stopped'; reason: string };

/** What one project did, as the simulation saw it. */
export interface ProjectReport {
  plan: ProjectPlan;
  decision: Decision;
  account?: { accountId: string; ownerKey: string };
  /** The agency's id of the proposal, to look its decision and closeout up. */
  proposalId?: string;
  /** Rejected because the agency's budget had no room left (not for the amount's range). */
  budgetRefusal?: boolean;
  /** What the agency recorded when the DCU closed the account and handed the rest back. */
  closeout?: { returnedCents: number };
  /** What the DCU's account view says it returned (filled in by the final check). */
  accountReturnedCents?: number;
  studentsAdded: number;
  withdrawals: ReportedWithdrawal[];
  /** Withdrawals that failed after retries, whose outcome is unknown. */
  uncertainWithdrawals: number;
  finalBalanceCents?: number;
  ending: ProjectEnding;
  /** Filled in by the final check against the DCU's ledger (final-check.ts). */
  problems: string[];
}

export function withdrawnCents(report: Pick<ProjectReport, 'withdrawals'>): number {
  return report.withdrawals.reduce((total, withdrawal) => total + withdrawal.amountCents, 0);
}

export function describeEnding(ending: ProjectEnding): string {
  switch (ending.kind) {
    case 'rejected':
      return `rejected: ${ending.reason}`;
    case 'spent':
      return ending.reason === 'expired' ? 'account expired' : 'money all spent';
    case 'failed':
      return `failed: ${ending.reason}`;
    case 'stopped':
      return `stopped: ${ending.reason}`;
  }
}
