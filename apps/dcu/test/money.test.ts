import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { addStudent, allTransactions, bearer, buildTestDcu, makeAccountDir, openAccount, STORES, storedText, withdraw, type DcuApp } from './helpers';

jest.setTimeout(30_000);

describe.each(STORES)('withdrawals (%s store)', (store) => {
  let folder: Awaited<ReturnType<typeof makeAccountDir>>;
  let app: DcuApp;

  beforeEach(async () => {
    folder = await makeAccountDir(store);
    app = await buildTestDcu(folder.accountDir);
  });
  afterEach(async () => {
    await app.close();
    await folder.cleanup();
  });

  it('never overdraws under 200 concurrent withdrawals asking for twice the balance', async () => {
    const account = await openAccount(app, { amountCents: 30_000_000 });
    const student = await addStudent(app, account);
    const amounts = Array.from({ length: 200 }, (_, index) => 200_000 + (index % 7) * 100_001);
    const scale = (2 * 30_000_000) / amounts.reduce((sum, amount) => sum + amount, 0);
    const asked = amounts.map((amount) => Math.max(1, Math.round(amount * scale)));
    expect(asked.reduce((sum, amount) => sum + amount, 0)).toBeGreaterThanOrEqual(59_000_000);

    const responses = await Promise.all(
      asked.map((amount, index) => withdraw(app, account.accountId, index % 2 ? student.key : account.ownerKey, amount)),
    );
    const succeeded = responses.filter((response) => response.statusCode === 201).map((response) => response.json());
    const refused = responses.filter((response) => response.statusCode === 409);
    expect(succeeded.length + refused.length).toBe(200);
    expect(refused.length).toBeGreaterThan(0);
    for (const answer of succeeded) expect(answer.balanceCents).toBeGreaterThanOrEqual(0);

    const view = (await app.inject({ url: `/accounts/${account.accountId}`, headers: bearer(account.ownerKey) })).json();
    const withdrawn = succeeded.reduce((sum, answer) => sum + answer.amountCents, 0);
    expect(view.balanceCents).toBeGreaterThanOrEqual(0);
    expect(view.initialCents - withdrawn).toBe(view.balanceCents);

    const transactions = await allTransactions(app, account.accountId, student.key);
    const ledgerWithdrawals = transactions.filter((entry: { type: string }) => entry.type === 'withdrawal');
    expect(ledgerWithdrawals.map((entry: { id: string }) => entry.id).sort()).toEqual(
      succeeded.map((answer) => answer.withdrawalId).sort(),
    );
    // Balances after each entry fall in order, each by its amount.
    let balance = view.initialCents;
    for (const entry of ledgerWithdrawals) {
      balance -= entry.amountCents;
      expect(entry.balanceAfterCents).toBe(balance);
    }
    expect(balance).toBe(view.balanceCents);
  });

  it('moves money once when the same Idempotency-Key arrives 20 times at once', async () => {
    const account = await openAccount(app);
    const key = randomUUID();
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => withdraw(app, account.accountId, account.ownerKey, 12_345, key)),
    );
    expect(responses.map((response) => response.statusCode)).toEqual(Array(20).fill(201));
    const withdrawalIds = new Set(responses.map((response) => response.json().withdrawalId));
    expect(withdrawalIds.size).toBe(1);
    expect(responses.filter((response) => response.headers['idempotent-replayed'] === 'true')).toHaveLength(19);

    const view = (await app.inject({ url: `/accounts/${account.accountId}`, headers: bearer(account.ownerKey) })).json();
    expect(view.balanceCents).toBe(40_000_000 - 12_345);
  });

  it('refuses the same Idempotency-Key with a different amount (422) and changes nothing', async () => {
    const account = await openAccount(app);
    const key = randomUUID();
    expect((await withdraw(app, account.accountId, account.ownerKey, 500, key)).statusCode).toBe(201);
    const reused = await withdraw(app, account.accountId, account.ownerKey, 501, key);
    expect(reused.statusCode).toBe(422);
    expect(reused.json().message).toMatch(/Idempotency-Key/);
    const view = (await app.inject({ url: `/accounts/${account.accountId}`, headers: bearer(account.ownerKey) })).json();
    expect(view.balanceCents).toBe(40_000_000 - 500);
  });

  it('refuses a withdrawal that would overdraw (409) and empties the account exactly', async () => {
    const account = await openAccount(app, { amountCents: 30_000_000 });
    expect((await withdraw(app, account.accountId, account.ownerKey, 30_000_001)).statusCode).toBe(409);
    const all = await withdraw(app, account.accountId, account.ownerKey, 30_000_000);
    expect(all.json()).toMatchObject({ amountCents: 30_000_000, balanceCents: 0 });
    const view = (await app.inject({ url: `/accounts/${account.accountId}`, headers: bearer(account.ownerKey) })).json();
    expect(view.status).toBe('depleted');
    const more = await withdraw(app, account.accountId, account.ownerKey, 1);
    expect(more.statusCode).toBe(409);
    expect(more.json().message).toMatch(/empty/);
  });

  it('keeps no researcher key in what it stores, and everything across a restart', async () => {
    const account = await openAccount(app);
    const student = await addStudent(app, account);
    await withdraw(app, account.accountId, student.key, 999);
    await app.close();
    app = await buildTestDcu(folder.accountDir);
    const view = (await app.inject({ url: `/accounts/${account.accountId}`, headers: bearer(student.key) })).json();
    expect(view).toMatchObject({ balanceCents: 40_000_000 - 999, researchers: [{ role: 'owner' }, { name: 'Grace Hopper' }] });
    const stored = await storedText(folder.accountDir);
    expect(stored).toContain(account.accountId);
    for (const secret of [account.ownerKey, student.key]) expect(stored).not.toContain(secret);
  });
});

describe('the account folder', () => {
  let folder: Awaited<ReturnType<typeof makeAccountDir>>;
  let app: DcuApp;

  beforeEach(async () => {
    folder = await makeAccountDir();
    app = await buildTestDcu(folder.accountDir);
  });
  afterEach(async () => {
    await app.close();
    await folder.cleanup();
  });

  it('keeps a readable account file and ledger in the folder', async () => {
    const account = await openAccount(app);
    const student = await addStudent(app, account);
    await withdraw(app, account.accountId, student.key, 999);
    await app.close();
    app = await buildTestDcu(folder.accountDir);
    const snapshot = JSON.parse(await readFile(join(folder.accountDir, `${account.accountId}.json`), 'utf8'));
    expect(snapshot).toMatchObject({ accountId: account.accountId, balanceCents: 40_000_000 - 999, withdrawals: 1 });
    const ledger = await readFile(join(folder.accountDir, `${account.accountId}.ledger.jsonl`), 'utf8');
    const lines = ledger.trimEnd().split('\n').map((line) => JSON.parse(line));
    expect(lines.map((line) => line.type)).toEqual(['opened', 'researcher-added', 'withdrawal']);
  });
});
