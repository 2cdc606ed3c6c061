import { createHash } from 'node:crypto';
import { fstatSync, mkdirSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Mutex } from 'async-mutex';
import lockfile from 'proper-lockfile';
import {
  apply,
  EMPTY_BUDGET,
  evolve,
  type AgencyCommand,
  type AgencyEvent,
  type BudgetTotals,
  type ProposalRecord,
} from '../domain/funding';
import { latestOf, unconfirmedOf } from './memory-store';
import { StorageUnavailableError, type AgencyStore, type CommandResult } from './store';

export interface FileAgencyStoreOptions {
  /** AGENCY_DIR: created when missing. Instances sharing it must be on one host. */
  directory: string;
  /** A lock not refreshed for this long is taken over: its holder died. Default 4000. */
  lockStaleMs?: number;
  onLockCompromised?: (error: Error) => void;
}

const JOURNAL = 'journal.ndjson';
const NEWLINE = 0x0a;

/** `<sha256 of the JSON> <JSON of the command's events>`: one line per command, all or nothing. */
function encodeLine(events: AgencyEvent[]): Buffer {
  const json = JSON.stringify(events);
  return Buffer.from(`${createHash('sha256').update(json).digest('hex')} ${json}\n`, 'utf8');
}

function decodeLine(line: string): AgencyEvent[] | undefined {
  const space = line.indexOf(' ');
  if (space !== 64) return undefined;
  const json = line.slice(65);
  if (createHash('sha256').update(json).digest('hex') !== line.slice(0, 64)) return undefined;
  try {
    const events: unknown = JSON.parse(json);
    return Array.isArray(events) ? (events as AgencyEvent[]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The agency's decisions and budget in AGENCY_DIR: one append-only journal of checksummed
 * lines, each holding every event of one command, appended under a cross-process lock and
 * fdatasynced before the command resolves. Every instance folds the journal into memory and
 * catches up on what others appended before it decides (under the lock) or answers a read.
 * A line cut short by a crash has no newline: it is never used, and the next lock holder
 * cuts it away. A complete line that fails its checksum is damage: the store refuses to guess
 * (a lost reservation could overcommit the budget) and answers with the damage named.
 */
export class FileAgencyStore implements AgencyStore {
  private handle: FileHandle | undefined;
  private readonly journalPath: string;
  private readonly lockPath: string;
  /** Bytes of the journal folded into memory so far (just past the last complete line). */
  private offset = 0;
  private readonly proposals = new Map<string, ProposalRecord>();
  private readonly order: string[] = [];
  private totals: BudgetTotals = { ...EMPTY_BUDGET };
  /** One writer per process (the lock directory orders processes), one catch-up at a time. */
  private readonly writing = new Mutex();
  private readonly reading = new Mutex();
  private damage: string | undefined;

  constructor(private readonly options: FileAgencyStoreOptions) {
    this.journalPath = join(options.directory, JOURNAL);
    this.lockPath = join(options.directory, `${JOURNAL}.lock`);
  }

  async start(): Promise<void> {
    mkdirSync(this.options.directory, { recursive: true });
    // 'a+' creates the journal when missing and never truncates it; writes go by position.
    const created = await open(this.journalPath, 'a+', 0o600);
    await created.close();
    await syncDirectory(dirname(this.journalPath));
    this.handle = await open(this.journalPath, 'r+');
    try {
      await this.catchUp();
    } catch (error) {
      // A damaged journal keeps the agency up, answering 503 with the damage named.
      if (!(error instanceof StorageUnavailableError)) throw error;
    }
  }

  /** What is wrong with the journal, if anything (for the start-up log). */
  get damageReport(): string | undefined {
    return this.damage;
  }

  async execute(command: AgencyCommand): Promise<CommandResult> {
    return this.writing.runExclusive(() =>
      this.underLock(async () => {
        const size = await this.catchUp();
        // Only the lock holder may cut a torn tail away: nobody else is writing now.
        if (size > this.offset) await this.truncate(this.offset);
        const { slice, decision } = apply(
          { proposal: this.proposals.get(command.proposalId), budget: this.totals },
          command,
        );
        if (decision.outcome === 'created') {
          // A read catching up between the write and the fold would fold the line twice.
          await this.reading.runExclusive(async () => {
            await this.append(encodeLine(decision.events));
            for (const event of decision.events) this.fold(event);
          });
        }
        return {
          outcome: decision.outcome,
          proposal: structuredClone(slice.proposal as ProposalRecord),
          budget: { ...slice.budget },
        };
      }),
    );
  }

  async proposal(proposalId: string): Promise<ProposalRecord | undefined> {
    await this.catchUp();
    const record = this.proposals.get(proposalId);
    return record === undefined ? undefined : structuredClone(record);
  }

  async budget(): Promise<BudgetTotals> {
    await this.catchUp();
    return { ...this.totals };
  }

  async latest(limit: number): Promise<ProposalRecord[]> {
    await this.catchUp();
    return latestOf(this.order, this.proposals, limit);
  }

  async unconfirmed(): Promise<ProposalRecord[]> {
    await this.catchUp();
    return unconfirmedOf(this.order, this.proposals);
  }

  async close(): Promise<void> {
    await this.writing.waitForUnlock();
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }

  private fold(event: AgencyEvent): void {
    const before = this.proposals.get(event.proposalId);
    const after = evolve({ proposal: before, budget: this.totals }, event);
    if (before === undefined) this.order.push(event.proposalId);
    this.proposals.set(event.proposalId, after.proposal as ProposalRecord);
    this.totals = after.budget;
  }

  private file(): FileHandle {
    if (this.handle === undefined) throw new StorageUnavailableError('The agency store is closed.');
    return this.handle;
  }

  /** Folds in the complete lines appended since the last look; returns the journal's size. */
  private async catchUp(): Promise<number> {
    return this.reading.runExclusive(async () => {
      if (this.damage !== undefined) throw new StorageUnavailableError(this.damage, 'JOURNAL_DAMAGED');
      const handle = this.file();
      const size = fstatSync(handle.fd).size;
      if (size <= this.offset) return size;
      const buffer = Buffer.allocUnsafe(size - this.offset);
      let read = 0;
      while (read < buffer.length) {
        const { bytesRead } = await handle.read(buffer, read, buffer.length - read, this.offset + read);
        if (bytesRead === 0) break;
        read += bytesRead;
      }
      let lineStart = 0;
      for (let newline = buffer.indexOf(NEWLINE); newline !== -1 && newline < read; newline = buffer.indexOf(NEWLINE, lineStart)) {
        const events = decodeLine(buffer.toString('utf8', lineStart, newline));
        if (events === undefined) {
          this.damage =
            `The agency journal ${this.journalPath} has a record that fails its checksum at byte ${this.offset + lineStart}; ` +
            'the agency refuses to decide on damaged records. Restore the file from a backup.';
          throw new StorageUnavailableError(this.damage, 'JOURNAL_DAMAGED');
        }
        for (const event of events) this.fold(event);
        lineStart = newline + 1;
      }
      this.offset += lineStart;
      return size;
    });
  }

  private async append(line: Buffer): Promise<void> {
    const handle = this.file();
    // The lock was ours all along only if nobody appended since we caught up.
    if (fstatSync(handle.fd).size !== this.offset) {
      throw new StorageUnavailableError('Another agency instance wrote to the journal while this one held its lock; nothing was changed. Retry.');
    }
    let written = 0;
    while (written < line.length) {
      const { bytesWritten } = await handle.write(line, written, line.length - written, this.offset + written);
      written += bytesWritten;
    }
    await handle.datasync();
    this.offset += line.length;
  }

  private async truncate(size: number): Promise<void> {
    const handle = this.file();
    await handle.truncate(size);
    await handle.datasync();
  }

  private async underLock<T>(work: () => Promise<T>): Promise<T> {
    const staleMs = this.options.lockStaleMs ?? 4000;
    let release: () => Promise<void>;
    try {
      release = await lockfile.lock(this.journalPath, {
        lockfilePath: this.lockPath,
        realpath: false,
        stale: staleMs,
        update: Math.max(1000, Math.floor(staleMs / 4)),
        // Long enough to outlast a dead holder's staleness, then give up with a 503.
        retries: { retries: 400, factor: 1.3, minTimeout: 1, maxTimeout: 50, randomize: true },
        onCompromised: (error) => this.options.onLockCompromised?.(error),
      });
    } catch (error) {
      throw new StorageUnavailableError(
        `The agency journal is locked by another instance for too long (${(error as Error).message}); nothing was changed. Retry.`,
        'ELOCKED',
      );
    }
    try {
      return await work();
    } finally {
      await release().catch(() => undefined);
    }
  }
}

async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
