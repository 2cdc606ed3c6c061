import * as fs from 'node:fs';
import lockfile from 'proper-lockfile';

type Callback<T> = (error: NodeJS.ErrnoException | null, result?: T) => void;

function settle<T>(operation: () => T, callback: Callback<T>): void {
  let result: T;
  try {
    result = operation();
  } catch (error) {
    process.nextTick(callback, error as NodeJS.ErrnoException);
    return;
  }
  process.nextTick(callback, null, result);
}

/**
 * The lock directory's operations are metadata changes that the kernel does in memory, in
 * microseconds. Done synchronously, they never wait in libuv's thread pool behind the
 * fdatasyncs of other accounts, which under load made taking a lock cost more than the write.
 */
const immediateFs = {
  mkdir: (path: string, callback: Callback<void>) => settle(() => fs.mkdirSync(path), callback),
  rmdir: (path: string, callback: Callback<void>) => settle(() => fs.rmdirSync(path), callback),
  stat: (path: string, callback: Callback<fs.Stats>) => settle(() => fs.statSync(path), callback),
  utimes: (path: string, atime: Date, mtime: Date, callback: Callback<void>) =>
    settle(() => fs.utimesSync(path, atime, mtime), callback),
  realpath: fs.realpath,
  rmdirSync: fs.rmdirSync,
};

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

  async hold<T>(
    ledgerPath: string,
    lockPath: string,
    work: () => Promise<T>,
    options: { retries?: number } = {},
  ): Promise<T> {
    const release = await lockfile.lock(ledgerPath, {
      lockfilePath: lockPath,
      realpath: false,
      fs: immediateFs as unknown as typeof fs,
      stale: this.options.staleMs,
      update: Math.max(1000, Math.floor(this.options.staleMs / 4)),
      retries: { retries: options.retries ?? 1000, factor: 1.3, minTimeout: 1, maxTimeout: 40, randomize: true },
      onCompromised: (error) => this.options.onCompromised(error, ledgerPath),
    });
    try {
      return await work();
    } finally {
      await release().catch(() => undefined);
    }
  }
}

