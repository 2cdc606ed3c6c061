import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import lockfile from 'proper-lockfile';

/** proper-lockfile's own record of the locks this process holds (not exported by its index). */
const { getLocks } = createRequire(__filename)('proper-lockfile/lib/lockfile') as {
  getLocks(): Record<string, HeldLock | undefined>;
};

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
      try {
        this.release(ledgerPath, lockPath, release);
      } catch (error) {
        this.options.onCompromised(error as Error, ledgerPath);
      }
    }
  }

  /**
   * proper-lockfile's release removes the lock directory whoever holds it now: a holder that
   * was paused past the staleness (and has not noticed yet) would remove the directory of the
   * instance that took the account over, letting a third one in beside it. So the directory is
   * removed only while it is still ours, judged in one synchronous step: our last refresh is
   * recent enough that nobody can have found it stale, and its mtime is the one we set.
   * Otherwise it is left alone (the taker's, or stale and taken over or swept later), and only
   * our bookkeeping of it ends.
   */
  private release(ledgerPath: string, lockPath: string, release: () => Promise<void>): void {
    const held = getLocks()[resolve(ledgerPath)];
    if (!held || held.released) return; // compromised: proper-lockfile let go of it already
    const margin = Math.min(1000, this.options.staleMs / 4);
    let ours = Date.now() - held.lastUpdate < this.options.staleMs - margin;
    if (ours) {
      try {
        ours = fs.statSync(lockPath).mtime.getTime() === held.mtime.getTime();
      } catch {
        ours = false;
      }
    }
    if (ours) {
      // Synchronous (immediateFs) right after the check: no other turn of the event loop between.
      void release().catch(() => undefined);
      return;
    }
    this.options.onCompromised(new Error('the lock was no longer ours at release; its directory is left alone'), ledgerPath);
    lockfile.unlock(ledgerPath, {
      lockfilePath: lockPath,
      realpath: false,
      fs: { ...immediateFs, rmdir: (_path: string, callback: Callback<void>) => process.nextTick(callback, null) } as unknown as typeof fs,
    }).catch(() => undefined);
  }
}

interface HeldLock {
  mtime: Date;
  lastUpdate: number;
  released?: boolean;
}
