import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';

/** A ledger record as the DCU writes it (`<accountId>.ledger.jsonl`), read without trusting the DCU's code. */
export interface LedgerLine {
  type: string;
  accountId?: string;
  initialCents?: number;
  id?: string;
  researcherId?: string;
  amountCents?: number;
  balanceAfterCents?: number;
  idempotencyKey?: string;
  /** Of a `closed` record: what the account handed back to the agency. */
  returnedCents?: number;
}

export interface AccountFiles {
  accountId: string;
  /** Every line of the ledger, parsed and checksummed (a line that does not is listed in `problems`). */
  records: LedgerLine[];
  /** Intact lines a fenced-out writer (one that lost its lock while paused) left: not part of the account. */
  fencedLines: number;
  /** The snapshot `<accountId>.json`, parsed, if there is one. */
  snapshot: Record<string, unknown> | undefined;
  problems: string[];
}

export interface AccountFolder {
  accounts: Map<string, AccountFiles>;
  /** Accounts listed in `ends/`: their closeout is not acknowledged yet. */
  endsListed: string[];
  /** Names that are neither a ledger nor a snapshot (temp files, lock folders, ...). */
  otherNames: string[];
  /** Problems not tied to one account (a snapshot without a ledger, ...). */
  problems: string[];
}

const LEDGER_SUFFIX = '.ledger.jsonl';

const SUM_SUFFIX_LENGTH = ',"sum":"'.length + 8 + 2;

/**
 * One ledger line checked on its own terms: it ends in `,"sum":"<crc32 hex>"}`, the CRC-32 of
 * the line without that suffix matches, and it names the offset it lies at (`o`). Written here
 * again rather than imported, so a bug in the DCU's codec cannot hide itself.
 */
function checkLine(line: string, offset: number): { record?: LedgerLine; fenced?: boolean; problem?: string } {
  const sumAt = line.length - SUM_SUFFIX_LENGTH;
  const sum = line.slice(sumAt + ',"sum":"'.length, -2);
  if (sumAt <= 0 || !line.endsWith('"}') || !/^[0-9a-f]{8}$/.test(sum)) return { problem: 'no checksum' };
  const body = `${line.slice(0, sumAt)}}`;
  if (crc32(body) !== Number.parseInt(sum, 16)) return { problem: 'fails its checksum' };
  try {
    const value = JSON.parse(body) as LedgerLine & { o?: unknown };
    if (value === null || typeof value !== 'object' || typeof value.type !== 'string') return { problem: 'not a ledger record' };
    if (value.o !== offset) return { fenced: true };
    return { record: value };
  } catch {
    return { problem: 'does not parse' };
  }
}

/**
 * Reads every account in `accountDir` from the files themselves: each ledger line must be a
 * complete, checksummed JSON object ending in a newline, each snapshot must parse.
 */
export async function readAccountFolder(accountDir: string): Promise<AccountFolder> {
  const names = await readdir(accountDir);
  const accounts = new Map<string, AccountFiles>();
  const otherNames: string[] = [];
  const problems: string[] = [];
  for (const name of names.filter((n) => n.endsWith(LEDGER_SUFFIX))) {
    const accountId = name.slice(0, -LEDGER_SUFFIX.length);
    const files: AccountFiles = { accountId, records: [], fencedLines: 0, snapshot: undefined, problems: [] };
    const bytes = await readFile(path.join(accountDir, name));
    if (bytes.length > 0 && bytes[bytes.length - 1] !== 0x0a)
      files.problems.push(`${name}: the last line is incomplete (torn write)`);
    let offset = 0;
    let lineNumber = 0;
    for (let newline = bytes.indexOf(0x0a); newline !== -1; newline = bytes.indexOf(0x0a, offset)) {
      lineNumber += 1;
      const line = bytes.toString('utf8', offset, newline);
      const checked = checkLine(line, offset);
      if (checked.record) files.records.push(checked.record);
      else if (checked.fenced) files.fencedLines += 1;
      else files.problems.push(`${name}:${lineNumber}: ${checked.problem}: ${line.slice(0, 200)}`);
      offset = newline + 1;
    }
    accounts.set(accountId, files);
  }
  const endsListed = names.includes('ends')
    ? (await readdir(path.join(accountDir, 'ends'))).map((entry) => entry.replace(/\.\d+$/, ''))
    : [];
  // `ends/` lists closeouts not yet acknowledged; `<id>.checkpoint` only saves reading a whole ledger.
  for (const name of names.filter((n) => !n.endsWith(LEDGER_SUFFIX) && n !== 'ends' && !n.endsWith('.checkpoint'))) {
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
  return { accounts, endsListed, otherNames: otherNames.sort(), problems };
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
  const [first, ...rest] = files.records;
  if (first?.type !== 'opened' || typeof first.initialCents !== 'number') {
    return {
      balanceCents: 0,
      withdrawnCents: 0,
      problems: [`${files.accountId}: the ledger does not start with "opened"`],
    };
  }
  const chain = checkBalanceChain(
    files.accountId,
    first.initialCents,
    rest
      .filter((record) => record.type === 'withdrawal')
      .map((record) => ({ ...record, key: record.idempotencyKey })),
  );
  const openedAgain = rest.filter((record) => record.type === 'opened').length;
  return {
    ...chain,
    problems: [
      ...Array.from({ length: openedAgain }, () => `${files.accountId}: opened twice`),
      ...chain.problems,
    ],
  };
}

/** A withdrawal as a store keeps it; `key` is its Idempotency-Key, or a digest of it. */
export interface ChainEntry {
  id?: string;
  amountCents?: number;
  balanceAfterCents?: number;
  key?: string;
}

/**
 * An account's withdrawals, in order, from its initial deposit: every amount a positive
 * integer, every balance after one the balance before minus its amount and never below
 * zero, no withdrawal id and no Idempotency-Key twice. Whatever the store.
 */
export function checkBalanceChain(
  accountId: string,
  initialCents: number,
  withdrawals: readonly ChainEntry[],
): { balanceCents: number; withdrawnCents: number; problems: string[] } {
  const problems: string[] = [];
  let balance = initialCents;
  let withdrawn = 0;
  const ids = new Set<string>();
  const keys = new Set<string>();
  for (const record of withdrawals) {
    const amount = record.amountCents;
    if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount <= 0) {
      problems.push(`${accountId}: withdrawal ${record.id} has amount ${String(amount)}`);
      continue;
    }
    balance -= amount;
    withdrawn += amount;
    if (balance < 0) problems.push(`${accountId}: balance below zero (${balance}) after ${record.id}`);
    if (record.balanceAfterCents !== balance) {
      problems.push(
        `${accountId}: withdrawal ${record.id} says balance ${record.balanceAfterCents}, the sum says ${balance}`,
      );
    }
    if (record.id === undefined || ids.has(record.id))
      problems.push(`${accountId}: withdrawal id ${record.id} twice`);
    if (record.key === undefined || keys.has(record.key))
      problems.push(`${accountId}: Idempotency-Key ${record.key} applied twice`);
    if (record.id) ids.add(record.id);
    if (record.key) keys.add(record.key);
  }
  return { balanceCents: balance, withdrawnCents: withdrawn, problems };
}

/** One answer of GET /accounts/:id/transactions, as a test's HTTP helper returns it. */
export interface HistoryAnswer {
  statusCode: number;
  body: { transactions: Array<{ id: string; type: string; amountCents: number }>; next: string | null };
}

/**
 * The whole history through the API, following `next` page by page. Answers the first
 * non-200 status instead, so a test can report it.
 */
export async function readHistory<A extends HistoryAnswer>(
  fetchPage: (query: string) => Promise<A>,
): Promise<{ statusCode: number; transactions: A['body']['transactions'] }> {
  const transactions: A['body']['transactions'] = [];
  const seen = new Set<string>();
  let query = '?limit=1000';
  for (;;) {
    const answer = await fetchPage(query);
    if (answer.statusCode !== 200) return { statusCode: answer.statusCode, transactions };
    transactions.push(...answer.body.transactions);
    const next = answer.body.next;
    if (next === null) return { statusCode: 200, transactions };
    if (seen.has(next)) throw new Error(`the history's cursor ${next} came twice`);
    seen.add(next);
    query = `?limit=1000&after=${encodeURIComponent(next)}`;
  }
}
