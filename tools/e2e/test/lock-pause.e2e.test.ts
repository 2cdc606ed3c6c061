import { randomUUID } from 'node:crypto';
import type { AccountView, WithdrawalResponse } from '@grantline/contracts';
import { ServiceProcess, sleep } from '@grantline/process-kit';
import {
  actWhileLocked,
  buildApps,
  callJson as call,
  checkLedgerArithmetic,
  GrantlineSystem,
  openHotAccount,
  readAccountFolder,
} from '../src';

/**
 * A DCU paused with SIGSTOP while it holds an account (it keeps the lock between changes and
 * commits all the time, so often in the middle of a group commit), for longer than the lock's
 * staleness, then resumed. The other DCU takes the account over meanwhile and keeps writing.
 * When the paused one wakes up it finds its lease no longer fresh and takes the lock anew, but
 * the commit it was in carries on believing it holds the lock: the ledger's
 * fencing (append-only file, every record naming the offset it must lie at, read back after
 * fdatasync) makes that write void instead of overwriting or double-spending. Nothing
 * acknowledged is lost, nothing is applied twice, and both DCUs agree on the balance.
 */
const LOCK_STALE_MS = 2_000;
const WRITERS = 30;

let system: GrantlineSystem | undefined;

beforeAll(() => buildApps('registry', 'dcu'), 120_000);

afterAll(async () => {
  await ServiceProcess.killAll();
  await system?.destroy();
}, 30_000);

describe('a DCU paused (SIGSTOP) past its lock staleness while it commits, then resumed', () => {
  it('loses, overwrites and doubles nothing', async () => {
    system = new GrantlineSystem({ agencies: 0, dcus: 2, heartbeatIntervalMs: 1000, lockStaleMs: LOCK_STALE_MS });
    await system.start();
    const running = system;
    const { victim, survivor, accountId, owner, lockPath } = await openHotAccount(running);

    const acknowledged = new Map<string, string>(); // Idempotency-Key -> withdrawalId
    const notAcknowledged = new Set<string>();
    const withdrawAt = async (url: string, key: string) => {
      const answer = await call(url, `/accounts/${accountId}/withdrawals`, { ...owner, 'idempotency-key': key }, { amountCents: 1 });
      if (answer.statusCode === 201) {
        acknowledged.set(key, (answer.body as WithdrawalResponse).withdrawalId);
        notAcknowledged.delete(key);
      } else {
        notAcknowledged.add(key);
      }
      return answer.statusCode;
    };

    // Withdrawals on the one account, all at the victim, so it commits nearly all the time.
    let stopWriters = false;
    const writer = async () => {
      while (!stopWriters) await withdrawAt(victim.url!, randomUUID()).catch(() => undefined);
    };
    const writers = Array.from({ length: WRITERS }, () => writer());
    await sleep(1_000);

    // Pause it the moment it holds the account (the lock folder is there), in the same tick.
    const pausedAt = await actWhileLocked(lockPath, () => process.kill(victim.pid!, 'SIGSTOP'), 100_000);
    expect(pausedAt).toBeGreaterThan(0);
    stopWriters = true; // the writers' requests in flight wait for the victim to wake up
    const acknowledgedBeforePause = acknowledged.size;

    // The survivor takes the account over once the lock is stale (the victim refreshed it last
    // up to a second before the pause), and writes on while the victim stays paused past the
    // staleness.
    let survivorCommits = 0;
    while ((survivorCommits < 50 || Date.now() - pausedAt <= LOCK_STALE_MS) && Date.now() - pausedAt < 60_000) {
      if ((await withdrawAt(survivor.url!, randomUUID())) === 201) survivorCommits += 1;
    }
    expect(survivorCommits).toBeGreaterThanOrEqual(50);
    const pausedMs = Date.now() - pausedAt;
    expect(pausedMs).toBeGreaterThan(LOCK_STALE_MS);

    process.kill(victim.pid!, 'SIGCONT');
    await Promise.all(writers);
    // The victim serves the account again (after catching up), and every retry applies at most once.
    for (const key of [...notAcknowledged]) {
      for (let attempt = 0; attempt < 20 && !acknowledged.has(key); attempt++) await withdrawAt(victim.url!, key);
      expect(acknowledged.has(key)).toBe(true);
    }
    for (let i = 0; i < 10; i++) expect(await withdrawAt(victim.url!, randomUUID())).toBe(201);

    const folder = await readAccountFolder(running.accountDir);
    const files = folder.accounts.get(accountId)!;
    const withdrawals = files.records.filter((record) => record.type === 'withdrawal');
    console.log(
      JSON.stringify({
        acknowledgedBeforePause,
        pausedMs,
        survivorCommits,
        acknowledged: acknowledged.size,
        voidRecordsOfThePausedWriter: files.fencedLines,
      }),
    );
    expect(files.problems).toEqual([]);
    expect(checkLedgerArithmetic(files).problems).toEqual([]);
    // Every acknowledged withdrawal exactly once, with the id that was answered; nothing else.
    expect(withdrawals.map((record) => record.idempotencyKey).sort()).toEqual([...acknowledged.keys()].sort());
    const idsByKey = new Map(withdrawals.map((record) => [record.idempotencyKey, record.id]));
    for (const [key, id] of acknowledged) expect(idsByKey.get(key)).toBe(id);
    for (const dcu of [victim, survivor]) {
      const view = (await call(dcu.url!, `/accounts/${accountId}`, owner)).body as AccountView;
      expect(view.balanceCents).toBe(50_000_000 - acknowledged.size);
    }
  });
});
