import { randomUUID } from 'node:crypto';
import { request } from 'undici';
import { GrantlineSystem, STORES } from '../src';

/**
 * The happy path over real HTTP, with every service a real process on port 0: a proposal
 * becomes an account on a DCU found through the registry, the owner adds a student, the
 * student withdraws. Plus the funding bounds, checked in the store itself. On each store.
 */
describe.each(STORES)('a grant from proposal to withdrawal, on %s', (store) => {
  const system = new GrantlineSystem({ agencies: 1, dcus: 1, heartbeatIntervalMs: 500, store });

  beforeAll(() => system.start(), 60_000);
  afterAll(() => system.destroy(), 30_000);

  async function call(
    url: string,
    options: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: unknown } = {},
  ) {
    const response = await request(url, {
      method: options.method ?? 'GET',
      headers: {
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...options.headers,
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
    return {
      status: response.statusCode,
      body: (await response.body.json()) as Record<string, unknown>,
    };
  }

  const propose = (amountCents: number, idempotencyKey = randomUUID()) =>
    call(`${system.liveUrls().agency[0]}/proposals`, {
      method: 'POST',
      headers: { 'idempotency-key': idempotencyKey },
      body: {
        title: 'Rivers of data',
        investigator: 'Prof. Mae Jemison',
        amountCents,
        durationDays: 30,
      },
    });

  /** The accounts the store holds, read without the DCU's code; the store must be sound. */
  const storedAccounts = async () => {
    const stored = await system.readLedgers();
    expect(stored.problems).toEqual([]);
    return [...stored.accounts.keys()].sort();
  };

  it('rejects 29,999,999 and 50,000,001 cents at once and stores no account', async () => {
    for (const amountCents of [29_999_999, 50_000_001]) {
      const answer = await propose(amountCents);
      expect(answer.status).toBe(201);
      expect(answer.body).toMatchObject({
        status: 'rejected',
        reason: expect.stringMatching(/300,000/),
      });
    }
    expect(await storedAccounts()).toEqual([]);
  });

  it('accepts both bounds, one stored account each', async () => {
    for (const amountCents of [30_000_000, 50_000_000]) {
      const before = await storedAccounts();
      const answer = await propose(amountCents);
      expect(answer.body).toMatchObject({ status: 'accepted', dcuUrl: system.liveUrls().dcu[0] });
      expect(await storedAccounts()).toEqual([...before, String(answer.body['accountId'])].sort());
    }
  });

  it('takes a proposal to an account, a student and a withdrawal', async () => {
    const idempotencyKey = randomUUID();
    const accepted = await propose(42_000_000, idempotencyKey);
    expect(accepted.status).toBe(201);
    const { accountId, ownerKey, dcuUrl } = accepted.body as {
      accountId: string;
      ownerKey: string;
      dcuUrl: string;
    };
    expect((await propose(42_000_000, idempotencyKey)).body).toMatchObject({ accountId, ownerKey });

    const owner = { authorization: `Bearer ${ownerKey}` };
    const student = await call(`${dcuUrl}/accounts/${accountId}/researchers`, {
      method: 'POST',
      headers: owner,
      body: { name: 'Sam Student' },
    });
    expect(student.status).toBe(201);
    const studentAuth = { authorization: `Bearer ${String(student.body['key'])}` };

    const withdrawal = await call(`${dcuUrl}/accounts/${accountId}/withdrawals`, {
      method: 'POST',
      headers: { ...studentAuth, 'idempotency-key': randomUUID() },
      body: { amountCents: 123_456, note: 'field trip' },
    });
    expect(withdrawal).toMatchObject({
      status: 201,
      body: { amountCents: 123_456, balanceCents: 42_000_000 - 123_456 },
    });

    const account = await call(`${dcuUrl}/accounts/${accountId}`, { headers: studentAuth });
    expect(account.body).toMatchObject({
      accountId,
      investigator: 'Prof. Mae Jemison',
      initialCents: 42_000_000,
      balanceCents: 42_000_000 - 123_456,
      durationDays: 30,
      status: 'active',
      researchers: [
        expect.objectContaining({ role: 'owner', name: 'Prof. Mae Jemison' }),
        expect.objectContaining({ role: 'member', name: 'Sam Student' }),
      ],
    });
    // One transaction a page, so the test follows the cursor the way every client must.
    const first = await call(`${dcuUrl}/accounts/${accountId}/transactions?limit=1`, { headers: owner });
    expect(first.body['next']).toEqual(expect.any(String));
    const second = await call(
      `${dcuUrl}/accounts/${accountId}/transactions?limit=1&after=${encodeURIComponent(String(first.body['next']))}`,
      { headers: owner },
    );
    expect(second.body['next']).toBeNull();
    const transactions = [first.body['transactions'], second.body['transactions']].flat();
    expect(transactions).toEqual([
      expect.objectContaining({
        type: 'deposit',
        amountCents: 42_000_000,
        balanceAfterCents: 42_000_000,
      }),
      expect.objectContaining({
        type: 'withdrawal',
        id: withdrawal.body['withdrawalId'],
        researcherId: student.body['researcherId'],
      }),
    ]);
    // The store holds what the API answered, once.
    const stored = (await system.readLedgers()).accounts.get(accountId);
    expect(stored).toMatchObject({
      initialCents: 42_000_000,
      withdrawals: [
        {
          id: withdrawal.body['withdrawalId'],
          amountCents: 123_456,
          balanceAfterCents: 42_000_000 - 123_456,
        },
      ],
      closeout: undefined,
    });
  });
});
