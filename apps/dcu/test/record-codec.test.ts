import { createHash } from 'node:crypto';
import fc from 'fast-check';
import type { WithdrawalEvent } from '../src/domain/account';
import { digestOf } from '../src/storage/files/idempotency-index';
import { decodeJournalRecord, encodeJournalRecord } from '../src/storage/files/journal-codec';
import { decodeRecord, encodeRecord, hex8, sealLine } from '../src/storage/files/record-codec';

/** Any text a request may carry, escapes, control characters and lone surrogates included. */
const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('"', '\\', '\n', '\u0000', '\u001f', '\u007f', '\u2028', '\ud800', '\udc00x', '😀', 'é'),
);

const withdrawal = fc.record(
  {
    type: fc.constant('withdrawal' as const),
    id: fc.uuid(),
    researcherId: fc.uuid(),
    amountCents: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    balanceAfterCents: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    at: fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
    idempotencyKey: text,
    note: text,
  },
  { requiredKeys: ['type', 'id', 'researcherId', 'amountCents', 'balanceAfterCents', 'at', 'idempotencyKey'] },
);

describe('the record codec', () => {
  it('writes a withdrawal as exactly the bytes of the generic JSON encoding, and reads it back', () => {
    fc.assert(
      fc.property(withdrawal, fc.nat({ max: 2 ** 40 }), (event: WithdrawalEvent, offset) => {
        const line = encodeRecord(event, offset);
        expect(line).toBe(sealLine(JSON.stringify({ o: offset, ...event })));
        expect(decodeRecord(line.slice(0, -1))).toEqual({ event: JSON.parse(JSON.stringify(event)), offset });
      }),
      { numRuns: 2000 },
    );
  });

  it('never reads a withdrawal with one byte changed', () => {
    fc.assert(
      fc.property(withdrawal, fc.nat({ max: 2 ** 40 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (event, offset, at, flip) => {
        const bytes = Buffer.from(encodeRecord(event, offset).slice(0, -1), 'utf8');
        const index = at % bytes.length;
        bytes[index] = bytes[index]! ^ flip;
        const decoded = decodeRecord(bytes.toString('utf8'));
        // A change that decodes (invalid UTF-8 read as U+FFFD can still fail) must never pass the checksum.
        expect(decoded).toBeUndefined();
      }),
      { numRuns: 2000 },
    );
  });
});

describe('the journal codec', () => {
  it('writes a batch of ledger lines in base64 with its checksum, and reads it back as it reads journals written before', () => {
    fc.assert(
      fc.property(fc.uuid(), fc.array(withdrawal, { minLength: 1, maxLength: 8 }), fc.nat({ max: 2 ** 40 }), (accountId, events, offset) => {
        let at = offset;
        const lines = events.map((event) => {
          const line = encodeRecord(event, at);
          at += Buffer.byteLength(line, 'utf8');
          return line;
        });
        const data = Buffer.from(lines.join(''), 'utf8');
        const encoded = encodeJournalRecord({ accountId, offset, data });
        expect(encoded.toString('utf8')).toBe(sealLine(JSON.stringify({ a: accountId, o: offset, b: data.toString('base64') })));
        // Journals written before carry the bytes as text (`d`): they read the same.
        const before = sealLine(JSON.stringify({ a: accountId, o: offset, d: data.toString('utf8') }));
        for (const line of [encoded.toString('utf8'), before]) {
          const decoded = decodeJournalRecord(line.slice(0, -1));
          expect(decoded?.record).toEqual({ accountId, offset, data });
          expect(decoded?.lines.map((journaled) => journaled.bytes.toString('utf8'))).toEqual(lines);
          expect(decoded?.lines.map((journaled) => journaled.offset)).toEqual(lines.map((_, i) => offset + Buffer.byteLength(lines.slice(0, i).join(''), 'utf8')));
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('the journal codec on malformed records', () => {
  const data = Buffer.from(encodeRecord({ type: 'withdrawal', id: 'i', researcherId: 'r', amountCents: 1, balanceAfterCents: 9, at: 't', idempotencyKey: 'k' }, 40), 'utf8');
  const accountId = '0f8fad5b-d9cb-469f-a165-70867728950e';
  const read = (fields: object) => decodeJournalRecord(sealLine(JSON.stringify({ a: accountId, o: 40, ...fields })).slice(0, -1));

  it('reads the bytes only from exact base64 or from text, never from both or neither', () => {
    expect(read({ b: data.toString('base64') })?.lines).toHaveLength(1);
    expect(read({ d: data.toString('utf8') })?.lines).toHaveLength(1);
    expect(read({ b: data.toString('base64'), d: data.toString('utf8') })).toBeUndefined();
    expect(read({})).toBeUndefined();
    // Characters Buffer.from would skip, or the URL alphabet: not the encoding the DCU writes.
    expect(read({ b: `${data.toString('base64')}!` })).toBeUndefined();
    expect(read({ b: data.toString('base64url') })).toBeUndefined();
  });

  it('refuses ledger lines that do not name the offset they would lie at', () => {
    expect(read({ b: data.toString('base64'), o: 41 })).toBeUndefined();
  });
});

describe('the checksum in hex', () => {
  it('is the 8 lowercase hex digits of any 32-bit sum', () => {
    fc.assert(fc.property(fc.nat({ max: 0xffff_ffff }), (sum) => expect(hex8(sum)).toBe(sum.toString(16).padStart(8, '0'))), { numRuns: 5000 });
    expect([hex8(0), hex8(0xffff_ffff)]).toEqual(['00000000', 'ffffffff']);
  });
});

describe('the idempotency digest', () => {
  it('is the first 48 bits of SHA-1 as checkpoints hold them (never 0)', () => {
    fc.assert(
      fc.property(text, (key) => {
        const expected = createHash('sha1').update(key).digest().readUIntBE(0, 6);
        expect(digestOf(key)).toBe(expected === 0 ? 1 : expected);
      }),
      { numRuns: 2000 },
    );
  });
});
