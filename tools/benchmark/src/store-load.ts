import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { NumberList, summarizeLatencies, type LatencySummary } from './stats';

/** One cent per withdrawal, from accounts funded for far more than a run can spend. */
const FUNDING_CENTS = 40_000_000;

export interface StoreLoadOutcome {
  withdrawalsPerSecond: number;
  withdrawals: number;
  durationSeconds: number;
  /** This process's CPU time (its thread pool included) per withdrawal, in µs. */
  cpuMicrosPerWithdrawal: number;
  /** The same CPU as a share of one core over the run. */
  cpuShare: number;
  /** Accounts whose balance after the run is not what was withdrawn from them (never any). */
  wrongBalances: number;
  /** From a call to `withdraw` to its answer, durable. */
  latency: LatencySummary;
}

/**
 * The DCU's file store alone, in this process, without HTTP: `callers` concurrent callers
 * withdraw 1 cent at a time, each with a new Idempotency-Key, from `accounts` accounts in
 * turn, for `durationSeconds` (or until `maxWithdrawals` are made). What a change to the store
 * costs per withdrawal shows here to the µs; the HTTP scenarios vary more than that from run
 * to run.
 */
export async function storeWithdrawals(
  workDir: string,
  {
    accounts,
    callers,
    durationSeconds,
    maxWithdrawals = Number.POSITIVE_INFINITY,
  }: { accounts: number; callers: number; durationSeconds: number; maxWithdrawals?: number },
): Promise<StoreLoadOutcome> {
  // Loaded here, not at start-up: the benchmark runs without a built DCU when no DCU scenario is chosen.
  const { FileAccountStore } = await import('@grantline/dcu/file-store');
  const directory = await mkdtemp(path.join(workDir, 'store-load-'));
  const silent = { info() {}, warn() {}, error() {} };
  const store = new FileAccountStore({
    directory,
    keySecret: randomUUID(),
    dayMs: 1000,
    logger: silent,
  });
  try {
    await store.start();
    const opened: { accountId: string; researcherId: string; withdrawn: number }[] = [];
    for (let index = 0; index < accounts; index++) {
      const { accountId, ownerKey } = await store.open({
        proposalId: randomUUID(),
        title: `store load ${index}`,
        investigator: 'Benchmark',
        amountCents: FUNDING_CENTS,
        durationDays: 3650,
      });
      const owner = await store.authenticate(accountId, ownerKey);
      if (!owner) throw new Error(`the owner key of ${accountId} did not open it`);
      opened.push({ accountId, researcherId: owner.researcherId, withdrawn: 0 });
    }
    let next = 0;
    let begun = 0;
    let withdrawals = 0;
    const latencies = new NumberList();
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const endsAt = started + durationSeconds * 1000;
    const caller = async () => {
      while (performance.now() < endsAt && begun < maxWithdrawals) {
        begun += 1;
        const account = opened[next++ % opened.length]!;
        const askedAt = performance.now();
        await store.withdraw(account.accountId, {
          researcherId: account.researcherId,
          amountCents: 1,
          idempotencyKey: randomUUID(),
        });
        latencies.push(performance.now() - askedAt);
        account.withdrawn += 1;
        withdrawals += 1;
      }
    };
    await Promise.all(Array.from({ length: callers }, caller));
    const elapsedSeconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    let wrongBalances = 0;
    for (const account of opened) {
      const view = await store.view(account.accountId);
      if (view.balanceCents !== FUNDING_CENTS - account.withdrawn) wrongBalances += 1;
    }
    return {
      withdrawalsPerSecond: withdrawals / elapsedSeconds,
      withdrawals,
      durationSeconds: elapsedSeconds,
      cpuMicrosPerWithdrawal: withdrawals > 0 ? (cpuSeconds * 1e6) / withdrawals : Number.NaN,
      cpuShare: cpuSeconds / elapsedSeconds,
      wrongBalances,
      latency: summarizeLatencies(latencies.toArray()),
    };
  } finally {
    await store.close();
    await rm(directory, { recursive: true, force: true });
  }
}
