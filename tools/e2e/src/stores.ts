import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { Client } from 'pg';
import { checkBalanceChain, checkLedgerArithmetic, readAccountFolder } from './ledger-files';
import type { LoadResult } from './load';

/**
 * The stores the DCUs and agencies of a system keep their state in: one account folder (and
 * one agency folder) they share, or one PostgreSQL database they share. A whole-system suite
 * that checks money runs over each (`describe.each(STORES)`), as the DCU's own suites do.
 */
export const STORES = ['files', 'postgres'] as const;
export type StoreKind = (typeof STORES)[number];

/**
 * How a store identifies an Idempotency-Key: the PostgreSQL store keeps only this digest, the
 * file store the key itself; the ledgers below carry the digest for both, so a check compares
 * like with like.
 */
export function keyDigest(idempotencyKey: string): string {
  return createHash('sha256').update(idempotencyKey).digest('hex');
}

export interface StoredWithdrawal {
  id: string;
  amountCents: number;
  balanceAfterCents: number;
  /** keyDigest() of its Idempotency-Key. */
  keyDigest: string;
}

/** One account as its store holds it, read without the DCU's code. */
export interface StoredAccount {
  accountId: string;
  initialCents: number;
  /** In the order they were applied. */
  withdrawals: StoredWithdrawal[];
  /** Once the account ended (expired or spent). */
  closeout: StoredCloseout | undefined;
}

export interface StoredCloseout {
  /** What the account handed back to the agency: its balance when it closed. */
  returnedCents: number;
  /**
   * The agency confirmed it counted that money, and the store shows nothing more to send
   * (on files: the acknowledgement is in the ledger and the account left the outbox `ends/`).
   */
  acknowledged: boolean;
}

export interface StoredLedgers {
  store: StoreKind;
  accounts: Map<string, StoredAccount>;
  /**
   * What is wrong with the store on its own terms: a record that does not parse or fails its
   * checksum, a balance that does not follow from the withdrawals or goes below zero, an id or
   * an Idempotency-Key twice, a file where none belongs.
   */
  problems: string[];
  /** What else was found, for a test's report (temp files, lock folders, rows ...). */
  counts: Record<string, number>;
}

/**
 * Every account in an account folder the DCUs share: every ledger line complete and
 * checksummed, its arithmetic sound; lock folders of a dead DCU, its marks of waiting for one, and temp files it left
 * mid-write are counted (they are swept at the next start), any other stray file is a problem.
 */
export async function readFileLedgers(accountDir: string): Promise<StoredLedgers> {
  const folder = await readAccountFolder(accountDir);
  const problems = [...folder.problems];
  // `journal/` holds the DCUs' commit journals (apps/dcu/src/storage/files/commit-journal.ts).
  const strayNames = folder.otherNames.filter(
    (name) => !name.endsWith('.lock') && !name.endsWith('.lock.wanted') && !name.endsWith('.tmp') && name !== 'journal',
  );
  if (strayNames.length > 0)
    problems.push(`unexpected files in the account folder: ${strayNames.join(', ')}`);
  const accounts = new Map<string, StoredAccount>();
  let withdrawals = 0;
  let withoutSnapshot = 0;
  for (const files of folder.accounts.values()) {
    problems.push(...files.problems, ...checkLedgerArithmetic(files).problems);
    // A snapshot is a convenience written after the ledger (a DCU killed in between leaves
    // none); it is counted when it is not there.
    if (files.snapshot === undefined) withoutSnapshot += 1;
    const opened = files.records[0];
    const closed = files.records.filter((record) => record.type === 'closed');
    const acknowledgements = files.records.filter(
      (record) => record.type === 'closeout-acknowledged',
    ).length;
    if (closed.length > 1) problems.push(`${files.accountId}: closed ${closed.length} times`);
    if (acknowledgements > 0 && closed.length === 0)
      problems.push(`${files.accountId}: a closeout acknowledged, of an account never closed`);
    const account: StoredAccount = {
      accountId: files.accountId,
      initialCents: opened?.type === 'opened' ? (opened.initialCents ?? 0) : 0,
      withdrawals: files.records
        .filter((record) => record.type === 'withdrawal')
        .map((record) => ({
          id: record.id ?? '',
          amountCents: record.amountCents ?? 0,
          balanceAfterCents: record.balanceAfterCents ?? 0,
          keyDigest: keyDigest(record.idempotencyKey ?? ''),
        })),
      closeout:
        closed[0] === undefined
          ? undefined
          : {
              returnedCents: closed[0].returnedCents ?? -1,
              acknowledged:
                acknowledgements > 0 && !folder.endsListed.includes(files.accountId),
            },
    };
    withdrawals += account.withdrawals.length;
    accounts.set(account.accountId, account);
  }
  return {
    store: 'files',
    accounts,
    problems,
    counts: {
      accounts: accounts.size,
      withdrawals,
      lockFoldersLeft: folder.otherNames.filter((name) => name.endsWith('.lock')).length,
      wantedMarkersLeft: folder.otherNames.filter((name) => name.endsWith('.lock.wanted')).length,
      tempFilesLeft: folder.otherNames.filter((name) => name.endsWith('.tmp')).length,
      accountsWithoutSnapshot: withoutSnapshot,
      fencedLines: [...folder.accounts.values()].reduce((sum, files) => sum + files.fencedLines, 0),
    },
  };
}

/**
 * Every account in the database the DCUs share, read with plain SQL: the withdrawals of each
 * numbered 1..n without a gap, their balances a sound chain from the deposit, and the
 * account's balance and withdrawal count what its withdrawals say. `unusedFolders` were given
 * to the services as ACCOUNT_DIR / AGENCY_DIR anyway: they must stay empty, so a service that
 * wrongly kept files there (shared through the folder, not the database) is caught.
 */
export async function readDatabaseLedgers(
  databaseUrl: string,
  unusedFolders: readonly string[],
): Promise<StoredLedgers> {
  const problems: string[] = [];
  for (const folder of unusedFolders) {
    const names = await readdir(folder).catch(() => []);
    if (names.length > 0)
      problems.push(
        `files in ${folder}, which the database store must not use: ${names.join(', ')}`,
      );
  }
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const accountRows = await db.query<{
      account_id: string;
      initial_cents: string;
      balance_cents: string;
      withdrawal_count: number;
      returned_cents: string | null;
      closeout_acknowledged: boolean;
    }>(
      `SELECT account_id, initial_cents, balance_cents, withdrawal_count, returned_cents,
              closeout_acknowledged
         FROM dcu_accounts`,
    );
    const withdrawalRows = await db.query<{
      account_id: string;
      seq: number;
      withdrawal_id: string;
      amount_cents: string;
      balance_after_cents: string;
      key_digest: string;
    }>(
      `SELECT account_id, seq, withdrawal_id, amount_cents, balance_after_cents,
              encode(idempotency_key_hash, 'hex') AS key_digest
         FROM dcu_withdrawals ORDER BY account_id, seq`,
    );
    const accounts = new Map<string, StoredAccount>();
    const rowsOf = new Map<string, typeof withdrawalRows.rows>();
    for (const row of withdrawalRows.rows) {
      const rows = rowsOf.get(row.account_id) ?? [];
      rows.push(row);
      rowsOf.set(row.account_id, rows);
    }
    for (const row of accountRows.rows) {
      const rows = rowsOf.get(row.account_id) ?? [];
      rowsOf.delete(row.account_id);
      const account: StoredAccount = {
        accountId: row.account_id,
        initialCents: cents(row.initial_cents),
        withdrawals: rows.map((withdrawal) => ({
          id: withdrawal.withdrawal_id,
          amountCents: cents(withdrawal.amount_cents),
          balanceAfterCents: cents(withdrawal.balance_after_cents),
          keyDigest: withdrawal.key_digest,
        })),
        closeout:
          row.returned_cents === null
            ? undefined
            : { returnedCents: cents(row.returned_cents), acknowledged: row.closeout_acknowledged },
      };
      accounts.set(account.accountId, account);
      const gap = rows.findIndex((withdrawal, index) => withdrawal.seq !== index + 1);
      if (gap !== -1)
        problems.push(
          `${row.account_id}: withdrawal number ${rows[gap]!.seq} where ${gap + 1} belongs`,
        );
      const chain = checkBalanceChain(
        account.accountId,
        account.initialCents,
        account.withdrawals.map((withdrawal) => ({ ...withdrawal, key: withdrawal.keyDigest })),
      );
      problems.push(...chain.problems);
      if (cents(row.balance_cents) !== chain.balanceCents)
        problems.push(
          `${row.account_id}: balance ${row.balance_cents}, its withdrawals leave ${chain.balanceCents}`,
        );
      if (row.withdrawal_count !== rows.length)
        problems.push(
          `${row.account_id}: counts ${row.withdrawal_count} withdrawals, holds ${rows.length}`,
        );
    }
    for (const accountId of rowsOf.keys()) problems.push(`${accountId}: withdrawals of no account`);
    return {
      store: 'postgres',
      accounts,
      problems,
      counts: { accounts: accounts.size, withdrawals: withdrawalRows.rows.length },
    };
  } finally {
    await db.end();
  }
}

/**
 * What a store holds against what a load (runLoad) was told, whatever the store: every
 * account the load opened is there with its deposit; every acknowledged withdrawal is there
 * exactly once, with the id and amount it was acknowledged with; every withdrawal of those
 * accounts was acknowledged, or is the retried twin of a request whose answer never came
 * (counted in `twins`), and never one that was refused.
 */
export function checkStoreAgainstLoad(
  stored: StoredLedgers,
  load: LoadResult,
): { problems: string[]; twins: number } {
  const problems: string[] = [];
  // Compared on digests of the keys: the database store keeps nothing else.
  const byDigest = <V>(keys: Map<string, V>) =>
    new Map([...keys].map(([key, value]) => [keyDigest(key), { key, value }]));
  const acknowledged = byDigest(load.acknowledged);
  const unresolved = byDigest(load.unresolved);
  const refused = byDigest(load.refused);
  const found = new Map<string, number>();
  let twins = 0;
  for (const account of load.accounts) {
    const ledger = stored.accounts.get(account.accountId);
    if (!ledger) {
      problems.push(
        `${account.accountId}: an account the load opened is not in the ${stored.store} store`,
      );
      continue;
    }
    if (ledger.initialCents !== account.initialCents)
      problems.push(
        `${account.accountId}: initial ${ledger.initialCents} in the store, ${account.initialCents} asked`,
      );
    for (const withdrawal of ledger.withdrawals) {
      const answer = acknowledged.get(withdrawal.keyDigest);
      if (answer) {
        found.set(answer.key, (found.get(answer.key) ?? 0) + 1);
        if (
          answer.value.withdrawalId !== withdrawal.id ||
          answer.value.amountCents !== withdrawal.amountCents ||
          answer.value.accountId !== account.accountId
        )
          problems.push(
            `key ${answer.key}: stored as ${withdrawal.id} of ${withdrawal.amountCents} in ${account.accountId}, acknowledged as ${answer.value.withdrawalId} of ${answer.value.amountCents} in ${answer.value.accountId}`,
          );
      } else if (unresolved.has(withdrawal.keyDigest)) {
        twins += 1;
      } else {
        const wasRefused = refused.get(withdrawal.keyDigest);
        problems.push(
          `${withdrawal.id} in ${account.accountId} was never acknowledged` +
            (wasRefused ? ` and was even refused (key ${wasRefused.key})` : ''),
        );
      }
    }
  }
  for (const [key, answer] of load.acknowledged) {
    const times = found.get(key) ?? 0;
    if (times !== 1)
      problems.push(
        `acknowledged withdrawal ${answer.withdrawalId} (key ${key}) is ${times} times in the store`,
      );
  }
  return { problems, twins };
}

/** A bigint column (pg answers it as text) as a number of cents, which are safe integers. */
function cents(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new Error(`${text} cents is not a safe integer`);
  return value;
}
