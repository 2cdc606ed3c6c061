import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { AccountLock } from './account-lock';
import { removeAbandonedTempFiles } from './durable-files';

export interface SweeperOptions {
  directory: string;
  lock: AccountLock;
  /** A temp file or lock directory untouched this long belongs to a dead process. */
  abandonedAfterMs: number;
  ledgerPath(accountId: string): string;
  lockPath(accountId: string): string;
}

const LOCK_PATTERN = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.lock$/;
const WANTED_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.lock\.wanted$/;

/**
 * Cleans what killed processes left behind: temp files of interrupted writes, and lock
 * directories of accounts nobody touched again. A lock directory is never removed from outside
 * the lock (that could race an instance taking it over): the sweeper takes the stale lock over
 * the way any instance would, then releases it, which removes it.
 */
export async function sweepLeftovers(options: SweeperOptions): Promise<{ tempFiles: number; lockDirectories: number }> {
  const tempFiles = await removeAbandonedTempFiles(options.directory, options.abandonedAfterMs);
  let lockDirectories = 0;
  const cutoff = Date.now() - options.abandonedAfterMs;
  for (const name of await readdir(options.directory)) {
    if (WANTED_PATTERN.test(name)) {
      // A waiting taker touches its marker on every try; an old one was left by one that died.
      const marker = join(options.directory, name);
      const touchedAt = (await stat(marker).catch(() => undefined))?.mtimeMs;
      if (touchedAt !== undefined && touchedAt < cutoff) await unlink(marker).catch(() => undefined);
      continue;
    }
    const match = LOCK_PATTERN.exec(name);
    if (!match) continue;
    const accountId = match[1]!;
    try {
      if ((await stat(join(options.directory, name))).mtimeMs >= cutoff) continue;
      await options.lock.hold(options.ledgerPath(accountId), options.lockPath(accountId), async () => undefined, { retries: 0 });
      lockDirectories += 1;
    } catch {
      // taken or removed by another instance meanwhile: theirs now
    }
  }
  return { tempFiles, lockDirectories };
}
