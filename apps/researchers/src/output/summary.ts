import { formatEuro } from '../domain/money';
import { describeEnding, withdrawnCents, type ProjectReport } from '../domain/report';
import type { Style } from './style';

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
export function renderSummary(reports: ProjectReport[], style: Style): string[] {
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
