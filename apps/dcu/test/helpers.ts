import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDcuApp, type DcuAppOptions } from '../src/app';

export const serviceToken = 'test-service-token-0123456789';
export const accountKeySecret = 'test-account-key-secret-0123456789';

export type DcuApp = Awaited<ReturnType<typeof buildDcuApp>>;

export async function makeAccountDir(): Promise<{ root: string; accountDir: string; cleanup(): Promise<void> }> {
  // The account folder sits inside a root of its own, so a test can see a file escape it.
  const root = await mkdtemp(join(tmpdir(), 'grantline-dcu-'));
  const accountDir = join(root, 'accounts');
  return { root, accountDir, cleanup: () => rm(root, { recursive: true, force: true }) };
}

export function buildTestDcu(accountDir: string, options: Partial<DcuAppOptions> = {}): Promise<DcuApp> {
  return buildDcuApp({
    serviceToken,
    accountKeySecret,
    accountDir,
    dayMs: 1000,
    fastify: { logger: false },
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
