import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import lockfile from 'proper-lockfile';

/** proper-lockfile's own record of the locks this process holds (not exported by its index). */
const { getLocks } = createRequire(__filename)('proper-lockfile/lib/lockfile') as {
  getLocks(): Record<string, HeldLock | undefined>;
};

type Callback<T> = (error: NodeJS.ErrnoException | null, result?: T) => void;

/**
 * The lock directory's operations go through the thread pool like any file operation. They
 * used to be synchronous (so as not to queue behind the fdatasync of every account in the
 * pool), but a mkdir or rmdir waits whenever the file system commits its own journal, and then
 * it stalled every request in the process; with the commit journal the pool no longer fills
 * with fdatasyncs.
 */
const lockFs = {
  mkdir: fs.mkdir,
  rmdir: fs.rmdir,
  stat: fs.stat,
  utimes: fs.utimes,
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
    const release = await this.acquire(ledgerPath, lockPath, options.retries ?? 1000);
    try {
      return await work();
    } finally {
      try {
        await this.release(ledgerPath, lockPath, release);
      } catch (error) {
        this.options.onCompromised(error as Error, ledgerPath);
      }
    }
  }

  /**
   * Takes the lock, retrying while it is held (backing off from 1 ms to 40 ms). The retries are
   * counted here rather than by proper-lockfile, whose retry module computes the whole table of
   * timeouts (a thousand) on every call: that was the largest cost of a withdrawal.
   */
  private async acquire(ledgerPath: string, lockPath: string, retries: number): Promise<() => Promise<void>> {
    let delay = 1;
    for (let attempt = 0; ; attempt++) {
      try {
        return await lockfile.lock(ledgerPath, {
          lockfilePath: lockPath,
          realpath: false,
          fs: lockFs as unknown as typeof fs,
          stale: this.options.staleMs,
          update: Math.max(1000, Math.floor(this.options.staleMs / 4)),
          retries: 0,
          onCompromised: (error) => this.options.onCompromised(error, ledgerPath),
        });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ELOCKED' || attempt >= retries) throw error;
      }
      await sleep(delay * (1 + Math.random()));
      delay = Math.min(40, delay * 1.3);
    }
  }

  /**
   * proper-lockfile's release removes the lock directory whoever holds it now: a holder that
   * was paused past the staleness (and has not noticed yet) would remove the directory of the
   * instance that took the account over, letting a third one in beside it. So the directory is
   * removed only while it is still ours, judged right before: our last refresh is recent
   * enough that nobody can have found it stale, and its mtime is the one we set.
   * Otherwise it is left alone (the taker's, or stale and taken over or swept later), and only
   * our bookkeeping of it ends.
   */
  private async release(ledgerPath: string, lockPath: string, release: () => Promise<void>): Promise<void> {
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
      // Issued right after the check. Another instance could only take the directory over if
      // it then waited longer than `margin` in the thread pool, or the process were paused
      // between the two: the same window proper-lockfile's own stale takeover (stat, rmdir,
      // mkdir) has, which the ledger's fencing covers.
      await release().catch(() => undefined);
      return;
    }
    this.options.onCompromised(new Error('the lock was no longer ours at release; its directory is left alone'), ledgerPath);
    lockfile.unlock(ledgerPath, {
      lockfilePath: lockPath,
      realpath: false,
      fs: { ...lockFs, rmdir: (_path: string, callback: Callback<void>) => process.nextTick(callback, null) } as unknown as typeof fs,
    }).catch(() => undefined);
  }
}

interface HeldLock {
  mtime: Date;
  lastUpdate: number;
  released?: boolean;
}
