import { randomUUID } from 'node:crypto';
import { request } from 'undici';
import { GrantlineSystem, STORES, waitFor } from '../src';

/**
 * Unspent money goes back to the funder: with default timing (DAY_MS 1000), an account of one
 * day that nobody touches after a withdrawal closes on its own, and within 3 seconds of its end
 * the account shows what it returned, the proposal is "closed" with that amount, and the
 * agency's budget counted it exactly once. Two DCUs share the store (one folder, or one
 * database); both look for ended accounts, the money is still counted once.
 */
describe.each(STORES)('closeout: an ended account hands its balance back to the agency, on %s', (store) => {
  const system = new GrantlineSystem({ agencies: 1, dcus: 2, heartbeatIntervalMs: 500, store });

  beforeAll(() => system.start(), 60_000);
  afterAll(() => system.destroy(), 30_000);

  async function call(url: string, options: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: unknown } = {}) {
    const response = await request(url, {
      method: options.method ?? 'GET',
      headers: { ...(options.body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
    return { status: response.statusCode, body: (await response.body.json()) as Record<string, unknown> };
  }

  it('shows returnedCents on the account, the proposal closed and the budget grown once, within 3 s of the end', async () => {
    const agency = system.liveUrls().agency[0]!;
    const budgetBefore = (await call(`${agency}/budget`)).body;
    const proposal = await call(`${agency}/proposals`, {
      method: 'POST',
      headers: { 'idempotency-key': randomUUID() },
      body: { title: 'A short grant', investigator: 'Prof. Short', amountCents: 30_000_000, durationDays: 1 },
    });
    expect(proposal.body).toMatchObject({ status: 'accepted' });
    const { proposalId, accountId, ownerKey, dcuUrl } = proposal.body as Record<string, string>;
    const owner = { authorization: `Bearer ${ownerKey}` };
    const spent = await call(`${dcuUrl}/accounts/${accountId}/withdrawals`, {
      method: 'POST',
      headers: { ...owner, 'idempotency-key': randomUUID() },
      body: { amountCents: 1_234 },
    });
    expect(spent.status).toBe(201);
    const expiresAt = Date.parse(String((await call(`${dcuUrl}/accounts/${accountId}`, { headers: owner })).body['expiresAt']));
    const returnedCents = 30_000_000 - 1_234;

    // Polls the three places the closeout shows, until all show it (or 3 s after the end have passed).
    let seenAt = 0;
    let account: Record<string, unknown> = {};
    let closed: Record<string, unknown> = {};
    let budget: Record<string, unknown> = {};
    while (Date.now() < expiresAt + 10_000) {
      [account, closed, budget] = await Promise.all([
        call(`${dcuUrl}/accounts/${accountId}`, { headers: owner }).then((answer) => answer.body),
        call(`${agency}/proposals/${proposalId}`).then((answer) => answer.body),
        call(`${agency}/budget`).then((answer) => answer.body),
      ]);
      if (account['returnedCents'] !== undefined && closed['status'] === 'closed' && budget['returnedCents'] !== budgetBefore['returnedCents']) {
        seenAt = Date.now();
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    console.log(JSON.stringify({ closeoutVisibleMsAfterEnd: seenAt - expiresAt }));
    expect(seenAt).toBeGreaterThan(0);
    expect(seenAt - expiresAt).toBeLessThanOrEqual(3_000);
    expect(account).toMatchObject({ status: 'expired', balanceCents: returnedCents, returnedCents, closedAt: expect.any(String) });
    expect(closed).toMatchObject({ status: 'closed', returnedCents });
    expect(Number(budget['returnedCents']) - Number(budgetBefore['returnedCents'])).toBe(returnedCents);

    // Once the DCU recorded the acknowledgement the store shows nothing more to send (on files:
    // the account left the outbox); both DCUs keep looking for ended accounts, and the money
    // stays counted once.
    const stored = await waitFor(
      'the closeout acknowledged in the store',
      async () => {
        const ledgers = await system.readLedgers();
        return ledgers.accounts.get(String(accountId))?.closeout?.acknowledged ? ledgers : undefined;
      },
      20_000,
      50,
    );
    expect(stored.problems).toEqual([]);
    expect(stored.accounts.get(String(accountId))).toMatchObject({
      initialCents: 30_000_000,
      withdrawals: [{ amountCents: 1_234, balanceAfterCents: returnedCents }],
      closeout: { returnedCents, acknowledged: true },
    });
    const later = (await call(`${agency}/budget`)).body;
    expect(Number(later['returnedCents']) - Number(budgetBefore['returnedCents'])).toBe(returnedCents);
  });
});
