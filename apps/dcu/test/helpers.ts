import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestPostgres, type TestPostgres } from '@grantline/postgres/testing';
import { Client } from 'pg';
import { buildDcuApp, type DcuAppOptions } from '../src/app';

export const serviceToken = 'test-service-token-0123456789';
export const accountKeySecret = 'test-account-key-secret-0123456789';

export type DcuApp = Awaited<ReturnType<typeof buildDcuApp>>;

/** The stores every money-rule, model and fuzz suite runs against (`describe.each(STORES)`). */
export const STORES = ['files', 'postgres'] as const;
export type StoreKind = (typeof STORES)[number];

/** PostgreSQL for this test file, started on first use and stopped after the file's last test. */
let postgres: Promise<TestPostgres> | undefined;
afterAll(async () => {
  const started = postgres;
  postgres = undefined;
  await (await started)?.close();
});

/**
 * The database behind an "account folder" of the postgres store: buildTestDcu(accountDir) finds
 * it here, so a suite switches stores in makeAccountDir alone, and a restart on the same folder
 * means the same database.
 */
const databaseOf = new Map<string, string>();

export async function makeAccountDir(
  store: StoreKind = 'files',
): Promise<{ root: string; accountDir: string; cleanup(): Promise<void> }> {
  // The account folder sits inside a root of its own, so a test can see a file escape it.
  const root = await mkdtemp(join(tmpdir(), 'grantline-dcu-'));
  const accountDir = join(root, 'accounts');
  if (store === 'postgres') {
    postgres ??= startTestPostgres();
    databaseOf.set(accountDir, await (await postgres).createDatabase());
  }
  return {
    root,
    accountDir,
    cleanup: async () => {
      const databaseUrl = databaseOf.get(accountDir);
      databaseOf.delete(accountDir);
      // Called once the suite closed its apps: the database goes back to be handed out again.
      if (databaseUrl !== undefined) await (await postgres!).release(databaseUrl);
      await rm(root, { recursive: true, force: true });
    },
  };
}

/**
 * Everything a store keeps, as text: every file under the folder, or every row of every table
 * of the database (to check that no secret is stored in clear).
 */
export async function storedText(accountDir: string): Promise<string> {
  const databaseUrl = databaseOf.get(accountDir);
  if (databaseUrl === undefined) {
    const names = await readdir(accountDir, { recursive: true });
    const texts = await Promise.all(
      names.map((name) => readFile(join(accountDir, String(name)), 'utf8').catch(() => '')),
    );
    return texts.join('\n');
  }
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(
      "SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = 'public'",
    );
    const dumps = await Promise.all(
      rows.map(async ({ name }) => JSON.stringify((await client.query(`SELECT * FROM ${name}`)).rows)),
    );
    return dumps.join('\n');
  } finally {
    await client.end();
  }
}

export function buildTestDcu(accountDir: string, options: Partial<DcuAppOptions> = {}): Promise<DcuApp> {
  const databaseUrl = databaseOf.get(accountDir);
  return buildDcuApp({
    serviceToken,
    accountKeySecret,
    accountDir,
    dayMs: 1000,
    fastify: { logger: false },
    ...(databaseUrl === undefined ? {} : { database: { url: databaseUrl } }),
    ...options,
  });
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

export interface OpenedAccount {
  accountId: string;
  ownerKey: string;
}

export async function openAccount(
  app: DcuApp,
  terms: Partial<{ proposalId: string; amountCents: number; durationDays: number; title: string }> = {},
): Promise<OpenedAccount> {
  const response = await app.inject({
    method: 'POST',
    url: '/accounts',
    headers: bearer(serviceToken),
    payload: {
      proposalId: terms.proposalId ?? randomUUID(),
      title: terms.title ?? 'Soil microbes',
      investigator: 'Ada Lovelace',
      amountCents: terms.amountCents ?? 40_000_000,
      durationDays: terms.durationDays ?? 30,
    },
  });
  if (response.statusCode !== 201) throw new Error(`open failed: ${response.statusCode} ${response.body}`);
  return response.json();
}

export async function addStudent(app: DcuApp, account: OpenedAccount, name = 'Grace Hopper') {
  const response = await app.inject({
    method: 'POST',
    url: `/accounts/${account.accountId}/researchers`,
    headers: bearer(account.ownerKey),
    payload: { name },
  });
  if (response.statusCode !== 201) throw new Error(`add failed: ${response.statusCode} ${response.body}`);
  return response.json<{ researcherId: string; key: string }>();
}

export function withdraw(app: DcuApp, accountId: string, key: string, amountCents: number, idempotencyKey = randomUUID()) {
  return app.inject({
    method: 'POST',
    url: `/accounts/${accountId}/withdrawals`,
    headers: { ...bearer(key), 'idempotency-key': idempotencyKey },
    payload: { amountCents },
  });
}

/** Every path under `root`, relative to it, to check that nothing escaped the account folder. */
export async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true });
  return entries.map(String).sort();
}

export interface TransactionLine {
  id: string;
  type: 'deposit' | 'withdrawal';
  amountCents: number;
  researcherId: string;
  at: string;
  balanceAfterCents: number;
}

/** The whole history, following `next` page by page; fails on any page that is not a 200. */
export async function allTransactions(app: DcuApp, accountId: string, key: string, limit?: number): Promise<TransactionLine[]> {
  const transactions: TransactionLine[] = [];
  let after: string | null | undefined;
  for (let pages = 0; after !== null; pages++) {
    if (pages > 100_000) throw new Error('the history never ends: a cursor loops');
    const query = new URLSearchParams();
    if (limit !== undefined) query.set('limit', String(limit));
    if (after !== undefined) query.set('after', after);
    const response = await app.inject({ url: `/accounts/${accountId}/transactions?${query}`, headers: bearer(key) });
    if (response.statusCode !== 200) throw new Error(`transactions page: ${response.statusCode} ${response.body}`);
    const page = response.json<{ transactions: TransactionLine[]; next: string | null }>();
    if (limit !== undefined && page.transactions.length > limit) throw new Error(`a page of ${page.transactions.length} for limit ${limit}`);
    transactions.push(...page.transactions);
    after = page.next;
  }
  return transactions;
}
