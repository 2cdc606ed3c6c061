import { fstatSync, statSync, writeSync } from 'node:fs';
import { mkdir, open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Mutex } from 'async-mutex';
import { fsyncDirectory } from './durable-files';
import { encodeJournalRecord, type JournalRecord } from './journal-codec';

export interface JournalEntry extends JournalRecord {
  /** The ledger these bytes were appended to (made durable before the segment is deleted). */
  ledgerPath: string;
}

export interface JournalLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface CommitJournalOptions {
  /** The journal folder, `ACCOUNT_DIR/journal`, shared by every instance on the account folder. */
  directory: string;
  /** Names this instance's segments, `<instanceId>.<sequence>.jsonl`. */
  instanceId: string;
  logger: JournalLogger;
  /** A segment is retired and checkpointed once it holds this much... */
  rotateBytes?: number;
  /** ...or once its first record is this old. */
  rotateMs?: number;
}

interface Segment {
  path: string;
  handle: FileHandle;
  /** The inode it was created as: if its name points elsewhere, another instance claimed it. */
  ino: number;
  /** Where the next record goes: the end of the records written. */
  bytes: number;
  /** Bytes zero-filled and made durable ahead of the records (see `extend`). */
  allocated: number;
  firstWriteAt: number;
  /** Every ledger a record of this segment was appended to. */
  ledgers: Set<string>;
}

interface Waiting {
  entry: JournalEntry;
  resolve(): void;
  reject(error: unknown): void;
}

const ROTATE_BYTES = 8 * 1024 * 1024;
const ROTATE_MS = 5000;
const CHECKPOINT_TICK_MS = 200;
/**
 * A segment is zero-filled ahead of its records, this much at a time, and that made durable:
 * the fdatasync of a group commit then changes no metadata (not even the size), so on ext4
 * it is a plain data flush, neither waiting for nor forcing a commit of the file system's own
 * journal (which would also flush every ledger's dirty pages and stall their appends).
 */
const EXTEND_BYTES = 512 * 1024;
const ZEROS = Buffer.alloc(EXTEND_BYTES);
/** Records committed by one write and fdatasync; bounds the latency of the last of them. */
const MAX_GROUP = 4096;
/** Ledgers made durable at once by a checkpoint (each fdatasync holds a pool thread). */
const SYNC_CONCURRENCY = 16;
export const SEGMENT_SUFFIX = '.jsonl';
export const CLAIMED_SUFFIX = '.claimed';

/**
 * Makes the files at `paths` durable (fdatasync each). A ledger that is gone has nothing left
 * to make durable (ledgers are never deleted; only a test's cleanup or an operator removes one).
 */
export async function syncFiles(paths: Iterable<string>): Promise<void> {
  const queue = [...paths];
  const worker = async () => {
    for (let path = queue.pop(); path !== undefined; path = queue.pop()) {
      let handle: FileHandle;
      try {
        handle = await open(path, 'r');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      try {
        await handle.datasync();
      } finally {
        await handle.close();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(SYNC_CONCURRENCY, queue.length) }, worker));
}

/**
 * One fsync for many accounts: this instance's commit journal. An account's batch is first
 * appended to its ledger (page cache: other instances see it at once), then its bytes are
 * handed here; every batch waiting meanwhile, of any account, goes to the journal with one
 * write and one fdatasync, and each is answered only after that. A background checkpointer
 * retires a segment every 5 seconds (or 8 MiB), fdatasyncs the ledgers its records went to, and
 * only then deletes it: a record is always durable in the journal, in its ledger, or both.
 * After a power cut, journal-replay.ts writes back what a ledger lost.
 */
export class CommitJournal {
  private waiting: Waiting[] = [];
  private committing = false;
  private current: Segment | undefined;
  /** Segments no longer written, whose ledgers are still to be made durable before deletion. */
  private readonly retired: Segment[] = [];
  private sequence = 0;
  /** Held by a group commit and by the swap of segments, never across both. */
  private readonly segmentLock = new Mutex();
  private checkpointing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private readonly rotateBytes: number;
  private readonly rotateMs: number;

  constructor(private readonly options: CommitJournalOptions) {
    this.rotateBytes = options.rotateBytes ?? ROTATE_BYTES;
    this.rotateMs = options.rotateMs ?? ROTATE_MS;
  }

  get instanceId(): string {
    return this.options.instanceId;
  }

  async start(): Promise<void> {
    await mkdir(this.options.directory, { recursive: true });
    this.timer = setInterval(() => void this.checkpoint().catch(() => undefined), CHECKPOINT_TICK_MS);
    this.timer.unref();
  }

  /** Resolves once `entry` is durable in the journal (or, failing that, in its ledger). */
  commit(entry: JournalEntry): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ entry, resolve, reject });
      if (!this.committing) void this.run();
    });
  }

  /**
   * Retires the current segment when it is big or old enough (`all`: whenever it holds
   * anything), then makes the ledgers of every retired segment durable and deletes it.
   * Checkpoints run one at a time.
   */
  checkpoint(options: { all?: boolean } = {}): Promise<void> {
    const run = this.checkpointing.then(() => this.checkpointNow(options.all ?? false));
    this.checkpointing = run.catch((error: unknown) => {
      this.options.logger.warn({ err: error }, 'could not checkpoint the commit journal; it is kept and retried');
    });
    return run;
  }

  /** Waits for the commits in flight, checkpoints everything and deletes this instance's segments. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    while (this.committing || this.waiting.length > 0) {
      if (!this.committing) await this.run();
      else await new Promise((resolve) => setImmediate(resolve));
    }
    await this.checkpoint({ all: true });
    const empty = this.current;
    this.current = undefined;
    if (empty) {
      await empty.handle.close().catch(() => undefined);
      await unlink(empty.path).catch(() => undefined);
    }
  }

  private async run(): Promise<void> {
    this.committing = true;
    try {
      while (this.waiting.length > 0) {
        const group = this.waiting.splice(0, MAX_GROUP);
        await this.segmentLock.runExclusive(() => this.writeGroup(group));
      }
    } finally {
      this.committing = false;
    }
  }

  private async writeGroup(group: Waiting[]): Promise<void> {
    let segment: Segment | undefined;
    try {
      segment = this.current ??= await this.createSegment();
      // Listed before the write: a segment that failed half-way still gets its ledgers synced.
      for (const { entry } of group) segment.ledgers.add(entry.ledgerPath);
      const data = Buffer.concat(group.map(({ entry }) => encodeJournalRecord(entry)));
      if (segment.bytes === 0) segment.firstWriteAt = Date.now();
      if (segment.bytes + data.length > segment.allocated) await this.extend(segment, segment.bytes + data.length);
      // Into space already allocated, so only the page cache changes: no need for the thread pool.
      for (let written = 0; written < data.length; ) {
        written += writeSync(segment.handle.fd, data, written, data.length - written, segment.bytes + written);
      }
      segment.bytes += data.length;
      await segment.handle.datasync();
      if (!this.stillNamed(segment)) {
        // Another instance took this one for dead (paused past the staleness) and claimed the
        // segment: it made the ledgers it read durable, perhaps before these records reached
        // it. So these are made durable in their ledgers here, before anyone is answered.
        this.options.logger.warn({ segment: segment.path }, 'journal segment claimed by another instance; syncing the ledgers directly');
        this.current = undefined;
        await segment.handle.close().catch(() => undefined);
        await syncFiles(new Set(group.map(({ entry }) => entry.ledgerPath)));
      }
    } catch (error) {
      for (const waiting of group) waiting.reject(error);
      // What a failed write or fdatasync left is unknown: a new segment takes the next group;
      // this one is still checkpointed (its ledgers synced) before it is deleted.
      if (segment && this.current === segment) {
        this.current = undefined;
        this.retired.push(segment);
      }
      return;
    }
    for (const waiting of group) waiting.resolve();
  }

  private stillNamed(segment: Segment): boolean {
    try {
      return statSync(segment.path).ino === segment.ino;
    } catch {
      return false;
    }
  }

  private async createSegment(): Promise<Segment> {
    this.sequence += 1;
    const path = join(this.options.directory, `${this.options.instanceId}.${String(this.sequence).padStart(8, '0')}${SEGMENT_SUFFIX}`);
    // Created here, so the folder is synced for the name to survive a power cut.
    const handle = await open(path, 'wx', 0o600);
    try {
      await fsyncDirectory(this.options.directory);
    } catch (error) {
      await handle.close();
      throw error;
    }
    return { path, handle, ino: fstatSync(handle.fd).ino, bytes: 0, allocated: 0, firstWriteAt: 0, ledgers: new Set() };
  }

  /** Zero-fills the segment to at least `size` bytes and makes that durable (size included). */
  private async extend(segment: Segment, size: number): Promise<void> {
    while (segment.allocated < size) {
      const { bytesWritten } = await segment.handle.write(ZEROS, 0, ZEROS.length, segment.allocated);
      segment.allocated += bytesWritten;
    }
    await segment.handle.sync();
  }

  private async checkpointNow(all: boolean): Promise<void> {
    const current = this.current;
    const due =
      current !== undefined &&
      current.bytes > 0 &&
      (all || current.bytes >= this.rotateBytes || Date.now() - current.firstWriteAt >= this.rotateMs);
    if (due) {
      // The next commit creates the next segment: one made ahead would lie unwritten while the
      // instance is idle, and another instance would take it for a dead one's.
      await this.segmentLock.runExclusive(() => {
        if (this.current === current) {
          this.retired.push(current);
          this.current = undefined;
        }
      });
    }
    while (this.retired.length > 0) {
      const segment = this.retired[0]!;
      // Every record of the segment was appended to its ledger before it was journaled.
      await syncFiles(segment.ledgers);
      await segment.handle.close().catch(() => undefined);
      await unlink(segment.path).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error; // claimed and deleted by another instance
      });
      this.retired.shift();
    }
  }
}
