import { randomUUID } from 'node:crypto';
import { appendFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  allTransactions,
  addStudent,
  bearer,
  buildTestDcu,
  makeAccountDir,
  openAccount,
  withdraw,
  type DcuApp,
} from './helpers';

jest.setTimeout(30_000);

/** Polls `condition` until it holds (no fixed sleeps: the machine is slow and shared). */
async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (const deadline = Date.now() + 20_000; !(await condition()); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('durability', () => {
  let folder: Awaited<ReturnType<typeof makeAccountDir>>;
  const apps: DcuApp[] = [];
  const start = async (options: Parameters<typeof buildTestDcu>[1] = {}) => {
    const app = await buildTestDcu(folder.accountDir, options);
    apps.push(app);
    return app;
  };

  beforeEach(async () => {
    folder = await makeAccountDir();
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
    await folder.cleanup();
  });

  it('serves every account, key and idempotency record after a restart on the same folder', async () => {
    // One fixed clock: the views before and after the restart are compared field by field.
    const now = () => Date.parse('2026-06-01T12:00:00Z');
    const first = await start({ now });
    const account = await openAccount(first);
    const student = await addStudent(first, account);
    const removed = await addStudent(first, account, 'Removed Student');
    await first.inject({
      method: 'DELETE',
      url: `/accounts/${account.accountId}/researchers/${removed.researcherId}`,
      headers: bearer(account.ownerKey),
    });
    const idempotencyKey = randomUUID();
    const withdrawal = (
      await withdraw(first, account.accountId, student.key, 4_321, idempotencyKey)
    ).json();
    const viewBefore = (
      await first.inject({
        url: `/accounts/${account.accountId}`,
        headers: bearer(account.ownerKey),
      })
    ).json();
    const transactionsBefore = await allTransactions(first, account.accountId, account.ownerKey, 1);
    await first.close();

    const second = await start({ now });
    expect(
      (
        await second.inject({ url: `/accounts/${account.accountId}`, headers: bearer(student.key) })
      ).json(),
    ).toEqual(viewBefore);
    expect(await allTransactions(second, account.accountId, account.ownerKey)).toEqual(transactionsBefore);
    expect(
      (await second.inject({ url: `/accounts/${account.accountId}`, headers: bearer(removed.key) }))
        .statusCode,
    ).toBe(401);

    const replay = await withdraw(second, account.accountId, student.key, 4_321, idempotencyKey);
    expect(replay.statusCode).toBe(201);
    expect(replay.json()).toEqual(withdrawal);
    expect(
      (await withdraw(second, account.accountId, student.key, 4_322, idempotencyKey)).statusCode,
    ).toBe(422);
    const viewAfter = (
      await second.inject({
        url: `/accounts/${account.accountId}`,
        headers: bearer(account.ownerKey),
      })
    ).json();
    expect(viewAfter.balanceCents).toBe(viewBefore.balanceCents);
  });

  it('drops a torn last record (a writer killed mid-write) and keeps everything before it', async () => {
    const first = await start();
    const account = await openAccount(first);
    await withdraw(first, account.accountId, account.ownerKey, 100);
    await first.close();
    const ledgerPath = join(folder.accountDir, `${account.accountId}.ledger.jsonl`);
    const intact = await readFile(ledgerPath, 'utf8');
    await appendFile(ledgerPath, '{"type":"withdrawal","id":"');
    await writeFile(
      join(folder.accountDir, `.${account.accountId}.json.999.dead${'.tmp'}`),
      '{"half',
    );

    const second = await start();
    const view = (
      await second.inject({
        url: `/accounts/${account.accountId}`,
        headers: bearer(account.ownerKey),
      })
    ).json();
    expect(view.balanceCents).toBe(40_000_000 - 100);
    expect((await withdraw(second, account.accountId, account.ownerKey, 200)).statusCode).toBe(201);
    const ledger = await readFile(ledgerPath, 'utf8');
    expect(ledger.startsWith(intact)).toBe(true);
    expect(
      ledger
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line).type),
    ).toEqual(['opened', 'withdrawal', 'withdrawal']);
  });

  it('removes temp files that a killed writer left behind, once they are old', async () => {
    const app = await start();
    await openAccount(app);
    await app.close();
    apps.length = 0;
    const stale = join(folder.accountDir, `.${randomUUID()}.json.1.abcd.tmp`);
    await writeFile(stale, '{');
    const { utimes } = await import('node:fs/promises');
    await utimes(stale, new Date(Date.now() - 120_000), new Date(Date.now() - 120_000));
    await start();
    // Swept in the background right after start-up (a huge folder must not delay the first answer).
    await until(async () => (await readdir(folder.accountDir)).every((name) => !name.endsWith('.tmp')), 'the temp file swept');
  });

  it('sweeps the lock directory (and the mark of waiting for one) a killed process left on an account nobody touches, and keeps a live one', async () => {
    const app = await start();
    const idle = await openAccount(app);
    const busy = await openAccount(app);
    await app.close();
    apps.length = 0;
    const { mkdir, utimes } = await import('node:fs/promises');
    const idleLock = join(folder.accountDir, `${idle.accountId}.lock`);
    const busyLock = join(folder.accountDir, `${busy.accountId}.lock`);
    await mkdir(idleLock);
    await mkdir(busyLock); // as if another instance held it right now
    await utimes(idleLock, new Date(Date.now() - 120_000), new Date(Date.now() - 120_000));
    const idleMark = `${idle.accountId}.lock.wanted`;
    await writeFile(join(folder.accountDir, idleMark), '');
    await utimes(join(folder.accountDir, idleMark), new Date(Date.now() - 120_000), new Date(Date.now() - 120_000));
    const second = await start();
    await until(async () => !(await readdir(folder.accountDir)).includes(`${idle.accountId}.lock`), 'the stale lock swept');
    await until(async () => !(await readdir(folder.accountDir)).includes(idleMark), 'the stale mark swept');
    expect(await readdir(folder.accountDir)).toContain(`${busy.accountId}.lock`);
    // The swept account works as before.
    expect((await withdraw(second, idle.accountId, idle.ownerKey, 5)).statusCode).toBe(201);
  });

  it('counts days down and refuses withdrawals with 410 once the account has expired', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const app = await start({ dayMs: 20, now: () => now });
    const account = await openAccount(app, { durationDays: 3 });
    const read = async () =>
      (
        await app.inject({
          url: `/accounts/${account.accountId}`,
          headers: bearer(account.ownerKey),
        })
      ).json();
    expect(await read()).toMatchObject({
      daysRemaining: 3,
      status: 'active',
      expiresAt: '2026-01-01T00:00:00.060Z',
    });
    now += 21;
    expect(await read()).toMatchObject({ daysRemaining: 2, status: 'active' });
    expect((await withdraw(app, account.accountId, account.ownerKey, 1)).statusCode).toBe(201);
    now += 39;
    expect(await read()).toMatchObject({ daysRemaining: 0, status: 'expired' });
    const late = await withdraw(app, account.accountId, account.ownerKey, 1);
    expect(late.statusCode).toBe(410);
    expect(late.json().message).toMatch(/expired/);
    expect((await read()).balanceCents).toBe(40_000_000 - 1);
  });

  it('expires on the real clock with DAY_MS=20', async () => {
    const app = await start({ dayMs: 20 });
    const account = await openAccount(app, { durationDays: 2 });
    const first = (
      await app.inject({ url: `/accounts/${account.accountId}`, headers: bearer(account.ownerKey) })
    ).json();
    // Two days of 20 ms on the real clock (how many are left when this read lands depends on the machine's load).
    expect(Date.parse(first.expiresAt) - Date.parse(first.createdAt)).toBe(40);
    // Waits for the condition (the days run out on the real clock), however slow the machine.
    let later = first;
    for (const deadline = Date.now() + 10_000; later.daysRemaining !== 0 && Date.now() < deadline; ) {
      await new Promise((resolve) => setImmediate(resolve));
      later = (await app.inject({ url: `/accounts/${account.accountId}`, headers: bearer(account.ownerKey) })).json();
    }
    expect(later).toMatchObject({ daysRemaining: 0, status: 'expired' });
    expect((await withdraw(app, account.accountId, account.ownerKey, 1)).statusCode).toBe(410);
  });

  it('opens an account on one instance with a key made on the other a moment ago', async () => {
    const left = await start();
    // Reads on the right trust its view of the ledger for a minute: only an unknown key makes it look.
    const right = await start({ readFreshnessMs: 60_000 });
    const account = await openAccount(left);
    for (let i = 0; i < 5; i++) {
      // A read on the right just before, so its view of the ledger is as fresh as can be.
      expect(
        (
          await right.inject({
            url: `/accounts/${account.accountId}`,
            headers: bearer(account.ownerKey),
          })
        ).statusCode,
      ).toBe(200);
      const student = await addStudent(left, account, `Student ${i}`);
      const read = await right.inject({
        url: `/accounts/${account.accountId}`,
        headers: bearer(student.key),
      });
      expect(read.statusCode).toBe(200);
    }
  });

  it('shows on one instance, at once, a student added or removed on the other', async () => {
    const left = await start();
    const right = await start();
    const account = await openAccount(left);
    const readOnRight = (key: string) =>
      right.inject({ url: `/accounts/${account.accountId}`, headers: bearer(key) });
    for (let i = 0; i < 5; i++) {
      // A read on the right just before, so it has looked at the ledger a moment ago.
      expect((await readOnRight(account.ownerKey)).statusCode).toBe(200);
      const student = await addStudent(left, account, `Student ${i}`);
      const seen = (await readOnRight(account.ownerKey)).json<{ researchers: { researcherId: string }[] }>();
      expect(seen.researchers.map((researcher) => researcher.researcherId)).toContain(student.researcherId);
      expect((await readOnRight(student.key)).statusCode).toBe(200);
      const removed = await left.inject({
        method: 'DELETE',
        url: `/accounts/${account.accountId}/researchers/${student.researcherId}`,
        headers: bearer(account.ownerKey),
      });
      expect(removed.statusCode).toBe(204);
      expect((await readOnRight(student.key)).statusCode).toBe(401);
    }
  });

  it('answers reads arriving together on one instance with every withdrawal the other acknowledged before', async () => {
    const left = await start();
    const right = await start();
    const account = await openAccount(left, { amountCents: 30_000_000 });
    const readBalancesOnRight = (count: number) =>
      Promise.all(
        Array.from({ length: count }, () =>
          right.inject({ url: `/accounts/${account.accountId}`, headers: bearer(account.ownerKey) }),
        ),
      ).then((reads) =>
        reads.map((read) => {
          expect(read.statusCode).toBe(200);
          return read.json<{ balanceCents: number }>().balanceCents;
        }),
      );
    for (let round = 1; round <= 5; round++) {
      // Reads in flight on the right while the left withdraws: they share the right's looks at
      // the ledger, and none of those looks may serve the reads sent after the withdrawal.
      const during = readBalancesOnRight(10);
      expect((await withdraw(left, account.accountId, account.ownerKey, 100)).statusCode).toBe(201);
      const after = await readBalancesOnRight(10);
      expect(after).toEqual(Array.from({ length: 10 }, () => 30_000_000 - 100 * round));
      for (const balance of await during) expect([30_000_000 - 100 * (round - 1), 30_000_000 - 100 * round]).toContain(balance);
    }
  });

  it('two instances on one folder never overdraw an account and see each other’s changes', async () => {
    const left = await start();
    const right = await start();
    const account = await openAccount(left, { amountCents: 30_000_000 });
    // The right instance learns of the account and of a student added on the left.
    const student = await addStudent(left, account);
    expect(
      (await right.inject({ url: `/accounts/${account.accountId}`, headers: bearer(student.key) }))
        .statusCode,
    ).toBe(200);

    const attempts = Array.from({ length: 120 }, (_, index) => ({
      app: index % 2 ? left : right,
      key: index % 3 ? student.key : account.ownerKey,
      amountCents: 500_000,
      idempotencyKey: randomUUID(),
    }));
    // A few retries of the same key sent to the other instance: still one withdrawal each.
    const retries = attempts
      .slice(0, 10)
      .map((attempt) => ({ ...attempt, app: attempt.app === left ? right : left }));
    const responses = await Promise.all(
      [...attempts, ...retries].map((attempt) =>
        withdraw(
          attempt.app,
          account.accountId,
          attempt.key,
          attempt.amountCents,
          attempt.idempotencyKey,
        ),
      ),
    );
    const succeeded = new Map<string, number>();
    for (const response of responses) {
      expect([201, 409]).toContain(response.statusCode);
      if (response.statusCode === 201)
        succeeded.set(response.json().withdrawalId, response.json().amountCents);
    }
    expect(succeeded.size).toBe(60);

    for (const app of [left, right]) {
      const view = (
        await app.inject({
          url: `/accounts/${account.accountId}`,
          headers: bearer(account.ownerKey),
        })
      ).json();
      expect(view.balanceCents).toBe(0);
      const transactions = await allTransactions(app, account.accountId, account.ownerKey, 7);
      const ids = transactions
        .filter((entry: { type: string }) => entry.type === 'withdrawal')
        .map((entry: { id: string }) => entry.id);
      expect(new Set(ids)).toEqual(new Set(succeeded.keys()));
      expect(ids).toHaveLength(60);
    }
  });
});
