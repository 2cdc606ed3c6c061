import { crc32 } from 'node:zlib';
import { decodeRecord, hex8, SUM_PREFIX, unsealLine } from './record-codec';

/**
 * One journal line: the ledger bytes one account's batch appended (`b`, the ledger's own
 * checksummed lines, in base64), the account (`a`) and the ledger offset they start at (`o`),
 * with a CRC-32 of the line's own bytes as in the ledger:
 *
 *   {"a":"<account id>","o":1234,"b":"eyJvIjoxMjM0LC4uLn0K","sum":"89abcdef"}\n
 *
 * Base64 because the bytes are then copied as they are: as a JSON string (`d`, how journals
 * were written before; they still read) every quote of the ledger's JSON had to be escaped,
 * which cost over three times as much, on every group commit. `jq -r '.b | @base64d'` shows them.
 */
export interface JournalRecord {
  accountId: string;
  /** Ledger offset of the first byte of `data`. */
  offset: number;
  /** The ledger's bytes, whole checksummed lines. */
  data: Buffer;
}

/** One ledger line inside a journal record, at the ledger offset it must lie at. */
export interface JournaledLine {
  offset: number;
  bytes: Buffer;
}

const ACCOUNT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The same bytes as `sealLine(JSON.stringify({ a, o, b: data.toString('base64') }))`, made in
 * one buffer: the text is turned into bytes once, not once for the checksum and again for the write.
 */
export function encodeJournalRecord(record: JournalRecord): Buffer {
  const body = Buffer.from(
    `{"a":${JSON.stringify(record.accountId)},"o":${JSON.stringify(record.offset)},"b":"${record.data.toString('base64')}"}`,
    'utf8',
  );
  const suffix = `${SUM_PREFIX}${hex8(crc32(body))}"}\n`;
  const line = Buffer.allocUnsafe(body.length - 1 + suffix.length);
  body.copy(line, 0, 0, body.length - 1);
  line.write(suffix, body.length - 1, 'latin1');
  return line;
}

/** The ledger bytes of a record: `b` (base64, canonical) or, in journals written before, `d` (text). */
function dataOf(parsed: { b?: unknown; d?: unknown }): Buffer | undefined {
  if (typeof parsed.b === 'string' && parsed.d === undefined) {
    const data = Buffer.from(parsed.b, 'base64');
    // Buffer.from skips what is not base64; only the exact encoding is taken.
    return data.toString('base64') === parsed.b ? data : undefined;
  }
  if (typeof parsed.d === 'string' && parsed.b === undefined) return Buffer.from(parsed.d, 'utf8');
  return undefined;
}

/**
 * The record in one journal line (without its newline), or undefined when the line fails its
 * checksum or its shape, or when the ledger lines it carries do not each name the offset they
 * would lie at (so a record is replayed whole and exactly, or not at all).
 */
export function decodeJournalRecord(line: string): { record: JournalRecord; lines: JournaledLine[] } | undefined {
  const body = unsealLine(line);
  if (body === undefined) return undefined;
  let parsed: { a?: unknown; o?: unknown; b?: unknown; d?: unknown };
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    return undefined;
  }
  const { a, o } = parsed;
  if (typeof a !== 'string' || !ACCOUNT_ID.test(a) || typeof o !== 'number' || !Number.isSafeInteger(o) || o < 0) return undefined;
  const data = dataOf(parsed);
  if (data === undefined || data.length === 0 || data[data.length - 1] !== 0x0a) return undefined;
  const lines: JournaledLine[] = [];
  let at = 0;
  for (let newline = data.indexOf(0x0a); newline !== -1; newline = data.indexOf(0x0a, at)) {
    const stored = decodeRecord(data.toString('utf8', at, newline));
    if (stored === undefined || stored.offset !== o + at) return undefined;
    lines.push({ offset: o + at, bytes: data.subarray(at, newline + 1) });
    at = newline + 1;
  }
  return { record: { accountId: a, offset: o, data }, lines };
}
