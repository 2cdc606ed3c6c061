import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { WithdrawalEvent } from '../src/domain/account';
import { FileAccountStore } from '../src/storage/files/file-store';
import { LedgerFile } from '../src/storage/files/ledger-file';
import type { AccountStore } from '../src/storage/store';
import { allTransactions, bearer, buildTestDcu, makeAccountDir, openAccount, withdraw, type DcuApp, type TransactionLine } from './helpers';

jest.setTimeout(120_000);

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

async function wholeHistory(store: AccountStore, accountId: string): Promise<TransactionLine[]> {
  const lines: TransactionLine[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await store.transactions(accountId, { limit: 2, after });
    lines.push(...page.transactions);
    if (page.next === null) return lines;
    after = page.next;
  }
}

/**
 * Faults of the files themselves: a crash that tears the last group commit at any byte, a byte
 * flipped anywhere inside a record, and a writer that wakes up after another took its account.
 */
describe('ledger faults', () => {
  let folder: Awaited<ReturnType<typeof makeAccountDir>>;
  const apps: DcuApp[] = [];
  const now = () => Date.parse('2030-01-01T00:00:00Z');
  const start = async (accountDir = folder.accountDir) => {
    const app = await buildTestDcu(accountDir, { now });
    apps.push(app);
    return app;
  };
  const stop = async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  };

  beforeEach(async () => {
    folder = await makeAccountDir();
  });
  afterEach(async () => {
    await stop();
    await folder.cleanup();
  });

  it('recovers a ledger torn at every byte of its last group commit to a prefix of what was acknowledged', async () => {
    const app = await start();
    const account = await openAccount(app);
    for (const amountCents of [100, 200]) expect((await withdraw(app, account.accountId, account.ownerKey, amountCents)).statusCode).toBe(201);
    const ledgerPath = join(folder.accountDir, `${account.accountId}.ledger.jsonl`);
    const beforeBatch = (await readFile(ledgerPath)).length;
    // The last write: withdrawals sent together, committed by one group commit (or a few).
    const last = await Promise.all([1, 2, 3, 4].map((cents) => withdraw(app, account.accountId, account.ownerKey, cents)));
    for (const answer of last) expect(answer.statusCode).toBe(201);
    const acknowledged = await allTransactions(app, account.accountId, account.ownerKey);
    await stop();
    const whole = await readFile(ledgerPath);
    expect(whole.length).toBeGreaterThan(beforeBatch);

    // Each cut read by the store itself (no HTTP: a thousand restarts stay quick).
    const ownerId = acknowledged[0]!.researcherId;
    const copy = join(folder.root, 'torn');
    for (let cut = beforeBatch; cut < whole.length; cut++) {
      await rm(copy, { recursive: true, force: true });
      await mkdir(copy);
      await writeFile(join(copy, `${account.accountId}.ledger.jsonl`), whole.subarray(0, cut));
      const store = new FileAccountStore({ directory: copy, keySecret: 'faults', dayMs: 1000, now, logger: silent });
      await store.start();
      const history = await wholeHistory(store, account.accountId);
      // A prefix of the acknowledged history, at least everything written before the last batch.
      expect(history.length).toBeGreaterThanOrEqual(3);
      expect({ cut, history }).toEqual({ cut, history: acknowledged.slice(0, history.length) });
      const view = await store.view(account.accountId);
      expect(view.balanceCents).toBe(history.at(-1)!.balanceAfterCents);
      // The torn tail is cut by the next change, which then lands right after the intact records
      // (checked at a sample of the cuts and around every record boundary: each costs fsyncs).
      const nearBoundary = whole[cut - 1] === 0x0a || whole[cut] === 0x0a;
      if (cut % 16 !== 0 && !nearBoundary) {
        await store.close();
        continue;
      }
      await store.withdraw(account.accountId, { researcherId: ownerId, amountCents: 7, idempotencyKey: `after-${cut}` });
      const after = await wholeHistory(store, account.accountId);
      expect(after.slice(0, -1)).toEqual(history);
      expect(after.at(-1)).toMatchObject({ amountCents: 7, balanceAfterCents: view.balanceCents - 7 });
      await store.close();
    }
  });

  it('answers 503 naming the damage for a byte flipped anywhere in a record, and keeps serving other accounts', async () => {
    const app = await start();
    const damaged = await openAccount(app);
    const healthy = await openAccount(app);
    await withdraw(app, damaged.accountId, damaged.ownerKey, 1_234);
    await withdraw(app, healthy.accountId, healthy.ownerKey, 4_321);
    await stop();
    const ledgerPath = join(folder.accountDir, `${damaged.accountId}.ledger.jsonl`);
    const intact = await readFile(ledgerPath);

    const server = await start();
    const read = (account: { accountId: string; ownerKey: string }) =>
      server.inject({ url: `/accounts/${account.accountId}`, headers: bearer(account.ownerKey) });
    // Every byte of both records, the newlines included. The damaged account is never loaded
    // while intact, so each flip is read afresh.
    for (let position = 0; position < intact.length; position++) {
      const flipped = Buffer.from(intact);
      flipped[position] = flipped[position]! ^ (position % 2 === 0 ? 0x01 : 0x20);
      await writeFile(ledgerPath, flipped);
      const answer = await read(damaged);
      expect({ position, statusCode: answer.statusCode }).toEqual({ position, statusCode: 503 });
      expect(answer.json().message).toMatch(/damaged.*byte \d+/);
      expect((await withdraw(server, damaged.accountId, damaged.ownerKey, 1)).statusCode).toBe(503);
    }
    expect((await read(healthy)).statusCode).toBe(200);
    expect((await withdraw(server, healthy.accountId, healthy.ownerKey, 1)).statusCode).toBe(201);
    expect((await server.inject({ url: '/health' })).statusCode).toBe(200);
    // The damaged ledger was never written to nor cut.
    const last = await readFile(ledgerPath);
    expect(last.length).toBe(intact.length);
  });

  it('voids a batch written by a writer that lost the account while paused (no overwrite, never counted)', async () => {
    const app = await start();
    const account = await openAccount(app);
    await stop();
    const path = join(folder.accountDir, `${account.accountId}.ledger.jsonl`);
    const paused = new LedgerFile(path);
    const taker = new LedgerFile(path);
    const end = (await readFile(path)).length;
    const withdrawal = (id: string, amountCents: number): WithdrawalEvent => ({
      type: 'withdrawal',
      id,
      researcherId: randomUUID(),
      amountCents,
      balanceAfterCents: 40_000_000 - amountCents,
      at: new Date(now()).toISOString(),
      idempotencyKey: id,
    });
    // Both decided against the ledger as it ended at `end`; the one that took over writes first.
    const taken = LedgerFile.encode(end, [withdrawal(randomUUID(), 30_000_000)]);
    const stale = LedgerFile.encode(end, [withdrawal(randomUUID(), 20_000_000)]);
    expect(await taker.append(taken)).toBe(true);
    expect(await paused.append(stale)).toBe(false);
    const { records, endOffset, tornBytes } = await taker.scan(0);
    expect(records.map((record) => record.event.type)).toEqual(['opened', 'withdrawal']);
    expect(records[1]!.event).toMatchObject({ amountCents: 30_000_000 });
    expect(endOffset).toBe(end + taken.data.length + stale.data.length);
    expect(tornBytes).toBe(0);
    await Promise.all([paused.close(), taker.close()]);

    // The DCU reads the account the same way: the void batch is stepped over, not counted.
    const server = await start();
    const history: TransactionLine[] = await allTransactions(server, account.accountId, account.ownerKey);
    expect(history.map((line) => line.amountCents)).toEqual([40_000_000, 30_000_000]);
    expect((await withdraw(server, account.accountId, account.ownerKey, 10_000_000)).statusCode).toBe(201);
    expect((await withdraw(server, account.accountId, account.ownerKey, 1)).statusCode).toBe(409);
  });
});
