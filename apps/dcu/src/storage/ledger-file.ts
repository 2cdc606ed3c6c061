import { fstatSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { LedgerCorruptError, parseRecord, type LedgerRecord } from '../domain/ledger';

export interface ScannedRecord {
  record: LedgerRecord;
  /** Byte offset of the record's first byte. */
  offset: number;
}

export interface ScanResult {
  records: ScannedRecord[];
  /** Offset just past the last complete, well-formed record. */
  endOffset: number;
  /** Bytes after `endOffset` that do not form a complete record (a torn write). */
  tornBytes: number;
}

const CHUNK_BYTES = 1 << 20;
const NEWLINE = 0x0a;

/**
 * One account's ledger file: JSON lines, appended at a known offset and made durable with
 * fdatasync before anyone is told. Reading stops at the last complete record; what follows it
 * is a torn write, which the lock holder may cut away.
 */
export class LedgerFile {
  private handle: FileHandle | undefined;

  constructor(readonly path: string) {}

  private async fileHandle(): Promise<FileHandle> {
    this.handle ??= await open(this.path, 'r+');
    return this.handle;
  }

  get isOpen(): boolean {
    return this.handle !== undefined;
  }

  /** The file's size now. fstat of an open descriptor answers from memory: no need for the thread pool. */
  async size(): Promise<number> {
    return fstatSync((await this.fileHandle()).fd).size;
  }

  /** Reads the complete records in [from, until), until defaulting to the size of the file. */
  async scan(from: number, until?: number): Promise<ScanResult> {
    const handle = await this.fileHandle();
    const size = until ?? fstatSync(handle.fd).size;
    const records: ScannedRecord[] = [];
    let endOffset = from;
    let pending = Buffer.alloc(0);
    let pendingOffset = from;
    let invalidAt: number | undefined;
    for (let position = from; position < size; ) {
      const chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, size - position));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      const data = pending.length > 0 ? Buffer.concat([pending, chunk.subarray(0, bytesRead)]) : chunk.subarray(0, bytesRead);
      let lineStart = 0;
      for (let newline = data.indexOf(NEWLINE); newline !== -1; newline = data.indexOf(NEWLINE, lineStart)) {
        const lineOffset = pendingOffset + lineStart;
        const record = parseRecord(data.toString('utf8', lineStart, newline));
        if (record === undefined) {
          invalidAt ??= lineOffset;
        } else {
          if (invalidAt !== undefined) {
            // A bad line with good ones after it is not a torn tail: refuse to guess.
            throw new LedgerCorruptError(`${this.path}: unreadable record at byte ${invalidAt}`);
          }
          records.push({ record, offset: lineOffset });
          endOffset = pendingOffset + newline + 1;
        }
        lineStart = newline + 1;
      }
      pending = Buffer.from(data.subarray(lineStart));
      pendingOffset += lineStart;
    }
    return { records, endOffset, tornBytes: size - endOffset };
  }

  /** Reads the one record that starts at `offset`. */
  async recordAt(offset: number): Promise<LedgerRecord | undefined> {
    const handle = await this.fileHandle();
    const buffer = Buffer.allocUnsafe(4096);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
    const newline = buffer.subarray(0, bytesRead).indexOf(NEWLINE);
    return newline === -1 ? undefined : parseRecord(buffer.toString('utf8', 0, newline));
  }

  /** Writes `data` at `offset` (the end of the file, under the lock) and waits until it is on disk. */
  async appendDurably(offset: number, data: Buffer): Promise<void> {
    const handle = await this.fileHandle();
    let written = 0;
    while (written < data.length) {
      const { bytesWritten } = await handle.write(data, written, data.length - written, offset + written);
      written += bytesWritten;
    }
    await handle.datasync();
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
}
