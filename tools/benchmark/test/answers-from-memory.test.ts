import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FileStoreAnsweringFromMemory } from '../src/answers-from-memory';

describe('FileStoreAnsweringFromMemory', () => {
  let directory: string;
  let store: FileStoreAnsweringFromMemory;
  beforeEach(async () => {
    directory = await mkdtemp(path.join(os.tmpdir(), 'answers-from-memory-'));
    const silent = { info() {}, warn() {}, error() {} };
    store = new FileStoreAnsweringFromMemory({
      directory,
      keySecret: randomUUID(),
      dayMs: 1000,
      logger: silent,
    });
    await store.start();
  });
  afterEach(async () => {
    await store.close();
    await rm(directory, { recursive: true, force: true });
  });

  it('checks keys and opens accounts through the file store, and answers withdrawals without writing or moving money', async () => {
    const { accountId, ownerKey } = await store.open({
      proposalId: randomUUID(),
      title: 'Instrument',
      investigator: 'Bench Marker',
      amountCents: 30_000_000,
      durationDays: 30,
    });
    const owner = await store.authenticate(accountId, ownerKey);
    expect(owner?.role).toBe('owner');
    expect(await store.authenticate(accountId, `${ownerKey}x`)).toBeUndefined();
    const ledgerBytes = (await stat(store.ledgerPath(accountId))).size;

    const before = Date.now();
    const answer = await store.withdraw(accountId, {
      researcherId: owner!.researcherId,
      amountCents: 2_500,
      note: 'reagents',
      idempotencyKey: 'key-1',
    });

    expect(answer).toMatchObject({
      replayed: false,
      withdrawal: {
        type: 'withdrawal',
        researcherId: owner!.researcherId,
        amountCents: 2_500,
        balanceAfterCents: 30_000_000,
        note: 'reagents',
        idempotencyKey: 'key-1',
      },
    });
    const answeredAt = Date.parse(answer.withdrawal.at);
    expect(answeredAt).toBeGreaterThanOrEqual(before);
    expect(answeredAt).toBeLessThanOrEqual(Date.now());
    expect((await store.view(accountId)).balanceCents).toBe(30_000_000);
    expect((await stat(store.ledgerPath(accountId))).size).toBe(ledgerBytes);
  });
});
