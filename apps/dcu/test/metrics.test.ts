import { metricValue } from '@grantline/service-kit/testing';
import { buildTestDcu, makeAccountDir, openAccount, withdraw, type DcuApp } from './helpers';

/** The n-th Idempotency-Key of the test. */
const key = (n: number) => `00000000-0000-4000-8000-00000000000${n}` as const;

describe('DCU metrics', () => {
  let app: DcuApp | undefined;
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await app?.close();
    await cleanup?.();
  });

  it('count 5 committed, 2 refused and 1 replayed withdrawal as exactly that', async () => {
    const folder = await makeAccountDir();
    cleanup = folder.cleanup;
    app = await buildTestDcu(folder.accountDir);
    const account = await openAccount(app, { amountCents: 40_000_000 });

    for (let n = 1; n <= 5; n++) {
      expect(
        (await withdraw(app, account.accountId, account.ownerKey, 1_000_000, key(n))).statusCode,
      ).toBe(201);
    }
    // Refused by the rules: more than the balance (409), a used key with another amount (422).
    expect(
      (await withdraw(app, account.accountId, account.ownerKey, 39_000_000, key(6))).statusCode,
    ).toBe(409);
    expect(
      (await withdraw(app, account.accountId, account.ownerKey, 2_000_000, key(1))).statusCode,
    ).toBe(422);
    // The same key and body again: the first answer, no money moved.
    const replay = await withdraw(app, account.accountId, account.ownerKey, 1_000_000, key(3));
    expect(replay.statusCode).toBe(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    // A wrong key is no withdrawal at all.
    expect(
      (await withdraw(app, account.accountId, 'not-a-key', 1_000_000, key(7))).statusCode,
    ).toBe(401);

    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metricValue(text, 'grantline_withdrawals_total', { outcome: 'committed' })).toBe(5);
    expect(metricValue(text, 'grantline_withdrawals_total', { outcome: 'refused' })).toBe(2);
    expect(metricValue(text, 'grantline_withdrawals_total', { outcome: 'replayed' })).toBe(1);
    expect(metricValue(text, 'grantline_withdrawals_total', { outcome: 'rejected' })).toBe(1);
    expect(metricValue(text, 'grantline_withdrawals_total')).toBe(9);
    // One at a time, each committed withdrawal is a group commit of its own, timed and sized;
    // refusals and replays wrote nothing.
    expect(metricValue(text, 'grantline_dcu_commit_seconds_count')).toBe(5);
    expect(metricValue(text, 'grantline_dcu_group_commit_commands_sum')).toBe(5);
    expect(metricValue(text, 'grantline_dcu_ledger_events_total')).toBe(5);
    expect(
      metricValue(text, 'grantline_idempotent_replays_total', {
        route: '/accounts/:accountId/withdrawals',
      }),
    ).toBe(1);
    expect(
      metricValue(text, 'http_request_duration_seconds_count', {
        method: 'POST',
        route: '/accounts/:accountId/withdrawals',
        status_code: '201',
      }),
    ).toBe(6);
  });
});
