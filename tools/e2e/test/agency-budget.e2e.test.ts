import { request } from 'undici';
import { accountIdFor, uuidV5 } from '@grantline/service-kit';
import { GrantlineSystem, STORES, waitFor } from '../src';

/**
 * The agency as funder of record, with real processes: agencies on one store (one AGENCY_DIR,
 * or one database) share one budget, whichever of them is SIGKILLed when; the DCU hands
 * unspent money back when an account ends, counted once, with a DCU and an agency killed
 * around that moment. On each store.
 */

jest.setTimeout(180_000);

/** The agency's fixed namespace of proposal ids (apps/agency/src/domain/proposal.ts). */
const PROPOSAL_ID_NAMESPACE = 'bbf6dc8f-cdbb-431a-80fb-aa6e79684e5a';
const proposalIdOf = (key: string) => uuidV5(key, PROPOSAL_ID_NAMESPACE);

async function call(url: string, options: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: unknown } = {}) {
  const response = await request(url, {
    method: options.method ?? 'GET',
    headers: { ...(options.body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const text = await response.body.text();
  return { status: response.statusCode, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
}

const proposal = (durationDays: number) => ({
  title: 'Budget race',
  investigator: 'Prof. Ada Lovelace',
  amountCents: 40_000_000,
  durationDays,
});

describe.each(STORES)('two agencies on one store race proposals against a small budget; one is SIGKILLed mid-way, on %s', (store) => {
  const BUDGET = 200_000_000; // room for exactly five proposals of 400,000 euro
  const system = new GrantlineSystem({
    agencies: 2,
    dcus: 1,
    // The registry keeps the paused DCU listed (TTL three of these) while the victim is killed.
    heartbeatIntervalMs: 2000,
    store,
    env: { agency: { AGENCY_BUDGET_CENTS: String(BUDGET), RECOVERY_INTERVAL_MS: '100' } },
  });

  beforeAll(() => system.start(), 60_000);
  afterAll(() => system.destroy(), 30_000);

  it('never overcommits, and the survivor finishes or releases every reservation by itself', async () => {
    const [victim, survivor] = system.agencies as [NonNullable<(typeof system.agencies)[0]>, NonNullable<(typeof system.agencies)[0]>];
    const keys = Array.from({ length: 24 }, (_, index) => `race-${index}`);
    let answers: { status: number; body: Record<string, unknown> }[] = [];
    const [dcu] = system.dcus as [NonNullable<(typeof system.dcus)[0]>];
    // The DCU is paused (SIGSTOP), so every reservation stays between its reserving and its
    // account's opening; the victim dies right there, whatever the speed of the store.
    process.kill(dcu.pid!, 'SIGSTOP');
    let paused = true;
    try {
      // Half the requests to the agency about to die. Its first one goes ahead, so it surely holds
      // a reservation; then all the others at once, both agencies racing for the rest.
      const send = (key: string, index: number) =>
        call(`${(index % 2 === 0 ? victim : survivor).url}/proposals`, {
          method: 'POST',
          headers: { 'idempotency-key': key },
          body: proposal(3650),
        }).catch((error: unknown) => ({ status: 0, body: { error: String(error) } as Record<string, unknown> }));
      const views = (some: string[]) => Promise.all(some.map((key) => call(`${survivor.url}/proposals/${proposalIdOf(key)}`)));
      const isPending = (view: { body: Record<string, unknown> }) => view.body.status === 'accepted' && view.body.accountId === undefined;
      const first = send(keys[0]!, 0);
      await waitFor('the victim\'s first reservation', async () => (await views([keys[0]!])).some(isPending), 30_000, 5);
      const sent = [first, ...keys.slice(1).map((key, index) => send(key, index + 1))];
      // Kill it once the budget is taken: every reservation made, none has its account yet.
      await waitFor('the whole budget reserved', async () => (await call(`${survivor.url}/budget`)).body.committedCents === BUDGET, 30_000, 5);
      const pendingAtKill = (await views(keys)).filter(isPending).length;
      expect(pendingAtKill).toBe(5);
      await victim.kill('SIGKILL');
      process.kill(dcu.pid!, 'SIGCONT');
      paused = false;
      answers = await Promise.all(sent);
    } finally {
      if (paused) process.kill(dcu.pid!, 'SIGCONT');
    }

    // The survivor's recovery leaves no reservation unconfirmed: each one shows an account, or is gone.
    const views = await waitFor(
      'every reservation finished or released',
      async () => {
        const seen = await Promise.all(keys.map((key) => call(`${survivor.url}/proposals/${proposalIdOf(key)}`)));
        const unfinished = seen.filter((view) => view.status === 200 && view.body.status === 'accepted' && view.body.accountId === undefined);
        return unfinished.length === 0 ? seen : undefined;
      },
      60_000,
      100,
    );
    const accepted = views.filter((view) => view.status === 200 && view.body.status === 'accepted');
    const budget = (await call(`${survivor.url}/budget`)).body;
    expect(budget.committedCents).toBe(accepted.length * 40_000_000);
    expect(budget.committedCents as number).toBeLessThanOrEqual(BUDGET);
    expect(budget.availableCents).toBe(BUDGET - (budget.committedCents as number));
    // Every account the DCU holds is one the agency funded, and the other way round.
    const stored = await system.readLedgers();
    expect(stored.problems).toEqual([]);
    const funded = accepted.map((view) => view.body.accountId as string);
    expect([...stored.accounts.keys()].sort()).toEqual([...funded].sort());
    for (const account of stored.accounts.values()) expect(account.initialCents).toBe(40_000_000);
    for (const view of accepted) expect(view.body.accountId).toBe(accountIdFor(view.body.proposalId as string));
    // What the survivor answered itself agrees with the record.
    for (const [index, answer] of answers.entries()) {
      if (index % 2 === 1 && answer.status === 201) {
        const view = views[index]!;
        expect(view.body.status).toBe(answer.body.status);
      }
    }
    // The budget was the limit: with 24 asking for 12 times what it holds, it filled up.
    expect(accepted.length).toBe(5);
  });
});

describe.each(STORES)('closeouts with a DCU and an agency killed around the end of an account, on %s', (store) => {
  const system = new GrantlineSystem({
    agencies: 2,
    dcus: 2,
    heartbeatIntervalMs: 300,
    dayMs: 1000,
    store,
    env: { agency: { AGENCY_BUDGET_CENTS: '1000000000' } },
  });

  beforeAll(() => system.start(), 60_000);
  afterAll(() => system.destroy(), 30_000);

  it('hands the unspent money back once: the proposal shows closed, the budget grew by exactly that', async () => {
    const [agencyA, agencyB] = system.agencies as [NonNullable<(typeof system.agencies)[0]>, NonNullable<(typeof system.agencies)[0]>];
    const keys = ['end-1', 'end-2', 'end-3'];
    const opened: { proposalId: string; accountId: string; ownerKey: string; dcuUrl: string }[] = [];
    for (const key of keys) {
      const answer = await call(`${agencyA.url}/proposals`, { method: 'POST', headers: { 'idempotency-key': key }, body: proposal(3) });
      expect(answer.body.status).toBe('accepted');
      opened.push(answer.body as (typeof opened)[number]);
    }
    // Spend some of the last account opened, so what comes back is not the whole grant.
    opened.reverse();
    const spend = await call(`${opened[0]!.dcuUrl}/accounts/${opened[0]!.accountId}/withdrawals`, {
      method: 'POST',
      headers: { authorization: `Bearer ${opened[0]!.ownerKey}`, 'idempotency-key': 'spend-1' },
      body: { amountCents: 1_234_567 },
    });
    expect(spend.status).toBe(201);
    // Around the end of the accounts (3 days of 1 s): on their last day, one agency and one DCU die.
    await waitFor(
      'the last day of the first account',
      async () => {
        const view = await call(`${opened[2]!.dcuUrl}/accounts/${opened[2]!.accountId}`, {
          headers: { authorization: `Bearer ${opened[2]!.ownerKey}` },
        });
        return (view.body.daysRemaining as number) <= 1;
      },
      10_000,
      20,
    );
    await Promise.all([agencyA.kill('SIGKILL'), system.dcus[0]!.kill('SIGKILL')]);

    const closed = await waitFor(
      'every proposal closed at the surviving agency',
      async () => {
        const views = await Promise.all(opened.map((account) => call(`${agencyB.url}/proposals/${account.proposalId}`)));
        return views.every((view) => view.body.status === 'closed') ? views : undefined;
      },
      30_000,
      100,
    );
    const returned = closed.map((view) => view.body.returnedCents as number);
    expect(returned).toEqual([40_000_000 - 1_234_567, 40_000_000, 40_000_000]);
    const expected = returned.reduce((sum, cents) => sum + cents, 0);
    expect((await call(`${agencyB.url}/budget`)).body).toEqual({
      totalCents: 1_000_000_000,
      committedCents: 120_000_000,
      returnedCents: expected,
      availableCents: 1_000_000_000 - 120_000_000 + expected,
    });
    // The DCU's side says the same, and a restarted agency on the store agrees: counted once.
    const account = await call(`${system.liveUrls().dcu[0]}/accounts/${opened[0]!.accountId}`, {
      headers: { authorization: `Bearer ${opened[0]!.ownerKey}` },
    });
    expect(account.body).toMatchObject({ returnedCents: 40_000_000 - 1_234_567, closedAt: expect.any(String) });
    const restarted = system.startService('agency');
    await restarted.waitForListening();
    expect((await call(`${restarted.url}/budget`)).body.returnedCents).toBe(expected);
    // The store holds each closeout once, acknowledged, with what the agency counted.
    const stored = await waitFor(
      'every closeout acknowledged in the store',
      async () => {
        const ledgers = await system.readLedgers();
        return opened.every((account) => ledgers.accounts.get(account.accountId)?.closeout?.acknowledged) ? ledgers : undefined;
      },
      30_000,
      100,
    );
    expect(stored.problems).toEqual([]);
    expect(opened.map((account) => stored.accounts.get(account.accountId)?.closeout?.returnedCents)).toEqual(returned);
  });
});
