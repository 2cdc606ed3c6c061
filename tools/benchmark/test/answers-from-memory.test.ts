import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FileAccountStore } from '@grantline/dcu/file-store';
import { AnswersFromMemory } from '../src/answers-from-memory';

describe('AnswersFromMemory', () => {
  let directory: string;
  let files: FileAccountStore;
  let store: AnswersFromMemory;
  beforeEach(async () => {
    directory = await mkdtemp(path.join(os.tmpdir(), 'answers-from-memory-'));
    const silent = { info() {}, warn() {}, error() {} };
    files = new FileAccountStore({
      directory,
      keySecret: randomUUID(),
      dayMs: 1000,
      logger: silent,
    });
    store = new AnswersFromMemory(files, () => Date.parse('2026-12-02T09:00:00Z'));
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
    const ledgerBytes = (await stat(files.ledgerPath(accountId))).size;

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
        at: '2026-12-02T09:00:00.000Z',
      },
    });
    expect((await store.view(accountId)).balanceCents).toBe(30_000_000);
    expect((await stat(files.ledgerPath(accountId))).size).toBe(ledgerBytes);
  });
});
