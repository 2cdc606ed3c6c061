import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, rmdirSync, utimesSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AccountLock } from '../src/storage/files/account-lock';
import { FileAccountStore, type StoreLogger } from '../src/storage/files/file-store';
import { decodeJournalRecord } from '../src/storage/files/journal-codec';
import { LedgerFile } from '../src/storage/files/ledger-file';
import { encodeRecord } from '../src/storage/files/record-codec';
import { checkpointAbandonedSegments, replayJournal } from '../src/storage/files/journal-replay';
import type { AccountEvent } from '../src/domain/account';
import type { AccountStore } from '../src/storage/store';
import { makeAccountDir, type TransactionLine } from './helpers';

jest.setTimeout(180_000);

const silent: StoreLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
const now = () => Date.parse('2030-01-01T00:00:00Z');
/** The last round: withdrawals (cents) per account, sent at once. */
const LAST_ROUND = [[1, 2], [3], [4]];
/** A journal that is never checkpointed during the test, so it holds every record. */
const KEEP_JOURNAL = { rotateMs: 3_600_000, rotateBytes: 1 << 30 };

function storeOn(directory: string, logger = silent, options: { leaseIdleMs?: number } = {}): FileAccountStore {
  return new FileAccountStore({
    directory,
    keySecret: 'journal',
    dayMs: 1000,
    now,
    logger,
    journal: KEEP_JOURNAL,
    ...options,
  });
}

async function history(store: AccountStore, accountId: string): Promise<TransactionLine[]> {
  const lines: TransactionLine[] = [];
  for (let after: string | undefined; ;) {
    const page = await store.transactions(accountId, { limit: 1000, after });
    lines.push(...page.transactions);
    if (page.next === null) return lines;
    after = page.next;
  }
}

/** An account opened on `store`, and a withdrawal of one cent by its owner on any store of the folder. */
async function sharedAccount(store: FileAccountStore, title: string) {
  const { accountId, ownerKey } = await store.open({
    proposalId: randomUUID(),
    title,
    investigator: 'Ada',
    amountCents: 1_000_000,
    durationDays: 3650,
  });
  const owner = (await store.authenticate(accountId, ownerKey))!;
  const withdraw = (on: FileAccountStore) =>
    on.withdraw(accountId, { researcherId: owner.researcherId, amountCents: 1, idempotencyKey: randomUUID() });
  return { accountId, lockPath: join(store.directory, `${accountId}.lock`), withdraw };
}

/** The withdrawal ids (by account) in the complete, intact journal records of `bytes`. */
function journaledIds(bytes: Buffer): Map<string, string[]> {
  const ids = new Map<string, string[]>();
  let at = 0;
  for (let newline = bytes.indexOf(0x0a); newline !== -1; newline = bytes.indexOf(0x0a, at)) {
    const decoded = decodeJournalRecord(bytes.toString('utf8', at, newline));
    if (decoded) {
      const list = ids.get(decoded.record.accountId) ?? [];
      for (const line of decoded.lines)
        list.push((JSON.parse(line.bytes.toString('utf8')) as { id: string }).id);
      ids.set(decoded.record.accountId, list);
    }
    at = newline + 1;
  }
  return ids;
}

interface CrashImage {
  accounts: string[];
  /** Each ledger as it was in memory when the power went: every acknowledged record in it. */
  ledgers: Map<string, Buffer>;
  /** Each ledger's first line (the opening, written durably by itself). */
  openedBytes: Map<string, number>;
  segmentName: string;
  /** The segment's records (without the zeros it is filled with ahead of them). */
  journal: Buffer;
  /** The segment's size on disk, zeros included. */
  segmentBytes: number;
  /** Journal bytes before the last round of withdrawals. */
  journalBefore: number;
  /** The whole history of each account, as acknowledged. */
  full: Map<string, TransactionLine[]>;
}

/**
 * Three accounts; a few withdrawals one after another, then a last round sent at once to all
 * three (the journal's last group commits). The files are copied while the DCU still runs: what
 * a power cut would find, before any checkpoint made the ledgers durable.
 */
async function makeCrashImage(accountDir: string): Promise<CrashImage> {
  const store = storeOn(accountDir);
  await store.start();
  const accounts: string[] = [];
  const owners = new Map<string, string>();
  for (let i = 0; i < 3; i++) {
    const { accountId, ownerKey } = await store.open({
      proposalId: randomUUID(),
      title: `Crash ${i}`,
      investigator: 'Ada',
      amountCents: 1_000_000,
      durationDays: 3650,
    });
    accounts.push(accountId);
    owners.set(accountId, (await store.authenticate(accountId, ownerKey))!.researcherId);
  }
  const withdraw = (accountId: string, amountCents: number) =>
    store.withdraw(accountId, {
      researcherId: owners.get(accountId)!,
      amountCents,
      idempotencyKey: randomUUID(),
    });
  for (const accountId of accounts) for (const cents of [10, 20]) await withdraw(accountId, cents);
  const journalDir = join(accountDir, 'journal');
  const [segmentName, ...others] = await readdir(journalDir);
  expect(others).toEqual([]);
  const recordsEnd = (bytes: Buffer) => bytes.lastIndexOf(0x0a) + 1;
  const journalBefore = recordsEnd(await readFile(join(journalDir, segmentName!)));
  // Two for the first account (they may share its batch, so one journal record carries both).
  await Promise.all(
    accounts.flatMap((accountId, i) => LAST_ROUND[i]!.map((cents) => withdraw(accountId, cents))),
  );
  const ledgers = new Map<string, Buffer>();
  const openedBytes = new Map<string, number>();
  const full = new Map<string, TransactionLine[]>();
  for (const accountId of accounts) {
    const ledger = await readFile(store.ledgerPath(accountId));
    ledgers.set(accountId, ledger);
    openedBytes.set(accountId, ledger.indexOf(0x0a) + 1);
    full.set(accountId, await history(store, accountId));
  }
  const segment = await readFile(join(journalDir, segmentName!));
  const journal = segment.subarray(0, recordsEnd(segment));
  await store.close();
  return {
    accounts,
    ledgers,
    openedBytes,
    segmentName: segmentName!,
    journal,
    segmentBytes: segment.length,
    journalBefore,
    full,
  };
}

/** A folder holding `ledgers` and the journal segment `journal`, as a restart would find them. */
async function writeImage(
  directory: string,
  image: CrashImage,
  ledgers: Map<string, Buffer>,
  journal: Buffer,
): Promise<void> {
  await rm(directory, { recursive: true, force: true });
  await mkdir(join(directory, 'journal'), { recursive: true });
  for (const [accountId, bytes] of ledgers)
    await writeFile(join(directory, `${accountId}.ledger.jsonl`), bytes);
  // Zero-filled ahead of its records, as the DCU leaves a segment.
  const zeros = Buffer.alloc(Math.max(0, image.segmentBytes - journal.length));
  await writeFile(join(directory, 'journal', image.segmentName), Buffer.concat([journal, zeros]));
}

/** Starts a store on the image, reads every account, and returns each history (or the status it answered). */
async function recover(directory: string, image: CrashImage, logger = silent) {
  const store = storeOn(directory, logger);
  await store.start();
  const histories = new Map<string, TransactionLine[] | 'damaged'>();
  for (const accountId of image.accounts) {
    try {
      histories.set(accountId, await history(store, accountId));
    } catch (error) {
      if ((error as Error).name !== 'AccountDamaged') throw error;
      histories.set(accountId, 'damaged');
    }
  }
  await store.close();
  return histories;
}

describe('the commit journal', () => {
  let folder: Awaited<ReturnType<typeof makeAccountDir>>;

  beforeEach(async () => {
    folder = await makeAccountDir();
  });
  afterEach(() => folder.cleanup());

  it('recovers exactly what the journal holds when a power cut took the ledgers’ unsynced tails, at every byte of the last group commits', async () => {
    const image = await makeCrashImage(folder.accountDir);
    const copy = join(folder.root, 'crash');
    const openedOnly = new Map(
      [...image.ledgers].map(([id, bytes]) => [id, bytes.subarray(0, image.openedBytes.get(id))]),
    );
    expect(image.journal.length).toBeGreaterThan(image.journalBefore);
    for (let cut = image.journalBefore; cut <= image.journal.length; cut++) {
      const journal = image.journal.subarray(0, cut);
      const journaled = journaledIds(journal);
      await writeImage(copy, image, openedOnly, journal);
      const recovered = await recover(copy, image);
      for (const accountId of image.accounts) {
        // Everything acknowledged was in a complete journal record (its fdatasync came first):
        // the opening plus exactly the journaled withdrawals, in order, nothing else.
        const ids = journaled.get(accountId) ?? [];
        const expected = image.full.get(accountId)!.slice(0, 1 + ids.length);
        expect({ cut, accountId, history: recovered.get(accountId) }).toEqual({
          cut,
          accountId,
          history: expected,
        });
        expect(expected.slice(1).map((line) => line.id)).toEqual(ids);
      }
    }
  });

  it('changes nothing when the ledgers kept everything, and recovers a ledger torn inside the last round', async () => {
    const image = await makeCrashImage(folder.accountDir);
    const copy = join(folder.root, 'crash');
    const roundStart = new Map<string, number>();
    image.accounts.forEach((accountId, i) => {
      const lines = image.full.get(accountId)!;
      const round = LAST_ROUND[i]!.length;
      // The ledger's bytes before the last round.
      const ledger = image.ledgers.get(accountId)!;
      let offset = ledger.length;
      for (let line = 0; line < round; line++) offset = ledger.lastIndexOf(0x0a, offset - 2) + 1;
      roundStart.set(accountId, offset);
      expect(lines).toHaveLength(1 + 2 + round);
    });
    // Ledgers intact (a process killed, the page cache kept them), whatever the journal's cut.
    for (const cut of [
      image.journalBefore,
      Math.floor((image.journalBefore + image.journal.length) / 2),
      image.journal.length,
    ]) {
      await writeImage(copy, image, image.ledgers, image.journal.subarray(0, cut));
      const recovered = await recover(copy, image);
      for (const accountId of image.accounts)
        expect(recovered.get(accountId)).toEqual(image.full.get(accountId));
      for (const accountId of image.accounts) {
        expect(await readFile(join(copy, `${accountId}.ledger.jsonl`))).toEqual(
          image.ledgers.get(accountId),
        );
      }
    }
    // Every ledger torn at every byte of its last round, with the whole journal: all of it back.
    const [first] = image.accounts;
    const ledger = image.ledgers.get(first!)!;
    for (let tear = roundStart.get(first!)!; tear < ledger.length; tear++) {
      // Every 5th byte, and both sides of every line's end (each recovery costs fdatasyncs).
      const nearBoundary = ledger[tear - 1] === 0x0a || ledger[tear] === 0x0a;
      if (tear % 5 !== 0 && !nearBoundary) continue;
      const torn = new Map(image.ledgers);
      for (const accountId of image.accounts) {
        const bytes = image.ledgers.get(accountId)!;
        torn.set(
          accountId,
          bytes.subarray(
            0,
            Math.min(
              bytes.length - 1,
              roundStart.get(accountId)! + (tear - roundStart.get(first!)!),
            ),
          ),
        );
      }
      await writeImage(copy, image, torn, image.journal);
      const recovered = await recover(copy, image);
      for (const accountId of image.accounts) {
        expect({ tear, accountId, history: recovered.get(accountId) }).toEqual({
          tear,
          accountId,
          history: image.full.get(accountId),
        });
        expect(await readFile(join(copy, `${accountId}.ledger.jsonl`))).toEqual(
          image.ledgers.get(accountId),
        );
      }
    }
  });

  it('never replays a journal record with a flipped byte, and says so', async () => {
    const image = await makeCrashImage(folder.accountDir);
    const copy = join(folder.root, 'crash');
    const openedOnly = new Map(
      [...image.ledgers].map(([id, bytes]) => [id, bytes.subarray(0, image.openedBytes.get(id))]),
    );
    // The last record of the journal: its account has nothing journaled after it.
    const lastStart = image.journal.lastIndexOf(0x0a, image.journal.length - 2) + 1;
    const last = decodeJournalRecord(
      image.journal.toString('utf8', lastStart, image.journal.length - 1),
    )!;
    const victim = last.record.accountId;
    const victimIds = journaledIds(image.journal).get(victim)!;
    const lostIds = new Set(
      last.lines.map((line) => (JSON.parse(line.bytes.toString('utf8')) as { id: string }).id),
    );
    for (let position = lastStart; position < image.journal.length; position++) {
      const flipped = Buffer.from(image.journal);
      flipped[position] = flipped[position]! ^ (position % 2 === 0 ? 0x01 : 0x20);
      await writeImage(copy, image, openedOnly, flipped);
      const errors: unknown[] = [];
      const recovered = await recover(copy, image, {
        ...silent,
        error: (object: unknown) => {
          errors.push(object);
        },
      });
      for (const accountId of image.accounts) {
        const expectedIds =
          accountId === victim
            ? victimIds.filter((id) => !lostIds.has(id))
            : journaledIds(image.journal).get(accountId)!;
        expect({ position, accountId, history: recovered.get(accountId) }).toEqual({
          position,
          accountId,
          history: image.full.get(accountId)!.slice(0, 1 + expectedIds.length),
        });
      }
      // Named in the log, unless the flip hit the final newline (then it reads as a torn write).
      if (position < image.journal.length - 1) expect(errors.length).toBeGreaterThan(0);
    }
  });

  it('answers 503 for an account whose ledger holds other records than its journal, and serves the others', async () => {
    const image = await makeCrashImage(folder.accountDir);
    const copy = join(folder.root, 'crash');
    const [victim, other] = image.accounts;
    const ledgers = new Map(image.ledgers);
    // The victim's last withdrawal rewritten with another amount (a valid record, checksum and all).
    const bytes = image.ledgers.get(victim!)!;
    const lastStart = bytes.lastIndexOf(0x0a, bytes.length - 2) + 1;
    const record = JSON.parse(bytes.toString('utf8', lastStart, bytes.length - 1)) as Record<
      string,
      unknown
    >;
    const { o, sum: _sum, ...event } = record;
    const forged = encodeRecord(
      { ...event, note: 'forged' } as unknown as AccountEvent,
      o as number,
    );
    ledgers.set(victim!, Buffer.concat([bytes.subarray(0, lastStart), Buffer.from(forged)]));
    await writeImage(copy, image, ledgers, image.journal);
    const recovered = await recover(copy, image);
    expect(recovered.get(victim!)).toBe('damaged');
    expect(recovered.get(other!)).toEqual(image.full.get(other!));
    // Never overwritten.
    expect(await readFile(join(copy, `${victim}.ledger.jsonl`))).toEqual(ledgers.get(victim!));
  });

  it('lets several instances share the folder: replaying a live journal changes nothing, a claimed segment is made good', async () => {
    const left = storeOn(folder.accountDir);
    const right = storeOn(folder.accountDir);
    await left.start();
    await right.start();
    const { accountId, withdraw } = await sharedAccount(left, 'Shared');
    const acknowledged: string[] = [];
    for (let i = 0; i < 20; i++)
      acknowledged.push((await withdraw(i % 2 ? left : right)).withdrawal.id);
    const ledgerBefore = await readFile(left.ledgerPath(accountId));
    const replayOptions = {
      journalDirectory: left.journalDirectory,
      ledgerPath: (id: string) => left.ledgerPath(id),
      withAccountLock: <T>(_id: string, work: () => Promise<T>) => work(),
      logger: silent,
    };
    // A third instance starting now replays both live journals: nothing to write.
    const replayed = await replayJournal(replayOptions);
    expect(replayed).toMatchObject({ segments: 2, rejected: 0, repaired: [], damaged: new Map() });
    expect(await readFile(left.ledgerPath(accountId))).toEqual(ledgerBefore);
    // One that takes both for dead claims their segments (renamed, ledgers synced, deleted)...
    const claimed = await checkpointAbandonedSegments({
      ...replayOptions,
      ownInstanceId: 'nobody',
      olderThanMs: -1000,
    });
    expect(claimed.segments).toBe(2);
    expect(await readdir(left.journalDirectory)).toEqual([]);
    // ...and both go on: each notices at its next commit and makes its ledgers durable itself.
    for (let i = 0; i < 6; i++)
      acknowledged.push((await withdraw(i % 2 ? left : right)).withdrawal.id);
    const lines = await history(left, accountId);
    expect(lines.filter((line) => line.type === 'withdrawal').map((line) => line.id)).toEqual(
      acknowledged,
    );
    await Promise.all([left.close(), right.close()]);
    expect(await readdir(left.journalDirectory)).toEqual([]);
    const restarted = storeOn(folder.accountDir);
    await restarted.start();
    expect(
      (await history(restarted, accountId))
        .filter((line) => line.type === 'withdrawal')
        .map((line) => line.id),
    ).toEqual(acknowledged);
    await restarted.close();
  });

  it('fdatasyncs a ledger before building on records another instance appended, and not its own', async () => {
    const left = storeOn(folder.accountDir);
    const right = storeOn(folder.accountDir);
    await left.start();
    await right.start();
    const { withdraw } = await sharedAccount(left, 'Synced');
    const datasync = jest.spyOn(LedgerFile.prototype, 'datasync');
    try {
      await withdraw(left);
      datasync.mockClear();
      await withdraw(right); // builds on the left's withdrawal, only in the page cache and its journal
      expect(datasync).toHaveBeenCalledTimes(1);
      datasync.mockClear();
      await withdraw(right); // on its own records: the journal covers them
      expect(datasync).not.toHaveBeenCalled();
      await withdraw(left);
      datasync.mockClear();
      await withdraw(right);
      expect(datasync).toHaveBeenCalledTimes(1);
    } finally {
      datasync.mockRestore();
      await Promise.all([left.close(), right.close()]);
    }
  });

  it('a holder that lost its lock while paused leaves the new holder’s lock directory alone at release', async () => {
    await mkdir(folder.accountDir, { recursive: true });
    const compromised: string[] = [];
    const lock = new AccountLock({
      staleMs: 2000,
      onCompromised: (error) => compromised.push(error.message),
    });
    const ledgerPath = join(folder.accountDir, 'a.ledger.jsonl');
    const lockPath = join(folder.accountDir, 'a.lock');
    await writeFile(ledgerPath, '');
    await lock.hold(ledgerPath, lockPath, async () => {
      // Meanwhile another instance found it stale, removed it and made its own.
      rmdirSync(lockPath);
      mkdirSync(lockPath);
      const later = new Date(Date.now() + 5000);
      utimesSync(lockPath, later, later);
    });
    expect(existsSync(lockPath)).toBe(true);
    expect(compromised.length).toBeGreaterThan(0);
    // An ordinary hold and release removes its own directory.
    rmdirSync(lockPath);
    await lock.hold(ledgerPath, lockPath, async () => expect(existsSync(lockPath)).toBe(true));
    expect(existsSync(lockPath)).toBe(false);
  });

  it('deletes its segments once the ledgers are durable, at every checkpoint and at close', async () => {
    const store = new FileAccountStore({
      directory: folder.accountDir,
      keySecret: 'journal',
      dayMs: 1000,
      now,
      logger: silent,
      journal: { rotateMs: 0 },
    });
    await store.start();
    const { accountId, ownerKey } = await store.open({
      proposalId: randomUUID(),
      title: 'Tidy',
      investigator: 'Ada',
      amountCents: 1_000_000,
      durationDays: 3650,
    });
    const owner = (await store.authenticate(accountId, ownerKey))!;
    for (let i = 0; i < 5; i++)
      await store.withdraw(accountId, {
        researcherId: owner.researcherId,
        amountCents: 1,
        idempotencyKey: randomUUID(),
      });
    await store.close();
    expect(await readdir(store.journalDirectory)).toEqual([]);
    // The copy a later test might make stays readable: nothing but ledgers and snapshots remain.
    await cp(folder.accountDir, join(folder.root, 'copy'), { recursive: true });
  });
});

describe('the account lease', () => {
  let folder: Awaited<ReturnType<typeof makeAccountDir>>;
  beforeEach(async () => {
    folder = await makeAccountDir();
  });
  afterEach(() => folder.cleanup());

  async function until(what: string, condition: () => boolean): Promise<void> {
    for (const deadline = Date.now() + 20_000; !condition(); ) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  it('keeps an account’s lock between changes, and gives it back once the account is idle', async () => {
    const acquire = jest.spyOn(AccountLock.prototype, 'acquire');
    const keeping = storeOn(folder.accountDir, silent, { leaseIdleMs: 3_600_000 });
    const returning = storeOn(folder.accountDir, silent, { leaseIdleMs: 0 });
    try {
      await keeping.start();
      await returning.start();
      const kept = await sharedAccount(keeping, 'Kept');
      for (let i = 0; i < 5; i++) await kept.withdraw(keeping);
      expect(acquire).toHaveBeenCalledTimes(1);
      expect(existsSync(kept.lockPath)).toBe(true);

      const returned = await sharedAccount(returning, 'Returned');
      await returned.withdraw(returning);
      await until('the idle account’s lock directory removed', () => !existsSync(returned.lockPath));
      expect(existsSync(kept.lockPath)).toBe(true);
    } finally {
      acquire.mockRestore();
      await Promise.all([keeping.close(), returning.close()]);
    }
    expect(await readdir(folder.accountDir)).not.toContain(expect.stringMatching(/\.lock$/));
  });

  it('hands the lock over to another instance waiting for it, takes it back the same way, and then gives it back after every change', async () => {
    // Idle for an hour before giving a lock back: only the waiter's mark can make them let go.
    const left = storeOn(folder.accountDir, silent, { leaseIdleMs: 3_600_000 });
    const right = storeOn(folder.accountDir, silent, { leaseIdleMs: 3_600_000 });
    await left.start();
    await right.start();
    try {
      const { accountId, lockPath, withdraw } = await sharedAccount(left, 'Handed over');
      const acknowledged = [(await withdraw(left)).withdrawal.id];
      for (let round = 0; round < 3; round++) {
        acknowledged.push((await withdraw(right)).withdrawal.id);
        acknowledged.push((await withdraw(left)).withdrawal.id);
      }
      // Both had to wait: for a while each gives the lock back as soon as its changes are made.
      await until('the contended lock given back', () => !existsSync(lockPath));
      const lines = await history(right, accountId);
      expect(lines.filter((line) => line.type === 'withdrawal').map((line) => line.id)).toEqual(acknowledged);
    } finally {
      await Promise.all([left.close(), right.close()]);
    }
  });

  it('takes the lock anew after a stall longer than the staleness, and loses nothing', async () => {
    const errors: string[] = [];
    const store = storeOn(folder.accountDir, { ...silent, error: (_object, message) => errors.push(message) }, { leaseIdleMs: 3_600_000 });
    await store.start();
    const acquire = jest.spyOn(AccountLock.prototype, 'acquire');
    const realNow = Date.now.bind(Date);
    try {
      const { accountId, withdraw } = await sharedAccount(store, 'Stalled');
      const first = (await withdraw(store)).withdrawal.id;
      expect(acquire).toHaveBeenCalledTimes(1);
      // As if the process had been paused for ten seconds since the lock was last refreshed.
      jest.spyOn(Date, 'now').mockImplementation(() => realNow() + 10_000);
      const second = (await withdraw(store)).withdrawal.id;
      expect(acquire).toHaveBeenCalledTimes(2);
      expect(errors.length).toBeGreaterThan(0);
      const lines = await history(store, accountId);
      expect(lines.filter((line) => line.type === 'withdrawal').map((line) => line.id)).toEqual([first, second]);
    } finally {
      jest.restoreAllMocks();
      await store.close();
    }
  });
});
