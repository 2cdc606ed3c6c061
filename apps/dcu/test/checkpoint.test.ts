import { randomUUID } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { readCheckpoint } from '../src/storage/files/checkpoint';
import { FileAccountStore } from '../src/storage/files/file-store';
import { makeAccountDir, serviceToken } from './helpers';

jest.setTimeout(60_000);

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
const now = () => Date.parse('2030-01-01T00:00:00Z');

describe('checkpoints', () => {
  let folder: Awaited<ReturnType<typeof makeAccountDir>>;
  const open = async () => {
    const store = new FileAccountStore({ directory: folder.accountDir, keySecret: serviceToken, dayMs: 1000, now, logger: silent });
    await store.start();
    return store;
  };

  beforeEach(async () => {
    folder = await makeAccountDir();
  });
  afterEach(() => folder.cleanup());

  it('loads an account from its checkpoint and the tail, with every key still known, and ignores a damaged checkpoint', async () => {
    const first = await open();
    const { accountId, ownerKey } = await first.open({
      proposalId: randomUUID(),
      title: 'Long history',
      investigator: 'Ada',
      amountCents: 40_000_000,
      durationDays: 3650,
    });
    const owner = (await first.authenticate(accountId, ownerKey))!;
    const withdraw = (store: FileAccountStore, key: string, amountCents = 1) =>
      store.withdraw(accountId, { researcherId: owner.researcherId, amountCents, idempotencyKey: key });
    // Enough history (over 256 KiB of ledger) to be checkpointed, in group commits.
    for (let round = 0; round < 12; round++) {
      await Promise.all(Array.from({ length: 100 }, (_, i) => withdraw(first, `key-${round}-${i}`)));
    }
    const firstWithdrawal = (await withdraw(first, 'key-0-0')).withdrawal;
    await first.close();
    const checkpointPath = first.checkpointPath(accountId);
    expect((await stat(checkpointPath)).size).toBeGreaterThan(0);
    // Whole and checksummed as written (a damaged one would only be skipped, unseen below).
    const written = await readCheckpoint(checkpointPath, accountId);
    expect(written?.index.size).toBe(1_200);
    expect(written?.state.balanceCents).toBe(40_000_000 - 1_200);

    // A tail written after the checkpoint, by a store that never writes one (closed before its timer).
    const tailWriter = await open();
    await withdraw(tailWriter, 'after-checkpoint', 5);
    await tailWriter.close();

    for (const damage of [false, true]) {
      if (damage) {
        const bytes = await readFile(checkpointPath);
        bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0xff;
        await writeFile(checkpointPath, bytes);
        expect(await readCheckpoint(checkpointPath, accountId)).toBeUndefined();
      }
      const store = await open();
      const view = await store.view(accountId);
      expect(view.balanceCents).toBe(40_000_000 - 1_200 - 5);
      // An early key, known only through the checkpoint's index (or the full read): replayed, not applied.
      const replay = await withdraw(store, 'key-0-0');
      expect(replay).toEqual({ withdrawal: firstWithdrawal, replayed: true });
      expect((await withdraw(store, 'after-checkpoint', 5)).replayed).toBe(true);
      expect((await store.view(accountId)).balanceCents).toBe(40_000_000 - 1_205);
      await store.close();
    }
  });
});
