import { fstatSync, readSync, writeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { AccountEvent } from '../../domain/account';
import { AccountDamaged } from '../store';
import { decodeRecord, encodeRecord, type StoredRecord } from './record-codec';

export interface ScannedRecord {
  event: AccountEvent;
  /** Byte offset of the record's first byte. */
  offset: number;
}

export interface ScanResult {
  records: ScannedRecord[];
  /** Offset just past the last complete record read (records of fenced-out writers included). */
  endOffset: number;
  /** Bytes after `endOffset` that do not form a complete record: a torn write (only when read to the end). */
  tornBytes: number;
}

export interface EncodedBatch {
  data: Buffer;
  records: ScannedRecord[];
  offset: number;
  endOffset: number;
}

const CHUNK_BYTES = 1 << 16;
/** Where `holdsByteAt` reads its byte (never looked at). */
const PROBE = Buffer.alloc(1);
const NEWLINE = 0x0a;
/** Far above the largest record (names, title and note are bounded by the contracts). */
const MAX_RECORD_BYTES = 16 * 1024;

/**
 * One account's ledger file: checksummed JSON lines (record-codec.ts), opened for appending
 * only; made durable through the commit journal before anyone is told. A complete line that fails its
 * checksum is damage (AccountDamaged, naming the byte); an incomplete last line is a torn write,
 * which the lock holder cuts away.
 */
export class LedgerFile {
  private handle: FileHandle | undefined;

  constructor(readonly path: string) {}

  private async fileHandle(): Promise<FileHandle> {
    // 'a+': reads anywhere, every write goes to the end (O_APPEND), so no writer, however stale
    // its idea of the file, can overwrite a record.
    this.handle ??= await open(this.path, 'a+');
    return this.handle;
  }

  /** The file's size now. fstat of an open descriptor answers from memory: no need for the thread pool. */
  async size(): Promise<number> {
    return fstatSync((await this.fileHandle()).fd).size;
  }

  /**
   * Whether the file holds a byte at `offset` (it has grown beyond it), if it is open: the read
   * path's look, synchronous. A one-byte read from the page cache, cheaper than an fstat
   * (whose Stats object and four Dates were a visible share of a read).
   */
  holdsByteAt(offset: number): boolean | undefined {
    return this.handle === undefined ? undefined : readSync(this.handle.fd, PROBE, 0, 1, offset) === 1;
  }

  /**
   * Reads the complete records in [from, until) (until: the end of the file), at most
   * `maxRecords` of them. Records whose named offset is not where they lie (a fenced-out
   * writer's) are stepped over.
   */
  async scan(from: number, until?: number, maxRecords = Number.POSITIVE_INFINITY): Promise<ScanResult> {
    const handle = await this.fileHandle();
    const size = until ?? fstatSync(handle.fd).size;
    const records: ScannedRecord[] = [];
    let endOffset = from;
    let pending = Buffer.alloc(0);
    let pendingOffset = from;
    for (let position = from; position < size && records.length < maxRecords; ) {
      const chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, size - position));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      const data = pending.length > 0 ? Buffer.concat([pending, chunk.subarray(0, bytesRead)]) : chunk.subarray(0, bytesRead);
      let lineStart = 0;
      for (
        let newline = data.indexOf(NEWLINE);
        newline !== -1 && records.length < maxRecords;
        newline = data.indexOf(NEWLINE, lineStart)
      ) {
        const lineOffset = pendingOffset + lineStart;
        const stored = decodeRecord(data.toString('utf8', lineStart, newline));
        if (stored === undefined) throw this.damageAt(lineOffset);
        if (stored.offset === lineOffset) records.push({ event: stored.event, offset: lineOffset });
        lineStart = newline + 1;
        endOffset = pendingOffset + lineStart;
      }
      pending = Buffer.from(data.subarray(lineStart));
      pendingOffset += lineStart;
    }
    if (records.length >= maxRecords) return { records, endOffset, tornBytes: 0 };
    // What follows the last newline: a torn write, unless it is a whole record whose newline
    // was damaged (then it was acknowledged, and cutting it would lose it).
    const tail = pending.toString('utf8');
    if (tail.length > 1 && decodeRecord(tail.slice(0, -1)) !== undefined) throw this.damageAt(endOffset);
    return { records, endOffset, tornBytes: size - endOffset };
  }

  /** The record that starts at `offset`, if a complete, intact one does (and is not a fenced-out writer's). */
  async recordAt(offset: number): Promise<AccountEvent | undefined> {
    const stored = await this.lineAt(offset);
    return stored?.offset === offset ? stored.event : undefined;
  }

  /** Whether a complete, intact record starts at `offset`. */
  async startsRecord(offset: number): Promise<boolean> {
    return (await this.lineAt(offset)) !== undefined;
  }

  private async lineAt(offset: number): Promise<StoredRecord | undefined> {
    const handle = await this.fileHandle();
    // A record starts right after a newline (notes and names are JSON-escaped: no raw newlines).
    const start = Math.max(0, offset - 1);
    const buffer = Buffer.allocUnsafe(MAX_RECORD_BYTES + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, start);
    const data = buffer.subarray(0, bytesRead);
    if (offset > 0 && data[0] !== NEWLINE) return undefined;
    const from = offset - start;
    const newline = data.indexOf(NEWLINE, from);
    return newline === -1 ? undefined : decodeRecord(data.toString('utf8', from, newline));
  }

  /** The bytes of `events` written from `offset`, with each record's offset. */
  static encode(offset: number, events: readonly AccountEvent[]): EncodedBatch {
    const lines: string[] = [];
    const records: ScannedRecord[] = [];
    let at = offset;
    for (const event of events) {
      const line = encodeRecord(event, at);
      lines.push(line);
      records.push({ event, offset: at });
      at += Buffer.byteLength(line, 'utf8');
    }
    return { data: Buffer.from(lines.join(''), 'utf8'), records, offset, endOffset: at };
  }

  /**
   * Appends a batch meant to start at `batch.offset` (the end of the ledger as the lock holder
   * knows it), to the page cache: the commit journal makes it durable (commit-journal.ts).
   * Resolves false when it did not land there: another instance took the lock over while this
   * one was paused, so these records are void (and are never journaled).
   */
  async append(batch: EncodedBatch): Promise<boolean> {
    const { data, offset } = batch;
    const handle = this.handle ?? (await this.fileHandle());
    // To the page cache, so without the thread pool: handing each append to a pool thread and
    // back cost more than the write itself.
    for (let written = 0; written < data.length; ) written += writeSync(handle.fd, data, written, data.length - written);
    // Read back where it was meant to be: equal bytes are ours (they hold fresh ids and times).
    // From the page cache, where the write just put them: no need for the thread pool.
    const check = Buffer.allocUnsafe(data.length);
    const bytesRead = readSync(handle.fd, check, 0, data.length, offset);
    return bytesRead === data.length && check.equals(data);
  }

  /** Makes everything written to the ledger so far durable. */
  async datasync(): Promise<void> {
    await (await this.fileHandle()).datasync();
  }

  /** Cuts a torn tail away; only the holder of the account's lock may do this. */
  async truncateDurably(size: number): Promise<void> {
    const handle = await this.fileHandle();
    await handle.truncate(size);
    await handle.datasync();
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }

  private damageAt(offset: number): AccountDamaged {
    return new AccountDamaged(
      `The ledger of this account is damaged: the record at byte ${offset} of ${this.path.split(/[\\/]/).pop()} fails its checksum. ` +
        'It is never used; the account is unavailable until an operator restores the file. Other accounts are not affected.',
    );
  }
}
