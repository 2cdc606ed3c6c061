import { formatEuro, type BudgetView } from '@grantline/contracts';
import type { FailedOperation } from '../actors/project-state';
import { describeEnding, withdrawnCents, type ProjectReport } from '../domain/project-report';
import type { Style } from './style';

/** Everything the end of a run reports on. */
export interface RunOutcome {
  reports: ProjectReport[];
  failures: FailedOperation[];
  /** Stopped by Ctrl-C: the ledgers were not checked. */
  interrupted: boolean;
  /** Why the run stopped early for any other reason (the timeout). */
  stopReason?: string;
  /** The agency's budget at the end and what the check found wrong with it. */
  budgetCheck?: { budget?: BudgetView; problems: string[]; sharedAgency?: boolean };
}

/**
 * The whole text printed at the end of a run: the table, the totals, the failed operations
 * and the result of the final check (see final-check.ts).
 */
export function summaryText(outcome: RunOutcome, style: Style): string[] {
  const { reports, failures } = outcome;
  const accepted = reports.filter((report) => report.account);
  const totalWithdrawn = accepted.reduce((total, report) => total + withdrawnCents(report), 0);
  const confirmed = accepted.reduce((total, report) => total + report.withdrawals.length, 0);
  const lines = [
    '',
    style.paint('bold', 'Summary'),
    ...summaryTable(reports, style),
    '',
    `${accepted.length} of ${reports.length} proposals accepted; ${confirmed} withdrawals, ${formatEuro(totalWithdrawn)} in all.`,
  ];

  if (failures.length > 0) {
    lines.push(style.paint('red', `${failures.length} operation(s) failed after retries:`));
    lines.push(
      ...failures.map(
        (failure) =>
          `  [${failure.project} ${failure.actor}] ${failure.operation}: ${failure.error}`,
      ),
    );
  } else {
    lines.push(style.paint('green', 'No operation failed.'));
  }
  const problems = reports.flatMap((report) =>
    report.problems.map((problem) => `${report.plan.code}: ${problem}`),
  );
  if (outcome.interrupted) {
    lines.push(style.paint('yellow', 'Interrupted: the ledgers were not checked.'));
  } else if (problems.length > 0) {
    lines.push(style.paint('red', `The ledger check found ${problems.length} problem(s):`));
    lines.push(...problems.map((problem) => `  ${problem}`));
  } else {
    lines.push(
      style.paint(
        'green',
        `Ledger check passed for ${accepted.length} account(s): balance = initial − withdrawals, never below zero, ` +
          'every confirmed withdrawal in the ledger exactly once.',
      ),
    );
  }
  if (outcome.budgetCheck !== undefined)
    lines.push(...budgetLines(reports, outcome.budgetCheck, style));
  if (outcome.stopReason !== undefined) lines.push(style.paint('red', outcome.stopReason));
  return lines;
}

/** The funder's side: the budget, budget refusals, closeouts, and the check of the three. */
function budgetLines(
  reports: ProjectReport[],
  check: NonNullable<RunOutcome['budgetCheck']>,
  style: Style,
): string[] {
  const lines: string[] = [];
  const { budget } = check;
  const refused = reports.filter((report) => report.budgetRefusal).length;
  const closed = reports.filter((report) => report.closeout !== undefined);
  const handedBack = closed.reduce((sum, report) => sum + (report.closeout?.returnedCents ?? 0), 0);
  if (budget !== undefined) {
    lines.push(
      `Agency budget: ${budget.totalCents === null ? 'unlimited' : formatEuro(budget.totalCents)}; committed ${formatEuro(budget.committedCents)}, ` +
        `returned ${formatEuro(budget.returnedCents)}, available ${budget.availableCents === null ? 'unlimited' : formatEuro(budget.availableCents)}.`,
    );
  }
  lines.push(
    `${refused} proposal(s) turned down because the budget was spent; ${closed.length} account(s) closed, ${formatEuro(handedBack)} handed back.`,
  );
  if (check.problems.length > 0) {
    lines.push(style.paint('red', `The budget check found ${check.problems.length} problem(s):`));
    lines.push(...check.problems.map((problem) => `  ${problem}`));
  } else {
    lines.push(
      style.paint(
        'green',
        check.sharedAgency
          ? "Budget check passed: this run's accounts and closeouts fit in the agency's totals (shared with others); every closeout counted once."
          : 'Budget check passed: committed − returned = what the accepted accounts started with − what they handed back; every closeout counted once.',
      ),
    );
  }
  return lines;
}

type Align = 'left' | 'right';
interface Column {
  title: string;
  align: Align;
  cell(report: ProjectReport): string;
  paint?(report: ProjectReport, text: string, style: Style): string;
}

const COLUMNS: Column[] = [
  { title: 'project', align: 'left', cell: (report) => report.plan.code },
  { title: 'professor', align: 'left', cell: (report) => `prof. ${report.plan.professor}` },
  { title: 'asked', align: 'right', cell: (report) => formatEuro(report.plan.amountCents) },
  {
    title: 'decision',
    align: 'left',
    cell: (report) => report.decision,
    paint: (report, text, style) =>
      style.paint(
        report.decision === 'accepted'
          ? 'green'
          : report.decision === 'rejected'
            ? 'yellow'
            : 'red',
        text,
      ),
  },
  {
    title: 'students',
    align: 'right',
    cell: (report) => (report.decision === 'accepted' ? String(report.studentsAdded) : '-'),
  },
  {
    title: 'withdrawals',
    align: 'right',
    cell: (report) => (report.decision === 'accepted' ? String(report.withdrawals.length) : '-'),
  },
  {
    title: 'withdrawn',
    align: 'right',
    cell: (report) => (report.decision === 'accepted' ? formatEuro(withdrawnCents(report)) : '-'),
  },
  {
    title: 'final balance',
    align: 'right',
    cell: (report) =>
      report.finalBalanceCents === undefined ? '-' : formatEuro(report.finalBalanceCents),
  },
  {
    title: 'returned',
    align: 'right',
    cell: (report) =>
      report.closeout === undefined ? '-' : formatEuro(report.closeout.returnedCents),
  },
  {
    title: 'how it ended',
    align: 'left',
    cell: (report) => describeEnding(report.ending),
    paint: (report, text, style) =>
      report.ending.kind === 'failed' || report.ending.kind === 'stopped'
        ? style.paint('red', text)
        : text,
  },
];

/** The end-of-run table, one row per project; widths are measured on the plain text. */
export function summaryTable(reports: ProjectReport[], style: Style): string[] {
  const cells = reports.map((report) => COLUMNS.map((column) => column.cell(report)));
  const widths = COLUMNS.map((column, index) =>
    Math.max(column.title.length, ...cells.map((row) => (row[index] ?? '').length)),
  );
  const pad = (text: string, index: number) => {
    const width = widths[index] ?? 0;
    return COLUMNS[index]?.align === 'right' ? text.padStart(width) : text.padEnd(width);
  };
  const header = COLUMNS.map((column, index) => pad(column.title, index)).join('  ');
  const rule = widths.map((width) => '─'.repeat(width)).join('  ');
  const rows = reports.map((report, row) =>
    COLUMNS.map((column, index) => {
      const text = pad(cells[row]?.[index] ?? '', index);
      return column.paint ? column.paint(report, text, style) : text;
    })
      .join('  ')
      .trimEnd(),
  );
  return [style.paint('bold', header.trimEnd()), style.paint('dim', rule), ...rows];
}
