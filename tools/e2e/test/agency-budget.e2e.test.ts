import { readdir } from 'node:fs/promises';
import { request } from 'undici';
import { accountIdFor, uuidV5 } from '@grantline/service-kit';
import { GrantlineSystem, waitFor } from '../src';

/**
 * The agency as funder of record, with real processes: agencies on one AGENCY_DIR share one
 * budget, whichever of them is SIGKILLed when; the DCU hands unspent money back when an
 * account ends, counted once, with a DCU and an agency killed around that moment.
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

describe('two agencies on one folder race proposals against a small budget; one is SIGKILLed mid-way', () => {
  const BUDGET = 200_000_000; // room for exactly five proposals of 400,000 euro
  const system = new GrantlineSystem({
    agencies: 2,
    dcus: 1,
    heartbeatIntervalMs: 300,
    env: { agency: { AGENCY_BUDGET_CENTS: String(BUDGET), RECOVERY_INTERVAL_MS: '100' } },
  });

  beforeAll(() => system.start(), 60_000);
  afterAll(() => system.destroy(), 30_000);

  it('never overcommits, and the survivor finishes or releases every reservation by itself', async () => {
    const [victim, survivor] = system.agencies as [NonNullable<(typeof system.agencies)[0]>, NonNullable<(typeof system.agencies)[0]>];
    const keys = Array.from({ length: 24 }, (_, index) => `race-${index}`);
    // Every request in flight at once, half to the agency about to die.
    const sent = keys.map((key, index) =>
      call(`${(index % 2 === 0 ? victim : survivor).url}/proposals`, {
        method: 'POST',
        headers: { 'idempotency-key': key },
        body: proposal(3650),
      }).catch((error: unknown) => ({ status: 0, body: { error: String(error) } as Record<string, unknown> })),
    );
    // Kill it once it has written its first decisions, while others are in flight.
    await waitFor('the first decisions on record', async () => {
      const budget = await call(`${survivor.url}/budget`);
      return (budget.body.committedCents as number) > 0;
    }, 30_000, 5);
    await victim.kill('SIGKILL');
    const answers = await Promise.all(sent);

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
    const files = (await readdir(system.accountDir)).filter((name) => /^[0-9a-f-]{36}\.json$/.test(name)).map((name) => name.slice(0, 36));
    const funded = accepted.map((view) => view.body.accountId as string);
    expect([...files].sort()).toEqual([...funded].sort());
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

describe('closeouts with a DCU and an agency killed around the end of an account', () => {
  const system = new GrantlineSystem({
    agencies: 2,
    dcus: 2,
    heartbeatIntervalMs: 300,
    dayMs: 1000,
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
    // The DCU's side says the same, and a restarted agency on the folder agrees: counted once.
    const account = await call(`${system.liveUrls().dcu[0]}/accounts/${opened[0]!.accountId}`, {
      headers: { authorization: `Bearer ${opened[0]!.ownerKey}` },
    });
    expect(account.body).toMatchObject({ returnedCents: 40_000_000 - 1_234_567, closedAt: expect.any(String) });
    const restarted = system.startService('agency');
    await restarted.waitForListening();
    expect((await call(`${restarted.url}/budget`)).body.returnedCents).toBe(expected);
  });
});
