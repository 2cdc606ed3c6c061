import { fstatSync } from 'node:fs';
import { open, readdir, readFile, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { CLAIMED_SUFFIX, SEGMENT_SUFFIX, syncFiles, type JournalLogger } from './commit-journal';
import { decodeJournalRecord, type JournaledLine } from './journal-codec';
import { decodeRecord } from './record-codec';

/** Far above the largest ledger record (as in ledger-file.ts). */
const MAX_RECORD_BYTES = 16 * 1024;

export interface ReplayOptions {
  journalDirectory: string;
  ledgerPath(accountId: string): string;
  /** Runs `work` while holding the account's cross-process lock. */
  withAccountLock<T>(accountId: string, work: () => Promise<T>): Promise<T>;
  logger: JournalLogger;
}

export interface ReplayResult {
  /** Segment files read. */
  segments: number;
  /** Intact journal records read. */
  records: number;
  /** Complete journal records that failed their checksum: never replayed. */
  rejected: number;
  /** Accounts whose ledger lacked journaled bytes, written back. */
  repaired: string[];
  /** Accounts whose ledger holds other valid records than the journal acknowledged, or a gap: never written. */
  damaged: Map<string, string>;
  /** Every ledger the segments named. */
  ledgers: Set<string>;
}

/** Every segment in the journal folder (every instance's, claimed ones included). */
export async function listSegments(journalDirectory: string): Promise<string[]> {
  try {
    return (await readdir(journalDirectory))
      .filter((name) => name.endsWith(SEGMENT_SUFFIX) || name.endsWith(`${SEGMENT_SUFFIX}${CLAIMED_SUFFIX}`))
      .sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/**
 * Recovery: makes every ledger hold every record journaled for it, as the journal has it.
 * For each journaled ledger line, at the offset it names:
 * - the ledger holds those exact bytes: nothing to do (the usual case, and always the case for
 *   a live instance's segments, which are journaled only after their ledger append);
 * - the ledger ends before them or holds no intact record there (a tail lost or torn by a
 *   power cut): they are written there, under the account's lock, and the ledger fdatasynced;
 * - the ledger holds another intact record there, or ends before the line's offset (a gap no
 *   journal fills): damage; the ledger is never written, the account answers 503.
 * Idempotent: replaying again, or another instance's journal while it runs, changes nothing.
 * A journal record that fails its checksum is never replayed (a flipped byte, or a group
 * commit torn by a power cut); what follows the last newline (the zeros a segment is filled
 * with ahead of its records, a torn last record, or one a live instance is writing now) is
 * ignored.
 */
export async function replayJournal(options: ReplayOptions, names?: string[]): Promise<ReplayResult> {
  const result: ReplayResult = { segments: 0, records: 0, rejected: 0, repaired: [], damaged: new Map(), ledgers: new Set() };
  const linesByAccount = new Map<string, Map<number, Buffer>>();
  for (const name of names ?? (await listSegments(options.journalDirectory))) {
    let bytes: Buffer;
    try {
      bytes = await readFile(join(options.journalDirectory, name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // checkpointed meanwhile
      throw error;
    }
    result.segments += 1;
    let at = 0;
    for (let newline = bytes.indexOf(0x0a); newline !== -1; newline = bytes.indexOf(0x0a, at)) {
      const decoded = decodeJournalRecord(bytes.toString('utf8', at, newline));
      if (decoded === undefined) {
        result.rejected += 1;
        options.logger.error({ segment: name, byte: at }, 'a journal record fails its checksum; it is not replayed');
      } else {
        result.records += 1;
        const { accountId } = decoded.record;
        result.ledgers.add(options.ledgerPath(accountId));
        let lines = linesByAccount.get(accountId);
        if (!lines) linesByAccount.set(accountId, (lines = new Map()));
        for (const line of decoded.lines) {
          const known = lines.get(line.offset);
          if (known && !known.equals(line.bytes)) {
            result.damaged.set(accountId, `Two journal records disagree about byte ${line.offset} of the ledger of account ${accountId}.`);
          }
          lines.set(line.offset, line.bytes);
        }
      }
      at = newline + 1;
    }
  }
  for (const [accountId, byOffset] of linesByAccount) {
    if (result.damaged.has(accountId)) continue;
    const lines = [...byOffset].map(([offset, bytes]) => ({ offset, bytes })).sort((a, b) => a.offset - b.offset);
    const path = options.ledgerPath(accountId);
    let outcome = await reconcile(path, lines, false);
    if (outcome.kind === 'repair') {
      outcome = await options.withAccountLock(accountId, () => reconcile(path, lines, true));
      if (outcome.kind === 'repaired') {
        result.repaired.push(accountId);
        options.logger.warn({ accountId, bytes: outcome.bytes }, 'wrote back journaled ledger records a crash had lost');
      }
    }
    if (outcome.kind === 'damaged') {
      result.damaged.set(accountId, outcome.message);
      options.logger.error({ accountId, reason: outcome.message }, 'a ledger contradicts the commit journal; the account is unavailable');
    }
  }
  return result;
}

type Outcome = { kind: 'ok' } | { kind: 'repair' } | { kind: 'repaired'; bytes: number } | { kind: 'damaged'; message: string };

async function reconcile(path: string, lines: JournaledLine[], repair: boolean): Promise<Outcome> {
  const file = path.split(/[\\/]/).pop();
  let handle: FileHandle;
  try {
    handle = await open(path, repair ? 'r+' : 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    return { kind: 'damaged', message: `The commit journal holds records of ${file}, which is missing.` };
  }
  try {
    let size = fstatSync(handle.fd).size;
    const writes: JournaledLine[] = [];
    for (const line of lines) {
      if (line.offset > size) {
        return { kind: 'damaged', message: `The ledger ${file} ends at byte ${size}, before the journaled record at byte ${line.offset}: records are missing.` };
      }
      const found = Buffer.alloc(line.bytes.length);
      const { bytesRead } = await handle.read(found, 0, found.length, line.offset);
      if (bytesRead === found.length && found.equals(line.bytes)) continue;
      const there = await intactRecordAt(handle, line.offset);
      if (there) {
        return { kind: 'damaged', message: `Byte ${line.offset} of ${file} holds another record than the one the commit journal acknowledged.` };
      }
      writes.push(line);
      size = Math.max(size, line.offset + line.bytes.length);
    }
    if (writes.length === 0) return { kind: 'ok' };
    if (!repair) return { kind: 'repair' };
    let bytes = 0;
    for (const line of writes) {
      for (let written = 0; written < line.bytes.length; ) {
        const { bytesWritten } = await handle.write(line.bytes, written, line.bytes.length - written, line.offset + written);
        written += bytesWritten;
      }
      bytes += line.bytes.length;
    }
    await handle.datasync();
    return { kind: 'repaired', bytes };
  } finally {
    await handle.close();
  }
}

/** Whether an intact ledger record that names `offset` starts at `offset`. */
async function intactRecordAt(handle: FileHandle, offset: number): Promise<boolean> {
  const buffer = Buffer.alloc(MAX_RECORD_BYTES + 1);
  const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
  const newline = buffer.subarray(0, bytesRead).indexOf(0x0a);
  if (newline === -1) return false;
  return decodeRecord(buffer.toString('utf8', 0, newline))?.offset === offset;
}

/**
 * Takes over the segments of instances that look dead (not written for `olderThanMs`), one at
 * a time: renames it first (so an instance that was only paused notices, see commit-journal.ts,
 * and makes its own records durable), replays it, fdatasyncs every ledger it names and deletes
 * it. A segment naming a damaged account is kept for an operator (and replayed at every start).
 */
export async function checkpointAbandonedSegments(
  options: ReplayOptions & { ownInstanceId: string; olderThanMs: number },
): Promise<{ segments: number; result: ReplayResult[] }> {
  const cutoff = Date.now() - options.olderThanMs;
  const results: ReplayResult[] = [];
  let segments = 0;
  for (const name of await listSegments(options.journalDirectory)) {
    if (name.startsWith(`${options.ownInstanceId}.`)) continue;
    const path = join(options.journalDirectory, name);
    let claimed = name;
    try {
      if ((await stat(path)).mtimeMs >= cutoff) continue;
      if (!name.endsWith(CLAIMED_SUFFIX)) {
        claimed = `${name}${CLAIMED_SUFFIX}`;
        await rename(path, join(options.journalDirectory, claimed));
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // checkpointed or claimed meanwhile
      throw error;
    }
    const result = await replayJournal(options, [claimed]);
    results.push(result);
    if (result.damaged.size > 0) continue;
    await syncFiles(result.ledgers);
    await unlink(join(options.journalDirectory, claimed)).catch(() => undefined);
    segments += 1;
  }
  return { segments, result: results };
}
