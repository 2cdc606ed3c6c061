import { readFile } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import type { AccountState, Member } from '../../domain/account';
import { replaceFileAtomically } from './durable-files';
import { IdempotencyIndex } from './idempotency-index';
import { hex8 } from './record-codec';

/** What an account loads from instead of its whole ledger: the state and index up to `appliedBytes`. */
export interface Checkpoint {
  state: AccountState;
  index: IdempotencyIndex;
  /** The ledger's records before this offset are folded in; the tail after it is read on load. */
  appliedBytes: number;
}

/**
 * `<id>.checkpoint`: `<crc32 hex>\n<state as JSON>\n<index bytes>`, the CRC-32 covering
 * everything after the first line, replaced atomically. A checkpoint that is missing, torn or
 * fails its checksum is ignored (the ledger is read in full instead): it only saves time.
 */
export async function writeCheckpoint(
  path: string,
  checkpoint: Omit<Checkpoint, 'index'> & { indexBytes: Buffer },
): Promise<void> {
  const { state } = checkpoint;
  const header = JSON.stringify({
    appliedBytes: checkpoint.appliedBytes,
    state: { ...state, researchers: [...state.researchers.values()], everAdded: [...state.everAdded] },
  });
  const headerBytes = Buffer.from(`${header}\n`, 'utf8');
  // The CRC-32 runs on over the index, and the parts are written one after another rather than
  // joined: the index of a hot account is tens of megabytes, and `indexBytes` is already the
  // one copy of it that a checkpoint needs (the live index changes while the file is written).
  const sum = hex8(crc32(checkpoint.indexBytes, crc32(headerBytes)));
  await replaceFileAtomically(path, [Buffer.from(`${sum}\n`, 'utf8'), headerBytes, checkpoint.indexBytes]);
}

export async function readCheckpoint(path: string, accountId: string): Promise<Checkpoint | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch {
    return undefined;
  }
  if (bytes.length < 10 || bytes[8] !== 0x0a) return undefined;
  const body = bytes.subarray(9);
  if (crc32(body) !== Number.parseInt(bytes.toString('utf8', 0, 8), 16)) return undefined;
  const newline = body.indexOf(0x0a);
  if (newline === -1) return undefined;
  try {
    const header = JSON.parse(body.toString('utf8', 0, newline)) as {
      appliedBytes: number;
      state: Omit<AccountState, 'researchers' | 'everAdded'> & { researchers: Member[]; everAdded: string[] };
    };
    const index = IdempotencyIndex.fromBytes(body.subarray(newline + 1));
    if (!index || header.state.accountId !== accountId || !Number.isSafeInteger(header.appliedBytes)) return undefined;
    const state: AccountState = {
      ...header.state,
      researchers: new Map(header.state.researchers.map((member) => [member.researcherId, member])),
      everAdded: new Set(header.state.everAdded),
    };
    return { state, index, appliedBytes: header.appliedBytes };
  } catch {
    return undefined;
  }
}
