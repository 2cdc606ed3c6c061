import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { storeWithdrawals } from '../src/store-load';

describe('storeWithdrawals', () => {
  let workDir: string;
  beforeEach(async () => {
    workDir = await mkdtemp(path.join(os.tmpdir(), 'store-load-test-'));
  });
  afterEach(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  it('makes the withdrawals it counts, leaves every balance right and its folder removed', async () => {
    const outcome = await storeWithdrawals(workDir, {
      accounts: 3,
      callers: 4,
      durationSeconds: 60,
      maxWithdrawals: 60,
    });
    expect(outcome.withdrawals).toBe(60);
    expect(outcome.wrongBalances).toBe(0);
    expect(outcome.cpuMicrosPerWithdrawal).toBeGreaterThan(0);
    expect(outcome.withdrawalsPerSecond).toBeGreaterThan(0);
    expect(outcome.latency.count).toBe(60);
    expect(await readdir(workDir)).toEqual([]);
  });
});
