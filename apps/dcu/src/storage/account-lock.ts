import lockfile from 'proper-lockfile';

export interface AccountLockOptions {
  /** A lock not refreshed for this long is taken over: the holder died. */
  staleMs: number;
  onCompromised: (error: Error, path: string) => void;
}

/**
 * The cross-process half of "one change at a time per account": DCU instances sharing one
 * folder take a lock directory next to the ledger. A holder killed with SIGKILL stops
 * refreshing it, so the account is blocked for at most `staleMs`, never forever.
 */
export class AccountLock {
  constructor(private readonly options: AccountLockOptions) {}

  async hold<T>(ledgerPath: string, lockPath: string, work: () => Promise<T>): Promise<T> {
    const release = await lockfile.lock(ledgerPath, {
      lockfilePath: lockPath,
      realpath: false,
      stale: this.options.staleMs,
      update: Math.max(1000, Math.floor(this.options.staleMs / 4)),
      retries: { retries: 1000, factor: 1.3, minTimeout: 1, maxTimeout: 40, randomize: true },
      onCompromised: (error) => this.options.onCompromised(error, ledgerPath),
    });
    try {
      return await work();
    } finally {
      await release().catch(() => undefined);
    }
  }
}
