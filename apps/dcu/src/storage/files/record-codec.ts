import { crc32 } from 'node:zlib';
import type { AccountEvent, WithdrawalEvent } from '../../domain/account';

/**
 * One ledger line: the event as JSON, its expected byte offset in the ledger (`o`), and a
 * CRC-32 of those bytes (`sum`), so every line stays a JSON object a person or `jq` can read:
 *
 *   {"o":1234,"type":"withdrawal",...,"sum":"89abcdef"}\n
 *
 * The checksum covers the line's own bytes without the `,"sum":"…"` suffix; a line that fails
 * it is never used. The offset fences out a writer that lost its lock while paused (SIGSTOP)
 * and wrote after another instance took over: its records land (the ledger is opened for
 * appending only, so nothing is ever overwritten) at an offset other than the one they name,
 * and every reader skips them.
 */
export interface StoredRecord {
  event: AccountEvent;
  /** The offset the writer expected the record to start at. */
  offset: number;
}

export const SUM_PREFIX = ',"sum":"';
/** `,"sum":"` + 8 hex digits + `"}` */
const SUM_SUFFIX_LENGTH = SUM_PREFIX.length + 8 + 2;

/** A JSON object's text sealed with a CRC-32 of its own bytes as its last member, and a newline. */
export function sealLine(body: string): string {
  return `${body.slice(0, -1)}${SUM_PREFIX}${hex8(crc32(body))}"}\n`;
}

/** The JSON text a sealed line (without its newline) was made from, or undefined when it fails its checksum. */
export function unsealLine(line: string): string | undefined {
  if (line.length <= SUM_SUFFIX_LENGTH || !line.endsWith('"}')) return undefined;
  const sumAt = line.length - SUM_SUFFIX_LENGTH;
  if (line.slice(sumAt, sumAt + SUM_PREFIX.length) !== SUM_PREFIX) return undefined;
  const sumHex = line.slice(sumAt + SUM_PREFIX.length, line.length - 2);
  if (!/^[0-9a-f]{8}$/.test(sumHex)) return undefined;
  const body = `${line.slice(0, sumAt)}}`;
  return crc32(body) === Number.parseInt(sumHex, 16) ? body : undefined;
}
const EVENT_TYPES = new Set(['opened', 'researcher-added', 'researcher-removed', 'withdrawal', 'closed', 'closeout-acknowledged']);

export function encodeRecord(event: AccountEvent, offset: number): string {
  if (event.type === 'withdrawal' && isSafeCount(offset) && isSafeCount(event.amountCents) && isSafeCount(event.balanceAfterCents)) {
    return sealHead(withdrawalHead(event, offset));
  }
  return sealLine(JSON.stringify({ o: offset, ...event }));
}

/**
 * A withdrawal, the record written on every request, spelled out: the same bytes as
 * `JSON.stringify({ o: offset, ...event })` (the codec's tests check it on random events) at
 * about half the cost, because generic stringify walks the object's shape every time.
 * Returned without its closing brace, which `sealHead` adds.
 */
function withdrawalHead(event: WithdrawalEvent, offset: number): string {
  const head =
    `{"o":${offset},"type":"withdrawal","id":${jsonString(event.id)},"researcherId":${jsonString(event.researcherId)},` +
    `"amountCents":${event.amountCents},"balanceAfterCents":${event.balanceAfterCents},"at":${jsonString(event.at)},` +
    `"idempotencyKey":${jsonString(event.idempotencyKey)}`;
  return event.note === undefined ? head : `${head},"note":${jsonString(event.note)}`;
}

/** Integers print the same in a template as in JSON; other numbers (none expected) take the generic path. */
function isSafeCount(value: number): boolean {
  return Number.isSafeInteger(value) && !Object.is(value, -0);
}

/**
 * A superset of what JSON.stringify escapes in a string: quote, backslash, control characters
 * (\p{Cc}; JSON escapes only those below U+0020) and lone surrogates (\p{Cs} in a `u` pattern).
 */
const NEEDS_ESCAPE = /["\\\p{Cc}\p{Cs}]/u;

/** `JSON.stringify(text)`, without the call for the usual text that needs no escaping (ids, times, keys). */
function jsonString(text: string): string {
  return NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : `"${text}"`;
}

/** `sealLine(head + '}')` without cutting the brace off again. */
function sealHead(head: string): string {
  return `${head}${SUM_PREFIX}${hex8(crc32(`${head}}`))}"}\n`;
}

const HEX_BYTES = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/**
 * A CRC-32 as 8 lowercase hex digits. By table: `sum.toString(16)` of a sum above 2^31 (a heap
 * number, not a small integer) costs several times as much, and it runs for every line written.
 */
export function hex8(sum: number): string {
  return HEX_BYTES[sum >>> 24]! + HEX_BYTES[(sum >>> 16) & 0xff]! + HEX_BYTES[(sum >>> 8) & 0xff]! + HEX_BYTES[sum & 0xff]!;
}

/** The record in one line (without its newline), or undefined when the line fails its checksum or shape. */
export function decodeRecord(line: string): StoredRecord | undefined {
  const body = unsealLine(line);
  if (body === undefined) return undefined;
  try {
    const { o, ...event } = JSON.parse(body) as { o: unknown; type: unknown };
    if (typeof o !== 'number' || !Number.isSafeInteger(o) || typeof event.type !== 'string' || !EVENT_TYPES.has(event.type)) {
      return undefined;
    }
    return { event: event as AccountEvent, offset: o };
  } catch {
    return undefined;
  }
}
