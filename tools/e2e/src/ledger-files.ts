import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/** A ledger line as the DCU writes it (`<accountId>.ledger.jsonl`), read without trusting the DCU's code. */
export interface LedgerLine {
  type: string;
  accountId?: string;
  initialCents?: number;
  id?: string;
  researcherId?: string;
  amountCents?: number;
  balanceAfterCents?: number;
  idempotencyKey?: string;
}

export interface AccountFiles {
  accountId: string;
  /** Every line of the ledger, parsed (a line that does not parse is listed in `problems`). */
  records: LedgerLine[];
  /** The snapshot `<accountId>.json`, parsed, if there is one. */
  snapshot: Record<string, unknown> | undefined;
  problems: string[];
}

export interface AccountFolder {
  accounts: Map<string, AccountFiles>;
  /** Names that are neither a ledger nor a snapshot (temp files, lock folders, ...). */
  otherNames: string[];
  /** Problems not tied to one account (a snapshot without a ledger, ...). */
  problems: string[];
}

const LEDGER_SUFFIX = '.ledger.jsonl';

/**
 * Reads every account in `accountDir` from the files themselves: each ledger line must be a
 * complete JSON object ending in a newline, each snapshot must parse.
 */
export async function readAccountFolder(accountDir: string): Promise<AccountFolder> {
  const names = await readdir(accountDir);
  const accounts = new Map<string, AccountFiles>();
  const otherNames: string[] = [];
  const problems: string[] = [];
  for (const name of names.filter((n) => n.endsWith(LEDGER_SUFFIX))) {
    const accountId = name.slice(0, -LEDGER_SUFFIX.length);
    const files: AccountFiles = { accountId, records: [], snapshot: undefined, problems: [] };
    const text = await readFile(path.join(accountDir, name), 'utf8');
    if (text.length > 0 && !text.endsWith('\n'))
      files.problems.push(`${name}: the last line is incomplete (torn write)`);
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    lines.forEach((line, index) => {
      try {
        const value: unknown = JSON.parse(line);
        if (
          value === null ||
          typeof value !== 'object' ||
          typeof (value as LedgerLine).type !== 'string'
        ) {
          files.problems.push(`${name}:${index + 1}: not a ledger record: ${line.slice(0, 200)}`);
        } else {
          files.records.push(value as LedgerLine);
        }
      } catch {
        files.problems.push(`${name}:${index + 1}: does not parse: ${line.slice(0, 200)}`);
      }
    });
    accounts.set(accountId, files);
  }
  for (const name of names.filter((n) => !n.endsWith(LEDGER_SUFFIX))) {
    const match = /^(.+)\.json$/.exec(name);
    const files = match ? accounts.get(match[1]!) : undefined;
    if (!match) {
      otherNames.push(name);
    } else if (!files) {
      problems.push(`${name}: a snapshot without a ledger`);
    } else {
      try {
        files.snapshot = JSON.parse(await readFile(path.join(accountDir, name), 'utf8')) as Record<
          string,
          unknown
        >;
      } catch (error) {
        files.problems.push(`${name}: does not parse (${(error as Error).message})`);
      }
    }
  }
  return { accounts, otherNames: otherNames.sort(), problems };
}

/**
 * The ledger's own arithmetic: it opens with the deposit, every withdrawal follows from the
 * balance before it, and the balance never goes below zero. Returns the final balance and
 * the problems found.
 */
export function checkLedgerArithmetic(files: AccountFiles): {
  balanceCents: number;
  withdrawnCents: number;
  problems: string[];
} {
  const problems: string[] = [];
  const [first, ...rest] = files.records;
  if (first?.type !== 'opened' || typeof first.initialCents !== 'number') {
    return {
      balanceCents: 0,
      withdrawnCents: 0,
      problems: [`${files.accountId}: the ledger does not start with "opened"`],
    };
  }
  let balance = first.initialCents;
  let withdrawn = 0;
  const ids = new Set<string>();
  const keys = new Set<string>();
  for (const record of rest) {
    if (record.type === 'opened') problems.push(`${files.accountId}: opened twice`);
    if (record.type !== 'withdrawal') continue;
    const amount = record.amountCents;
    if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount <= 0) {
      problems.push(`${files.accountId}: withdrawal ${record.id} has amount ${String(amount)}`);
      continue;
    }
    balance -= amount;
    withdrawn += amount;
    if (balance < 0)
      problems.push(`${files.accountId}: balance below zero (${balance}) after ${record.id}`);
    if (record.balanceAfterCents !== balance) {
      problems.push(
        `${files.accountId}: withdrawal ${record.id} says balance ${record.balanceAfterCents}, the sum says ${balance}`,
      );
    }
    if (record.id === undefined || ids.has(record.id))
      problems.push(`${files.accountId}: withdrawal id ${record.id} twice`);
    if (record.idempotencyKey === undefined || keys.has(record.idempotencyKey)) {
      problems.push(`${files.accountId}: Idempotency-Key ${record.idempotencyKey} applied twice`);
    }
    if (record.id) ids.add(record.id);
    if (record.idempotencyKey) keys.add(record.idempotencyKey);
  }
  return { balanceCents: balance, withdrawnCents: withdrawn, problems };
}
