import { formatEuro, type BudgetView } from '@grantline/contracts';
import type { ProjectReport } from './project-report';

/**
 * The agency's side of a run, as the final check sees it: the budget it reports must match
 * what the run saw. The run's agencies start on a fresh folder (npm start), so their budget
 * holds this run's proposals only:
 *   committed - returned = sum of what accepted accounts started with - what they handed back,
 * every closeout counted once (the agency's returnedCents is the sum of the closeouts the
 * projects saw, and each equals what the DCU says its account returned), and the budget is
 * never overcommitted. When the agency also serves others (`sharedAgency`), the run's sums must
 * fit inside its totals instead.
 */
export function findBudgetProblems(
  budget: BudgetView,
  reports: readonly ProjectReport[],
  { sharedAgency = false }: { sharedAgency?: boolean } = {},
): string[] {
  const problems: string[] = [];
  const accepted = reports.filter((report) => report.account !== undefined);
  const startedWith = accepted.reduce((sum, report) => sum + report.plan.amountCents, 0);
  const handedBack = accepted.reduce(
    (sum, report) => sum + (report.closeout?.returnedCents ?? 0),
    0,
  );
  const net = budget.committedCents - budget.returnedCents;
  if (sharedAgency) {
    // Others' proposals are in the totals too: this run's part must be inside them.
    if (budget.committedCents < startedWith) {
      problems.push(
        `the agency's budget has ${formatEuro(budget.committedCents)} committed, less than the ` +
          `${formatEuro(startedWith)} this run's accepted accounts started with`,
      );
    }
    if (budget.returnedCents < handedBack) {
      problems.push(
        `the agency counted ${formatEuro(budget.returnedCents)} returned, less than the ` +
          `${formatEuro(handedBack)} this run's closeouts add up to`,
      );
    }
  } else if (net !== startedWith - handedBack) {
    problems.push(
      `the agency's budget says committed − returned = ${formatEuro(net)}, but the accepted accounts started with ` +
        `${formatEuro(startedWith)} and handed back ${formatEuro(handedBack)} (${formatEuro(startedWith - handedBack)})`,
    );
  }
  if (!sharedAgency && budget.returnedCents !== handedBack) {
    problems.push(
      `the agency counted ${formatEuro(budget.returnedCents)} returned, but the closeouts of this run add up to ${formatEuro(handedBack)}`,
    );
  }
  if (budget.totalCents !== null && net > budget.totalCents) {
    problems.push(
      `the budget is overcommitted: ${formatEuro(net)} outstanding of ${formatEuro(budget.totalCents)}`,
    );
  }
  for (const report of accepted) {
    if (report.closeout === undefined || report.accountReturnedCents === undefined) continue;
    if (report.closeout.returnedCents !== report.accountReturnedCents) {
      problems.push(
        `${report.plan.code}: the agency recorded ${formatEuro(report.closeout.returnedCents)} returned, ` +
          `the DCU's account says ${formatEuro(report.accountReturnedCents)}`,
      );
    }
    if (
      report.finalBalanceCents !== undefined &&
      report.closeout.returnedCents !== report.finalBalanceCents
    ) {
      problems.push(
        `${report.plan.code}: ${formatEuro(report.closeout.returnedCents)} handed back, but the account ended with ${formatEuro(report.finalBalanceCents)}`,
      );
    }
  }
  return problems;
}
