import { mkdir, open, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDirectory } from './durable-files';

/** An account that may have ended (or will at `dueAtMs`) and whose closeout is not yet acknowledged. */
export interface CloseoutEntry {
  accountId: string;
  dueAtMs: number;
  name: string;
}

const ENTRY_PATTERN = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(\d{1,16})$/;

/**
 * The outbox of account ends, so the DCU notices an expiry on its own without loading every
 * account: one empty file `ends/<accountId>.<dueAtMs>` per account whose closeout the agency has
 * not acknowledged (due at its expiry; at 0 once its balance reached zero). It is only a hint:
 * the ledger decides (a stale entry finds the account running and is moved to its real expiry,
 * or finds no account and goes). Listing it costs one readdir of the accounts still open.
 */
export class CloseoutIndex {
  readonly directory: string;

  constructor(accountDirectory: string) {
    this.directory = join(accountDirectory, 'ends');
  }

  async start(): Promise<void> {
    await mkdir(this.directory, { recursive: true });
  }

  /** Makes sure the account has an entry due at `dueAtMs`, durably. */
  async add(accountId: string, dueAtMs: number): Promise<void> {
    const path = join(this.directory, `${accountId}.${Math.max(0, Math.floor(dueAtMs))}`);
    try {
      await (await open(path, 'wx', 0o600)).close();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
      throw error;
    }
    await fsyncDirectory(this.directory);
  }

  async list(): Promise<CloseoutEntry[]> {
    const entries: CloseoutEntry[] = [];
    for (const name of await readdir(this.directory).catch(() => [] as string[])) {
      const match = ENTRY_PATTERN.exec(name);
      if (match) entries.push({ accountId: match[1]!, dueAtMs: Number(match[2]), name });
    }
    return entries;
  }

  async remove(entry: CloseoutEntry): Promise<void> {
    await unlink(join(this.directory, entry.name)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }
}
