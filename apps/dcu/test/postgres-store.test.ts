import { randomUUID } from 'node:crypto';
import { Database } from '@grantline/postgres';
import { startTestPostgres, type TestPostgres } from '@grantline/postgres/testing';
import { buildDcuApp } from '../src/app';
import { PostgresAccountStore } from '../src/storage/postgres/postgres-store';
import {
  accountKeySecret,
  addStudent,
  bearer,
  openAccount,
  serviceToken,
  withdraw,
  type DcuApp,
} from './helpers';

/**
 * What only a shared database adds to the suites that run over both stores: DCU instances
 * (each its own pool, as on different hosts) racing on one account, tables that refuse a wrong
 * state by themselves, and the answer while the database is down.
 */
let postgres: TestPostgres;
const closing: { close(): Promise<unknown> }[] = [];

beforeAll(async () => {
  postgres = await startTestPostgres();
});
afterEach(async () => {
  for (const item of closing.splice(0).reverse()) await item.close();
});
afterAll(async () => {
  await postgres?.close();
});

async function dcu(databaseUrl: string, now?: () => number): Promise<DcuApp> {
  const app = await buildDcuApp({
    serviceToken,
    accountKeySecret,
    accountDir: 'unused-with-a-database',
    dayMs: 1000,
    fastify: { logger: false },
    database: { url: databaseUrl, poolSize: 4 },
    ...(now ? { now } : {}),
  });
  closing.push(app);
  return app;
}

describe('the DCU on PostgreSQL, several instances', () => {
  it('never overdraws when three instances race 90 withdrawals on one account', async () => {
    const url = await postgres.createDatabase();
    const apps = await Promise.all([dcu(url), dcu(url), dcu(url)]);
    const account = await openAccount(apps[0]!, { amountCents: 30_000_000 });
    const student = await addStudent(apps[1]!, account);
    const responses = await Promise.all(
      Array.from({ length: 90 }, (_, index) =>
        withdraw(
          apps[index % 3]!,
          account.accountId,
          index % 2 ? student.key : account.ownerKey,
          500_000,
        ),
      ),
    );
    const statuses = responses.map((response) => response.statusCode);
    expect(statuses.filter((status) => status === 201)).toHaveLength(60);
    expect(statuses.filter((status) => status === 409)).toHaveLength(30);
    const view = (
      await apps[2]!.inject({
        url: `/accounts/${account.accountId}`,
        headers: bearer(account.ownerKey),
      })
    ).json();
    expect(view).toMatchObject({ balanceCents: 0, status: 'depleted' });
  });

  it("refuses a student's key on every instance as soon as one instance removed the student", async () => {
    const url = await postgres.createDatabase();
    const [first, second] = await Promise.all([dcu(url), dcu(url)]);
    const account = await openAccount(first, { amountCents: 30_000_000 });
    const student = await addStudent(second, account);
    // The first instance has just read the account with the student in it (its key check and withdrawal).
    expect((await withdraw(first, account.accountId, student.key, 1_000)).statusCode).toBe(201);
    const removed = await second.inject({
      method: 'DELETE',
      url: `/accounts/${account.accountId}/researchers/${student.researcherId}`,
      headers: bearer(account.ownerKey),
    });
    expect(removed.statusCode).toBeLessThan(300);
    expect((await withdraw(first, account.accountId, student.key, 1_000)).statusCode).toBe(401);
    const view = (
      await first.inject({ url: `/accounts/${account.accountId}`, headers: bearer(account.ownerKey) })
    ).json();
    expect(view.balanceCents).toBe(30_000_000 - 1_000);
  });

  it('answers a repeated Idempotency-Key from any instance with the first withdrawal, applied once', async () => {
    const url = await postgres.createDatabase();
    const apps = await Promise.all([dcu(url), dcu(url)]);
    const account = await openAccount(apps[0]!, { amountCents: 30_000_000 });
    const key = randomUUID();
    const first = await withdraw(apps[0]!, account.accountId, account.ownerKey, 7_000, key);
    expect(first.statusCode).toBe(201);
    // Another withdrawal moves the account on, so the repeat is decided on a newer version than the first.
    expect((await withdraw(apps[1]!, account.accountId, account.ownerKey, 1_000)).statusCode).toBe(201);
    const repeats = await Promise.all(
      [0, 1, 0, 1].map((index) => withdraw(apps[index]!, account.accountId, account.ownerKey, 7_000, key)),
    );
    for (const repeat of repeats) {
      expect(repeat.statusCode).toBe(201);
      expect(repeat.headers['idempotent-replayed']).toBe('true');
      expect(repeat.json().withdrawalId).toBe(first.json().withdrawalId);
    }
    const reused = await withdraw(apps[1]!, account.accountId, account.ownerKey, 8_000, key);
    expect(reused.statusCode).toBe(422);
    const view = (
      await apps[1]!.inject({ url: `/accounts/${account.accountId}`, headers: bearer(account.ownerKey) })
    ).json();
    expect(view.balanceCents).toBe(30_000_000 - 8_000);
  });

  it('opens one account when every instance is asked for the same proposal at once', async () => {
    const url = await postgres.createDatabase();
    const apps = await Promise.all([dcu(url), dcu(url), dcu(url)]);
    const proposalId = randomUUID();
    const answers = await Promise.all(
      apps.flatMap((app) => [app, app].map((one) => openAccount(one, { proposalId }))),
    );
    expect(new Set(answers.map((answer) => answer.accountId)).size).toBe(1);
    expect(new Set(answers.map((answer) => answer.ownerKey)).size).toBe(1);
  });

  it('closes an ended account once when every instance looks for ended accounts at once', async () => {
    const url = await postgres.createDatabase();
    const clock = { ms: Date.parse('2030-01-01T00:00:00.000Z') };
    const stores = Array.from(
      { length: 3 },
      () =>
        new PostgresAccountStore({
          databaseUrl: url,
          keySecret: accountKeySecret,
          dayMs: 1000,
          now: () => clock.ms,
        }),
    );
    for (const store of stores) {
      await store.start();
      closing.push(store);
    }
    const opened = await stores[0]!.open({
      proposalId: randomUUID(),
      title: 't',
      investigator: 'i',
      amountCents: 30_000_000,
      durationDays: 2,
    });
    expect(await stores[1]!.pendingCloseouts()).toEqual([]);
    clock.ms += 2_000;
    const seen = await Promise.all(stores.map((store) => store.pendingCloseouts()));
    for (const pending of seen)
      expect(pending).toEqual([
        expect.objectContaining({ accountId: opened.accountId, returnedCents: 30_000_000 }),
      ]);
    await stores[2]!.acknowledgeCloseout(opened.accountId);
    expect(await stores[0]!.pendingCloseouts()).toEqual([]);
    expect(await stores[1]!.view(opened.accountId)).toMatchObject({
      status: 'expired',
      returnedCents: 30_000_000,
    });
  });
});

describe('the DCU tables refuse a wrong state by themselves', () => {
  let database: Database;
  let accountId: string;

  beforeEach(async () => {
    const url = await postgres.createDatabase();
    const app = await dcu(url);
    ({ accountId } = await openAccount(app, { amountCents: 30_000_000 }));
    database = new Database({ connectionString: url });
    closing.push(database);
  });

  const insertWithdrawal = (seq: number, key: string, balanceAfter: number) =>
    database.query(
      `INSERT INTO dcu_withdrawals (account_id, seq, withdrawal_id, idempotency_key_hash, researcher_id, amount_cents,
         balance_after_cents, at)
       VALUES ($1, $2, gen_random_uuid(), sha256($3::bytea), gen_random_uuid(), 1, $4, now())`,
      [accountId, seq, key, balanceAfter],
    );

  it('refuses a balance below zero or above the grant', async () => {
    await expect(
      database.query('UPDATE dcu_accounts SET balance_cents = -1 WHERE account_id = $1', [
        accountId,
      ]),
    ).rejects.toMatchObject({ code: '23514' });
    await expect(
      database.query('UPDATE dcu_accounts SET balance_cents = 30000001 WHERE account_id = $1', [
        accountId,
      ]),
    ).rejects.toMatchObject({ code: '23514' });
  });

  it('refuses the same Idempotency-Key twice in one account, and two withdrawals in one place of the history', async () => {
    await insertWithdrawal(1, 'key', 29_999_999);
    await expect(insertWithdrawal(2, 'key', 29_999_998)).rejects.toMatchObject({ code: '23505' });
    await expect(insertWithdrawal(1, 'other', 29_999_998)).rejects.toMatchObject({ code: '23505' });
  });

  it('refuses a second account for the same proposal', async () => {
    await expect(
      database.query(
        `INSERT INTO dcu_accounts (account_id, proposal_id, title, investigator, owner_id, initial_cents, balance_cents, duration_days,
           day_ms, created_at, expires_at)
         SELECT gen_random_uuid(), proposal_id, title, investigator, owner_id, initial_cents, balance_cents, duration_days,
           day_ms, created_at, expires_at FROM dcu_accounts WHERE account_id = $1`,
        [accountId],
      ),
    ).rejects.toMatchObject({ code: '23505' });
  });

  it('stores no Idempotency-Key, only its SHA-256', async () => {
    const { rows } = await database.query<{ columns: string }>(
      "SELECT string_agg(column_name, ',') AS columns FROM information_schema.columns WHERE table_name = 'dcu_withdrawals'",
    );
    expect(rows[0]!.columns.split(',')).not.toContain('idempotency_key');
  });
});

describe('the DCU while its database is down', () => {
  it('answers 503 with a message, changes nothing, and serves again once the database is back', async () => {
    const server = postgres.server;
    if (!server) {
      // With DATABASE_URL the suite does not own the server, so it cannot stop it.
      expect(process.env['DATABASE_URL']).toBeTruthy();
      return;
    }
    const app = await dcu(await postgres.createDatabase());
    const account = await openAccount(app, { amountCents: 30_000_000 });
    const [before, during] = [randomUUID(), randomUUID()];
    expect(
      (await withdraw(app, account.accountId, account.ownerKey, 1_000, before)).statusCode,
    ).toBe(201);
    await server.kill('SIGKILL');
    const down = [
      await withdraw(app, account.accountId, account.ownerKey, 2_000, during),
      await app.inject({
        url: `/accounts/${account.accountId}`,
        headers: bearer(account.ownerKey),
      }),
    ];
    for (const response of down) {
      expect(response.statusCode).toBe(503);
      expect(response.json().message).toMatch(/database/i);
    }
    await server.start();
    const retried = await withdraw(app, account.accountId, account.ownerKey, 2_000, during);
    expect(retried.statusCode).toBe(201);
    const view = (
      await app.inject({ url: `/accounts/${account.accountId}`, headers: bearer(account.ownerKey) })
    ).json();
    expect(view.balanceCents).toBe(30_000_000 - 3_000);
  });
});
