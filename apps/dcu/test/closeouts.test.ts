import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PendingCloseout } from '../src/storage/store';
import { bearer, buildTestDcu, makeAccountDir, openAccount, withdraw, type DcuApp } from './helpers';

jest.setTimeout(30_000);

/** Polls `condition` until it holds (the machine is slow and shared: no fixed sleeps). */
async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A fake agency: records every closeout; fails the first `failures` calls. */
function fakeAgency(failures = 0) {
  const received: PendingCloseout[] = [];
  let calls = 0;
  return {
    received,
    get calls() {
      return calls;
    },
    send: async (closeout: PendingCloseout) => {
      calls += 1;
      if (calls <= failures) throw new Error('agency unreachable');
      received.push({ ...closeout });
      return true;
    },
  };
}

describe('closeouts', () => {
  let folder: Awaited<ReturnType<typeof makeAccountDir>>;
  const apps: DcuApp[] = [];
  const clock = { ms: Date.parse('2030-01-01T00:00:00Z') };
  const start = async (agency: ReturnType<typeof fakeAgency>) => {
    const app = await buildTestDcu(folder.accountDir, {
      now: () => clock.ms,
      sendCloseout: agency.send,
      closeoutIntervalMs: 10,
    });
    await app.ready();
    apps.push(app);
    return app;
  };
  const ledgerTypes = async (accountId: string) =>
    (await readFile(join(folder.accountDir, `${accountId}.ledger.jsonl`), 'utf8'))
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line).type as string);

  beforeEach(async () => {
    folder = await makeAccountDir();
    clock.ms = Date.parse('2030-01-01T00:00:00Z');
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
    await folder.cleanup();
  });

  it('closes an account nobody touches when it expires and hands its balance back once', async () => {
    const agency = fakeAgency();
    const app = await start(agency);
    const proposalId = '7d7a1f0e-5b1c-4c57-9d6a-1f2e3d4c5b6a';
    const account = await openAccount(app, { proposalId, durationDays: 2, amountCents: 40_000_000 });
    expect((await withdraw(app, account.accountId, account.ownerKey, 1_000)).statusCode).toBe(201);

    clock.ms += 2 * 1000; // two days of 1000 ms: expired
    await until(() => agency.received.length > 0, 'the closeout');
    expect(agency.received).toEqual([{ accountId: account.accountId, proposalId, returnedCents: 40_000_000 - 1_000 }]);

    const view = (await app.inject({ url: `/accounts/${account.accountId}`, headers: bearer(account.ownerKey) })).json();
    expect(view).toMatchObject({ status: 'expired', balanceCents: 40_000_000 - 1_000, returnedCents: 40_000_000 - 1_000, closedAt: new Date(clock.ms).toISOString() });
    await until(async () => (await ledgerTypes(account.accountId)).includes('closeout-acknowledged'), 'the acknowledgement on disk');
    // Once the acknowledgement is applied the outbox is empty: nothing is sent again, later or after a restart.
    await until(async () => (await app.accounts.pendingCloseouts()).length === 0, 'an empty outbox');
    clock.ms += 10_000;
    expect(await app.accounts.pendingCloseouts()).toEqual([]);
    expect(agency.received).toHaveLength(1);
    expect(await ledgerTypes(account.accountId)).toEqual(['opened', 'withdrawal', 'closed', 'closeout-acknowledged']);
  });

  it('closes an account the moment a withdrawal empties it, returning nothing', async () => {
    const agency = fakeAgency();
    const app = await start(agency);
    const account = await openAccount(app, { amountCents: 30_000_000 });
    expect((await withdraw(app, account.accountId, account.ownerKey, 30_000_000)).statusCode).toBe(201);
    await until(() => agency.received.length > 0, 'the closeout');
    expect(agency.received[0]).toMatchObject({ accountId: account.accountId, returnedCents: 0 });
    const view = (await app.inject({ url: `/accounts/${account.accountId}`, headers: bearer(account.ownerKey) })).json();
    expect(view).toMatchObject({ status: 'depleted', balanceCents: 0, returnedCents: 0 });
    expect((await withdraw(app, account.accountId, account.ownerKey, 1)).statusCode).toBe(409);
  });

  it('keeps sending until the agency acknowledges, also after a restart, and never closes twice', async () => {
    const unreachable = fakeAgency(Number.MAX_SAFE_INTEGER);
    const first = await start(unreachable);
    const account = await openAccount(first, { durationDays: 1 });
    clock.ms += 1000;
    await until(() => unreachable.calls >= 3, 'three attempts');
    expect(await ledgerTypes(account.accountId)).toEqual(['opened', 'closed']);
    await first.close();
    apps.length = 0;

    // A new instance on the same folder finds the unacknowledged closeout without being asked about the account.
    const agency = fakeAgency();
    const second = await start(agency);
    await until(async () => (await ledgerTypes(account.accountId)).includes('closeout-acknowledged'), 'the acknowledgement');
    expect(agency.received).toEqual([expect.objectContaining({ accountId: account.accountId, returnedCents: 40_000_000 })]);
    expect(await ledgerTypes(account.accountId)).toEqual(['opened', 'closed', 'closeout-acknowledged']);
    void second;
  });

  it('closes once with two instances on one folder', async () => {
    const left = fakeAgency();
    const right = fakeAgency();
    const one = await start(left);
    await start(right);
    const accounts = await Promise.all([1, 2, 3].map(() => openAccount(one, { durationDays: 1 })));
    clock.ms += 1000;
    for (const account of accounts) {
      await until(async () => (await ledgerTypes(account.accountId)).includes('closeout-acknowledged'), 'the acknowledgement');
      expect((await ledgerTypes(account.accountId)).filter((type) => type === 'closed')).toHaveLength(1);
    }
    // Whichever instance sent it, every account was handed back for its whole balance.
    const returned = new Map([...left.received, ...right.received].map((closeout) => [closeout.accountId, closeout.returnedCents]));
    expect(returned).toEqual(new Map(accounts.map((account) => [account.accountId, 40_000_000])));
  });
});
