import { hash } from 'node:crypto';

/**
 * Where in the ledger the withdrawal made with an Idempotency-Key lies, for every key the
 * account has ever seen. A hot account sees hundreds of thousands of keys, so the index keeps
 * 16 bytes per key in typed arrays (a 48-bit digest of the key and the record's byte offset)
 * instead of the keys themselves; a digest match is confirmed by reading the record.
 *
 * A withdrawal's key is looked up (`candidates`) before it is decided and added once it is
 * written, so the digest of the lookup is kept for the add (`pending`): one SHA-1 per command,
 * not two. Only the keys of the batch being decided are kept this way: the first lookup after
 * an add (the next batch) forgets the rest (keys looked up but never added: replays, refusals),
 * and never more than `PENDING_LIMIT` are kept, so the index still holds no key in clear for long.
 */
export class IdempotencyIndex {
  private digests: Float64Array;
  private offsets: Uint32Array | Float64Array;
  private count = 0;
  /** Digests of keys looked up and not yet added: the commands of the batch being decided. */
  private readonly pending = new Map<string, number>();
  private addedSinceLookup = false;

  constructor(initialCapacity = 64) {
    let capacity = 16;
    while (capacity < initialCapacity) capacity *= 2;
    this.digests = new Float64Array(capacity);
    this.offsets = new Uint32Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  add(idempotencyKey: string, offset: number): void {
    if (offset > 0xffff_ffff && this.offsets instanceof Uint32Array)
      this.offsets = Float64Array.from(this.offsets);
    if ((this.count + 1) * 10 > this.digests.length * 7) this.grow();
    const digest = this.pending.get(idempotencyKey);
    if (digest !== undefined) this.pending.delete(idempotencyKey);
    this.addedSinceLookup = true;
    this.insert(digest ?? digestOf(idempotencyKey), offset);
    this.count += 1;
  }

  /** Offsets of records whose key may be this one (usually none or exactly one). */
  candidates(idempotencyKey: string): number[] {
    const digest = digestOf(idempotencyKey);
    if (this.addedSinceLookup || this.pending.size >= PENDING_LIMIT) {
      this.pending.clear();
      this.addedSinceLookup = false;
    }
    this.pending.set(idempotencyKey, digest);
    const mask = this.digests.length - 1;
    const found: number[] = [];
    for (let slot = digest & mask; this.digests[slot] !== 0; slot = (slot + 1) & mask) {
      if (this.digests[slot] === digest) found.push(this.offsets[slot]!);
    }
    return found;
  }

  /** The whole index as bytes, for a checkpoint: count, offset width, capacity, then both arrays. */
  toBytes(): Buffer {
    const header = Buffer.alloc(9);
    header.writeUInt32LE(this.count, 0);
    header.writeUInt8(this.offsets instanceof Uint32Array ? 4 : 8, 4);
    header.writeUInt32LE(this.digests.length, 5);
    return Buffer.concat([
      header,
      Buffer.from(this.digests.buffer, this.digests.byteOffset, this.digests.byteLength),
      Buffer.from(this.offsets.buffer, this.offsets.byteOffset, this.offsets.byteLength),
    ]);
  }

  /** The index `toBytes` wrote; undefined when the bytes do not have its shape. */
  static fromBytes(bytes: Buffer): IdempotencyIndex | undefined {
    if (bytes.length < 9) return undefined;
    const count = bytes.readUInt32LE(0);
    const offsetWidth = bytes.readUInt8(4);
    const capacity = bytes.readUInt32LE(5);
    if ((offsetWidth !== 4 && offsetWidth !== 8) || capacity < 16 || (capacity & (capacity - 1)) !== 0) return undefined;
    if (bytes.length !== 9 + capacity * 8 + capacity * offsetWidth || count * 10 > capacity * 7) return undefined;
    const index = new IdempotencyIndex(capacity);
    // Copied out of the file's buffer: typed arrays need aligned, owned memory.
    index.digests = new Float64Array(bytes.buffer.slice(bytes.byteOffset + 9, bytes.byteOffset + 9 + capacity * 8));
    const offsetsAt = bytes.byteOffset + 9 + capacity * 8;
    const offsetBytes = bytes.buffer.slice(offsetsAt, offsetsAt + capacity * offsetWidth);
    index.offsets = offsetWidth === 4 ? new Uint32Array(offsetBytes) : new Float64Array(offsetBytes);
    index.count = count;
    return index;
  }

  private insert(digest: number, offset: number): void {
    const mask = this.digests.length - 1;
    let slot = digest & mask;
    while (this.digests[slot] !== 0) slot = (slot + 1) & mask;
    this.digests[slot] = digest;
    this.offsets[slot] = offset;
  }

  private grow(): void {
    const digests = this.digests;
    const offsets = this.offsets;
    this.digests = new Float64Array(digests.length * 2);
    this.offsets =
      offsets instanceof Uint32Array
        ? new Uint32Array(digests.length * 2)
        : new Float64Array(digests.length * 2);
    for (let slot = 0; slot < digests.length; slot++) {
      if (digests[slot] !== 0) this.insert(digests[slot]!, offsets[slot]!);
    }
  }
}

/** Two batches of the file store's (512 commands each): more than are ever being decided at once. */
const PENDING_LIMIT = 1024;

/**
 * The first 48 bits of SHA-1, never 0 (0 marks an empty slot); exact in a double. Checkpoints
 * hold these digests, so the function never changes. The one-shot `hash` to hex costs a third
 * of `createHash(...).digest()` (no Hash object, no Buffer).
 */
export function digestOf(idempotencyKey: string): number {
  const value = Number.parseInt(hash('sha1', idempotencyKey, 'hex').slice(0, 12), 16);
  return value === 0 ? 1 : value;
}
