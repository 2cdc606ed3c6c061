import { IdempotencyIndex } from '../src/storage/files/idempotency-index';

describe('the idempotency index', () => {
  it('finds the offset of every key it was given, through many growths', () => {
    const index = new IdempotencyIndex();
    for (let i = 0; i < 50_000; i++) index.add(`key-${i}`, i * 200);
    expect(index.size).toBe(50_000);
    for (let i = 0; i < 50_000; i += 997) expect(index.candidates(`key-${i}`)).toContain(i * 200);
  });

  it('knows nothing of a key it was never given', () => {
    const index = new IdempotencyIndex();
    for (let i = 0; i < 1_000; i++) index.add(`key-${i}`, i);
    expect(index.candidates('never-seen')).toEqual([]);
  });

  it('keeps offsets beyond 4 GiB exact', () => {
    const index = new IdempotencyIndex();
    index.add('small', 123);
    const beyond = 2 ** 32 + 17;
    index.add('large', beyond);
    for (let i = 0; i < 100; i++) index.add(`more-${i}`, beyond + i);
    expect(index.candidates('small')).toEqual([123]);
    expect(index.candidates('large')).toEqual([beyond]);
    expect(index.candidates('more-99')).toEqual([beyond + 99]);
  });
});

describe('the idempotency index across lookups and adds', () => {
  it('finds keys added after a lookup, also when more were looked up than it keeps digests for', () => {
    const index = new IdempotencyIndex();
    // Looked up, then added: the digest of the lookup is reused.
    for (let i = 0; i < 3_000; i++) expect(index.candidates(`key-${i}`)).toEqual([]);
    for (let i = 0; i < 3_000; i++) index.add(`key-${i}`, i * 100);
    // Looked up but never added (a replay or a refusal) must not be found.
    index.candidates('looked-up-only');
    for (let i = 0; i < 3_000; i += 7) expect(index.candidates(`key-${i}`)).toEqual([i * 100]);
    expect(index.candidates('looked-up-only')).toEqual([]);
    expect(index.size).toBe(3_000);
  });
});
