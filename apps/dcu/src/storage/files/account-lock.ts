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
    const lease = await this.acquire(ledgerPath, lockPath, options);
    try {
      return await work();
    } finally {
      await lease.release();
    }
  }

  /**
   * Takes the lock and keeps it until the lease is released: a busy account pays for the lock
   * directory once, not per change. While it waits, the taker marks the lock as wanted, so a
   * holder keeping it between changes lets go soon (see `AccountLease.isWanted`).
   */
  async acquire(ledgerPath: string, lockPath: string, options: { retries?: number } = {}): Promise<AccountLease> {
    const { release, waited } = await this.lockDirectory(ledgerPath, lockPath, options.retries ?? 1000);
    return new AccountLease(ledgerPath, lockPath, this.options, release, waited);
  }

  /**
   * Takes the lock, retrying while it is held (backing off from 1 ms to 40 ms). The retries are
   * counted here rather than by proper-lockfile, whose retry module computes the whole table of
   * timeouts (a thousand) on every call: that was the largest cost of a withdrawal.
   */
  private async lockDirectory(
    ledgerPath: string,
    lockPath: string,
    retries: number,
  ): Promise<{ release: () => Promise<void>; waited: boolean }> {
    let delay = 1;
    const wanted = wantedMarkerPath(lockPath);
    for (let attempt = 0; ; attempt++) {
      try {
        const release = await lockfile.lock(ledgerPath, {
          lockfilePath: lockPath,
          realpath: false,
          fs: lockFs as unknown as typeof fs,
          stale: this.options.staleMs,
          update: Math.max(1000, Math.floor(this.options.staleMs / 4)),
          retries: 0,
          onCompromised: (error) => this.options.onCompromised(error, ledgerPath),
        });
        if (attempt > 0) await fs.promises.unlink(wanted).catch(() => undefined);
        return { release, waited: attempt > 0 };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ELOCKED' || attempt >= retries) throw error;
      }
      await markWanted(wanted);
      await sleep(delay * (1 + Math.random()));
      delay = Math.min(40, delay * 1.3);
    }
  }
}

/** A wanted marker not touched for this long was left by a taker that gave up or died. */
const WANTED_FRESH_MS = 1000;

/** Next to the lock directory, so it never keeps the directory from being removed. */
export function wantedMarkerPath(lockPath: string): string {
  return `${lockPath}.wanted`;
}

/** Creates the marker, or moves its mtime to now: a hint, so it is neither synced nor awaited for long. */
async function markWanted(path: string): Promise<void> {
  const now = new Date();
  try {
    await fs.promises.utimes(path, now, now);
  } catch {
    await fs.promises.writeFile(path, '', { flag: 'a' }).catch(() => undefined);
  }
}

/** The account's lock while it is held; `release` ends it. */
export class AccountLease {
  private released = false;
  private wanted = false;
  /** proper-lockfile's key for the lock. */
  private readonly resolvedPath: string;

  constructor(
    readonly ledgerPath: string,
    readonly lockPath: string,
    private readonly options: AccountLockOptions,
    private readonly releaseDirectory: () => Promise<void>,
    /** Whether taking it meant waiting for another holder. */
    readonly waited: boolean,
  ) {
    this.resolvedPath = resolve(ledgerPath);
  }

  /**
   * Whether nobody can have taken the lock over: proper-lockfile still holds it and refreshed
   * it recently enough that no other instance can have found it stale. False after this process
   * was paused or its event loop stalled for longer than that: the lease must then be taken anew.
   */
  isFresh(): boolean {
    const held = getLocks()[this.resolvedPath];
    if (this.released || !held || held.released) return false;
    return Date.now() - held.lastUpdate < this.options.staleMs - this.margin();
  }

  /** Whether a taker (another instance, or this one's sweeper) waited for the lock when `lookForTakers` last looked. */
  isWanted(): boolean {
    return this.wanted;
  }

  /** Looks for a fresh mark of a waiting taker (a stat, so done now and then rather than per change). */
  lookForTakers(): boolean {
    const marker = fs.statSync(wantedMarkerPath(this.lockPath), { throwIfNoEntry: false });
    this.wanted = marker !== undefined && Date.now() - marker.mtimeMs < WANTED_FRESH_MS;
    return this.wanted;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    try {
      await this.removeIfOurs();
    } catch (error) {
      this.options.onCompromised(error as Error, this.ledgerPath);
    }
  }

  private margin(): number {
    return Math.min(1000, this.options.staleMs / 4);
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
  private async removeIfOurs(): Promise<void> {
    const { ledgerPath, lockPath } = this;
    const held = getLocks()[this.resolvedPath];
    if (!held || held.released) return; // compromised: proper-lockfile let go of it already
    let ours = Date.now() - held.lastUpdate < this.options.staleMs - this.margin();
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
      await this.releaseDirectory().catch(() => undefined);
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
