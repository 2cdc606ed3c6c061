import { randomUUID } from 'node:crypto';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setImmediate as setImmediatePromise } from 'node:timers/promises';
import { Mutex } from 'async-mutex';
import type { AccountView, OpenAccountRequest, Transaction } from '@grantline/contracts';
import { accountIdFor, depositIdFor, memberIdFor, ownerIdFor } from '../domain/ids';
import { IdempotencyIndex } from '../domain/idempotency-index';
import { AccountKeys, KeyDeriver } from '../domain/keys';
import {
  applyRecord,
  LedgerCorruptError,
  serializeRecord,
  stateFromOpened,
  type AccountState,
  type LedgerRecord,
  type Member,
  type OpenedRecord,
  type WithdrawalRecord,
} from '../domain/ledger';
import { accountView, decideWithdrawal, expiresAtMs } from '../domain/rules';
import { AccountLock } from './account-lock';
import {
  createFileExclusively,
  removeAbandonedTempFiles,
  replaceFileAtomically,
} from './durable-files';
import { LedgerFile } from './ledger-file';

export const MAX_RESEARCHERS_PER_ACCOUNT = 100;
/** Withdrawals made durable by one write; bounds the latency of the last in a batch. */
const MAX_BATCH = 512;
/** Longest a busy account keeps its lock between batches before letting others in. */
const LEASE_MS = 50;
const SNAPSHOT_DELAY_MS = 1000;
/** How stale a read may be with respect to changes made by another instance. */
const FRESHNESS_MS = 5;
/** A temp file untouched this long belongs to a dead writer. */
const LEFTOVER_AGE_MS = 60_000;
const LEFTOVER_SWEEP_MS = 30_000;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface StoreLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface AccountStoreOptions {
  directory: string;
  keySecret: string;
  dayMs: number;
  lockStaleMs?: number;
  /** How stale a read may be with respect to another instance's changes. Default 5 ms. */
  readFreshnessMs?: number;
  now?: () => number;
  logger: StoreLogger;
}

/** Why the store refused a change; routes turn these into HTTP answers. */
export class AccountRefusal extends Error {
  override name = 'AccountRefusal';
  constructor(
    readonly reason:
      | 'not-found'
      | 'terms-differ'
      | 'expired'
      | 'insufficient-funds'
      | 'key-reused'
      | 'too-many-researchers'
      | 'researcher-removed'
      | 'owner-not-removable'
      | 'researcher-not-found'
      | 'key-revoked',
    message: string,
  ) {
    super(message);
  }
}

export interface WithdrawalRequestData {
  researcherId: string;
  amountCents: number;
  note?: string | undefined;
  idempotencyKey: string;
}

export interface WithdrawalResult {
  record: WithdrawalRecord;
  /** True when the key had been used before: the first answer, no money moved now. */
  replayed: boolean;
}

interface PendingWithdrawal {
  request: WithdrawalRequestData;
  resolve(result: WithdrawalResult): void;
  reject(error: unknown): void;
}

interface AccountEntry {
  accountId: string;
  ledger: LedgerFile;
  state: AccountState;
  keys: AccountKeys;
  idempotency: IdempotencyIndex;
  /** Bytes of the ledger already applied to `state`. */
  appliedBytes: number;
  /** End of this process's own write still on its way to disk (not another instance's). */
  writingEnd: number;
  /** When `ledgerGrew` last looked at the file (performance.now()). */
  sizeCheckedAt: number;
  /** Serializes changes and catch-up within this process; the file lock does it across. */
  mutex: Mutex;
  pending: PendingWithdrawal[];
  flushing: boolean;
  snapshotTimer: NodeJS.Timeout | undefined;
  snapshotWrite: Promise<void>;
}

/**
 * The DCU's accounts. Per account an append-only ledger (`<id>.ledger.jsonl`, the source of
 * truth) and a readable snapshot (`<id>.json`). Every change is appended and fdatasync'ed
 * under the account's mutex and cross-process lock before it is acknowledged; withdrawals that
 * queue up while a write is on its way to disk are committed together with one write.
 */
export class AccountStore {
  readonly directory: string;
  private readonly entries = new Map<string, AccountEntry>();
  private readonly loading = new Map<string, Promise<AccountEntry | undefined>>();
  private readonly keyDeriver: KeyDeriver;
  private readonly lock: AccountLock;
  private readonly now: () => number;
  private closed = false;
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: AccountStoreOptions) {
    this.directory = resolve(options.directory);
    this.keyDeriver = new KeyDeriver(options.keySecret);
    this.now = options.now ?? Date.now;
    this.lock = new AccountLock({
      staleMs: options.lockStaleMs ?? 4000,
      onCompromised: (error, path) =>
        options.logger.error(
          { err: error, path },
          'account lock lost; another instance may have taken it over',
        ),
    });
  }

  /** Loads every account on disk and removes temp files that killed writers left behind. */
  async start(): Promise<void> {
    await mkdir(this.directory, { recursive: true });
    await this.sweepLeftovers();
    this.sweepTimer = setInterval(() => void this.sweepLeftovers(), LEFTOVER_SWEEP_MS);
    this.sweepTimer.unref();
    const ids = (await readdir(this.directory))
      .filter((name) => name.endsWith('.ledger.jsonl'))
      .map((name) => name.slice(0, -'.ledger.jsonl'.length))
      .filter((id) => UUID_PATTERN.test(id));
    for (const id of ids) await this.entry(id);
    this.options.logger.info(
      { accounts: this.entries.size, directory: this.directory },
      'accounts loaded',
    );
  }

  /**
   * Temp files that writers killed mid-write left behind. (Their lock directories are left to
   * the lock itself: taken over when stale, as removing them from outside could race a takeover.)
   */
  private async sweepLeftovers(): Promise<void> {
    try {
      const removed = await removeAbandonedTempFiles(this.directory, LEFTOVER_AGE_MS);
      if (removed > 0)
        this.options.logger.info({ removed }, 'removed temp files a killed writer left behind');
    } catch (error) {
      this.options.logger.warn({ err: error }, 'could not sweep the account folder');
    }
  }

  get accountCount(): number {
    return this.entries.size;
  }

  async open(
    request: OpenAccountRequest,
  ): Promise<{ accountId: string; ownerKey: string; created: boolean }> {
    const accountId = accountIdFor(request.proposalId);
    const ownerKey = this.keyDeriver.keyFor(accountId, ownerIdFor(accountId));
    const existing = await this.entry(accountId);
    if (existing) {
      this.assertSameTerms(existing.state, request);
      return { accountId, ownerKey, created: false };
    }
    const createdAtMs = this.now();
    const opened: OpenedRecord = {
      type: 'opened',
      accountId,
      proposalId: request.proposalId.toLowerCase(),
      title: request.title,
      investigator: request.investigator,
      ownerId: ownerIdFor(accountId),
      initialCents: request.amountCents,
      durationDays: request.durationDays,
      dayMs: this.options.dayMs,
      createdAt: new Date(createdAtMs).toISOString(),
      expiresAt: new Date(
        expiresAtMs(createdAtMs, request.durationDays, this.options.dayMs),
      ).toISOString(),
    };
    const created = await createFileExclusively(
      this.ledgerPath(accountId),
      serializeRecord(opened),
    );
    const entry = await this.entry(accountId);
    if (!entry) throw new Error(`account ${accountId} vanished right after it was opened`);
    if (!created) {
      this.assertSameTerms(entry.state, request);
      return { accountId, ownerKey, created: false };
    }
    await this.writeSnapshot(entry);
    return { accountId, ownerKey, created: true };
  }

  /** The researcher a key opens in this account, or undefined (also for unknown accounts). */
  async authenticate(
    accountId: string,
    key: string,
  ): Promise<{ entry: AccountEntry; member: Member } | undefined> {
    const entry = await this.entry(accountId);
    if (!entry) return undefined;
    // Another instance may have added or removed this researcher a moment ago.
    if (await this.ledgerGrew(entry))
      await entry.mutex.runExclusive(() => this.catchUp(entry, false));
    let researcherId = entry.keys.researcherFor(key);
    if (researcherId === undefined && (await this.ledgerGrew(entry, { evenIfFresh: true }))) {
      // A key we do not know may belong to a student added on another instance just now.
      await entry.mutex.runExclusive(() => this.catchUp(entry, false));
      researcherId = entry.keys.researcherFor(key);
    }
    const member =
      researcherId === undefined ? undefined : entry.state.researchers.get(researcherId);
    return member ? { entry, member } : undefined;
  }

  async exists(accountId: string): Promise<boolean> {
    return (await this.entry(accountId)) !== undefined;
  }

  /** The account now; `authenticate`, which comes first, has caught up with other instances. */
  async view(accountId: string): Promise<AccountView> {
    const entry = await this.requireEntry(accountId);
    return accountView(entry.state, this.now());
  }

  async addResearcher(
    accountId: string,
    name: string,
    idempotencyKey?: string,
  ): Promise<{ researcherId: string; key: string; created: boolean }> {
    const entry = await this.requireEntry(accountId);
    return this.change(entry, async () => {
      const researcherId =
        idempotencyKey === undefined ? randomUUID() : memberIdFor(accountId, idempotencyKey);
      const key = this.keyDeriver.keyFor(accountId, researcherId);
      const current = entry.state.researchers.get(researcherId);
      if (current) {
        if (current.name !== name) {
          throw new AccountRefusal(
            'key-reused',
            'This Idempotency-Key already added a student with another name.',
          );
        }
        return { researcherId, key, created: false };
      }
      if (entry.state.everAdded.has(researcherId)) {
        throw new AccountRefusal(
          'researcher-removed',
          'The student added with this Idempotency-Key has been removed.',
        );
      }
      if (entry.state.researchers.size >= MAX_RESEARCHERS_PER_ACCOUNT) {
        throw new AccountRefusal(
          'too-many-researchers',
          `An account has at most ${MAX_RESEARCHERS_PER_ACCOUNT} researchers; remove one first.`,
        );
      }
      await this.append(entry, [
        { type: 'researcher-added', researcherId, name, at: new Date(this.now()).toISOString() },
      ]);
      return { researcherId, key, created: true };
    });
  }

  async removeResearcher(accountId: string, researcherId: string): Promise<void> {
    const entry = await this.requireEntry(accountId);
    await this.change(entry, async () => {
      const member = entry.state.researchers.get(researcherId);
      if (member?.role === 'owner') {
        throw new AccountRefusal(
          'owner-not-removable',
          'The owner of an account cannot be removed.',
        );
      }
      if (!member) {
        if (entry.state.everAdded.has(researcherId)) return; // already removed: DELETE is idempotent
        throw new AccountRefusal(
          'researcher-not-found',
          `Account ${accountId} has no researcher ${researcherId}.`,
        );
      }
      await this.append(entry, [
        { type: 'researcher-removed', researcherId, at: new Date(this.now()).toISOString() },
      ]);
    });
  }

  /**
   * Queues a withdrawal for the account's next group commit. Resolves once its record is on
   * disk (or once an earlier record with the same key is found), rejects with AccountRefusal.
   */
  async withdraw(accountId: string, request: WithdrawalRequestData): Promise<WithdrawalResult> {
    const entry = await this.requireEntry(accountId);
    return new Promise<WithdrawalResult>((resolve, reject) => {
      entry.pending.push({ request, resolve, reject });
      if (!entry.flushing) void this.flushWithdrawals(entry);
    });
  }

  /** Deposit then withdrawals, oldest first, read from the ledger on disk. */
  async transactions(accountId: string): Promise<Transaction[]> {
    const entry = await this.requireEntry(accountId);
    // Only what was applied (so acknowledged or being acknowledged), scanned outside the mutex.
    const appliedBytes = await entry.mutex.runExclusive(async () => {
      await this.catchUp(entry, false);
      return entry.appliedBytes;
    });
    const { records } = await entry.ledger.scan(0, appliedBytes);
    const transactions: Transaction[] = [];
    for (const { record } of records) {
      if (record.type === 'opened') {
        transactions.push({
          id: depositIdFor(record.accountId),
          type: 'deposit',
          amountCents: record.initialCents,
          researcherId: record.ownerId,
          at: record.createdAt,
          balanceAfterCents: record.initialCents,
        });
      } else if (record.type === 'withdrawal') {
        transactions.push({
          id: record.id,
          type: 'withdrawal',
          amountCents: record.amountCents,
          researcherId: record.researcherId,
          at: record.at,
          balanceAfterCents: record.balanceAfterCents,
        });
      }
    }
    return transactions;
  }

  /** Waits for queued withdrawals, writes the last snapshots and closes every file. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweepTimer);
    for (const entry of this.entries.values()) {
      while (entry.pending.length > 0 && this.entries.get(entry.accountId) === entry) {
        await entry.mutex.runExclusive(() => this.commitWhileBusy(entry));
      }
      if (entry.snapshotTimer) {
        clearTimeout(entry.snapshotTimer);
        entry.snapshotTimer = undefined;
        await this.writeSnapshot(entry).catch(() => undefined);
      }
      await entry.snapshotWrite;
      await entry.ledger.close();
    }
  }

  ledgerPath(accountId: string): string {
    return join(this.directory, `${accountId}.ledger.jsonl`);
  }

  snapshotPath(accountId: string): string {
    return join(this.directory, `${accountId}.json`);
  }

  private lockPath(accountId: string): string {
    return join(this.directory, `${accountId}.lock`);
  }

  private assertSameTerms(state: AccountState, request: OpenAccountRequest): void {
    const same =
      state.title === request.title &&
      state.investigator === request.investigator &&
      state.initialCents === request.amountCents &&
      state.durationDays === request.durationDays;
    if (!same) {
      throw new AccountRefusal(
        'terms-differ',
        `Proposal ${request.proposalId} already has an account with different terms.`,
      );
    }
  }

  private async requireEntry(accountId: string): Promise<AccountEntry> {
    const entry = await this.entry(accountId);
    if (!entry) throw new AccountRefusal('not-found', `There is no account ${accountId}.`);
    return entry;
  }

  /** The loaded account, loading it from disk the first time (another instance may have made it). */
  private async entry(requestedId: string): Promise<AccountEntry | undefined> {
    const accountId = requestedId.toLowerCase();
    if (!UUID_PATTERN.test(accountId)) return undefined;
    const loaded = this.entries.get(accountId);
    if (loaded) return loaded;
    let loading = this.loading.get(accountId);
    if (!loading) {
      loading = this.load(accountId).finally(() => this.loading.delete(accountId));
      this.loading.set(accountId, loading);
    }
    return loading;
  }

  private async load(accountId: string): Promise<AccountEntry | undefined> {
    const path = this.ledgerPath(accountId);
    try {
      await stat(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const ledger = new LedgerFile(path);
    const { records, endOffset } = await ledger.scan(0);
    const first = records[0]?.record;
    if (first?.type !== 'opened' || first.accountId !== accountId) {
      await ledger.close();
      throw new LedgerCorruptError(`${path} does not start with the account's opening record`);
    }
    const entry: AccountEntry = {
      accountId,
      ledger,
      state: stateFromOpened(first),
      keys: new AccountKeys(),
      idempotency: new IdempotencyIndex(),
      appliedBytes: 0,
      writingEnd: 0,
      sizeCheckedAt: Number.NEGATIVE_INFINITY,
      mutex: new Mutex(),
      pending: [],
      flushing: false,
      snapshotTimer: undefined,
      snapshotWrite: Promise.resolve(),
    };
    entry.keys.add(first.ownerId, this.keyDeriver.keyFor(accountId, first.ownerId));
    for (const { record, offset } of records.slice(1)) this.applyToEntry(entry, record, offset);
    entry.appliedBytes = endOffset;
    this.entries.set(accountId, entry);
    return entry;
  }

  /**
   * Whether another instance appended since we last looked (our own write in flight aside).
   * Looked at most once per FRESHNESS_MS: under load the fstat was a tenth of a read's cost, and
   * a change another instance made is seen by reads here within that time. (Every change
   * re-reads the ledger under the lock, so no decision about money is made on stale state.)
   */
  private async ledgerGrew(
    entry: AccountEntry,
    options: { evenIfFresh?: boolean } = {},
  ): Promise<boolean> {
    const now = performance.now();
    if (
      !options.evenIfFresh &&
      now - entry.sizeCheckedAt < (this.options.readFreshnessMs ?? FRESHNESS_MS)
    )
      return false;
    entry.sizeCheckedAt = now;
    return (await entry.ledger.size()) > Math.max(entry.appliedBytes, entry.writingEnd);
  }

  /**
   * Applies what other instances appended since we last looked. Under the file lock a torn
   * tail (a writer killed mid-write) is cut away; without it, it is only skipped.
   */
  private async catchUp(entry: AccountEntry, holdingFileLock: boolean): Promise<void> {
    const { records, endOffset, tornBytes } = await entry.ledger.scan(entry.appliedBytes);
    for (const { record, offset } of records) this.applyToEntry(entry, record, offset);
    entry.appliedBytes = endOffset;
    if (tornBytes > 0 && holdingFileLock) {
      this.options.logger.warn(
        { accountId: entry.accountId, tornBytes },
        'cutting a torn write from the ledger',
      );
      await entry.ledger.truncateDurably(endOffset);
    }
  }

  private applyToEntry(entry: AccountEntry, record: LedgerRecord, offset: number): void {
    applyRecord(entry.state, record);
    if (record.type === 'researcher-added') {
      entry.keys.add(
        record.researcherId,
        this.keyDeriver.keyFor(entry.accountId, record.researcherId),
      );
    } else if (record.type === 'researcher-removed') {
      entry.keys.remove(record.researcherId);
    } else if (record.type === 'withdrawal') {
      entry.idempotency.add(record.idempotencyKey, offset);
    }
  }

  /** Runs one change with the account held in this process and across processes. */
  private async change<T>(entry: AccountEntry, work: () => Promise<T>): Promise<T> {
    return entry.mutex.runExclusive(() =>
      this.lock.hold(entry.ledger.path, this.lockPath(entry.accountId), async () => {
        await this.catchUp(entry, true);
        return work();
      }),
    );
  }

  /** Appends records durably and applies them; the caller holds the account. */
  private async append(entry: AccountEntry, records: LedgerRecord[]): Promise<void> {
    const lines = records.map(serializeRecord);
    const data = Buffer.from(lines.join(''), 'utf8');
    entry.writingEnd = entry.appliedBytes + data.length;
    await entry.ledger.appendDurably(entry.appliedBytes, data);
    let offset = entry.appliedBytes;
    records.forEach((record, index) => {
      this.applyToEntry(entry, record, offset);
      offset += Buffer.byteLength(lines[index]!, 'utf8');
    });
    entry.appliedBytes = offset;
    this.scheduleSnapshot(entry);
  }

  /**
   * Drains the account's queue of withdrawals in group commits. The mutex and the file lock are
   * held across consecutive batches for at most LEASE_MS, so a busy account pays for the lock
   * once rather than per write, and other changes and instances still get their turn.
   */
  private async flushWithdrawals(entry: AccountEntry): Promise<void> {
    entry.flushing = true;
    try {
      while (entry.pending.length > 0 && this.entries.get(entry.accountId) === entry) {
        await entry.mutex.runExclusive(() => this.commitWhileBusy(entry));
      }
    } finally {
      entry.flushing = false;
    }
  }

  /** Takes the file lock and commits batches while more keep arriving; the caller holds the mutex. */
  private async commitWhileBusy(entry: AccountEntry): Promise<void> {
    if (entry.pending.length === 0) return;
    let batch: PendingWithdrawal[] = [];
    try {
      await this.lock.hold(entry.ledger.path, this.lockPath(entry.accountId), async () => {
        await this.catchUp(entry, true);
        const leaseEndsAt = Date.now() + LEASE_MS;
        do {
          batch = entry.pending.splice(0, MAX_BATCH);
          const outcomes = await this.commitBatch(entry, batch);
          batch.forEach((pending, index) => {
            const outcome = outcomes[index]!;
            if (outcome instanceof AccountRefusal) pending.reject(outcome);
            else pending.resolve(outcome);
          });
          batch = [];
        } while (Date.now() < leaseEndsAt && (await this.moreQueued(entry)));
      });
    } catch (error) {
      // Nothing of this batch was acknowledged; reload the account before trusting memory again.
      for (const pending of batch) pending.reject(error);
      this.evict(entry);
    }
  }

  /** Whether withdrawals are waiting, giving answered clients one turn of the event loop to send more. */
  private async moreQueued(entry: AccountEntry): Promise<boolean> {
    if (entry.pending.length === 0) await setImmediatePromise();
    return entry.pending.length > 0;
  }

  /**
   * One group commit: every withdrawal decided in order against the running balance and the
   * idempotency records, then all of them written with one write and one fdatasync. The caller
   * holds the mutex and the file lock, and has caught up with the ledger.
   */
  private async commitBatch(
    entry: AccountEntry,
    batch: PendingWithdrawal[],
  ): Promise<Array<WithdrawalResult | AccountRefusal>> {
    const outcomes: Array<WithdrawalResult | AccountRefusal> = [];
    const nowMs = this.now();
    const at = new Date(nowMs).toISOString();
    const inBatch = new Map<string, WithdrawalRecord>();
    const fresh: WithdrawalRecord[] = [];
    let balanceCents = entry.state.balanceCents;
    for (const { request } of batch) {
      if (!entry.state.researchers.has(request.researcherId)) {
        // Removed after the key was checked, while this withdrawal waited for its turn.
        outcomes.push(
          new AccountRefusal('key-revoked', 'This key was revoked; it opens nothing any more.'),
        );
        continue;
      }
      const earlier =
        inBatch.get(request.idempotencyKey) ??
        (await this.findByKey(entry, request.idempotencyKey));
      if (earlier) {
        outcomes.push(
          sameRequest(earlier, request)
            ? { record: earlier, replayed: true }
            : new AccountRefusal(
                'key-reused',
                'This Idempotency-Key was already used for a different withdrawal; use a new key.',
              ),
        );
        continue;
      }
      const decision = decideWithdrawal(
        { balanceCents, expiresAtMs: entry.state.expiresAtMs },
        request.amountCents,
        nowMs,
      );
      if (!decision.allowed) {
        outcomes.push(refusalFor(decision.reason, balanceCents, request.amountCents));
        continue;
      }
      balanceCents = decision.balanceAfterCents;
      const record: WithdrawalRecord = {
        type: 'withdrawal',
        id: randomUUID(),
        researcherId: request.researcherId,
        amountCents: request.amountCents,
        balanceAfterCents: balanceCents,
        at,
        idempotencyKey: request.idempotencyKey,
        ...(request.note === undefined ? {} : { note: request.note }),
      };
      inBatch.set(request.idempotencyKey, record);
      fresh.push(record);
      outcomes.push({ record, replayed: false });
    }
    if (fresh.length > 0) await this.append(entry, fresh);
    return outcomes;
  }

  private async findByKey(
    entry: AccountEntry,
    idempotencyKey: string,
  ): Promise<WithdrawalRecord | undefined> {
    for (const offset of entry.idempotency.candidates(idempotencyKey)) {
      const record = await entry.ledger.recordAt(offset);
      if (record?.type === 'withdrawal' && record.idempotencyKey === idempotencyKey) return record;
    }
    return undefined;
  }

  private evict(entry: AccountEntry): void {
    if (this.entries.get(entry.accountId) === entry) this.entries.delete(entry.accountId);
    const waiting = entry.pending.splice(0);
    void entry.ledger.close().catch(() => undefined);
    // Queued withdrawals go to the reloaded account.
    for (const pending of waiting) {
      this.withdraw(entry.accountId, pending.request).then(pending.resolve, pending.reject);
    }
  }

  private scheduleSnapshot(entry: AccountEntry): void {
    if (entry.snapshotTimer || this.closed) return;
    entry.snapshotTimer = setTimeout(() => {
      entry.snapshotTimer = undefined;
      this.writeSnapshot(entry).catch((error: unknown) =>
        this.options.logger.warn(
          { err: error, accountId: entry.accountId },
          'could not write the account snapshot',
        ),
      );
    }, SNAPSHOT_DELAY_MS);
    entry.snapshotTimer.unref();
  }

  /**
   * The account as a person reads it. Derived from the ledger (which it names), so it may lag
   * the ledger by a second; it is never needed to recover. Taken in one synchronous step, so it
   * is consistent without the account's mutex; written after any earlier snapshot of the account.
   */
  private writeSnapshot(entry: AccountEntry): Promise<void> {
    const snapshot = {
      ...accountView(entry.state, this.now()),
      proposalId: entry.state.proposalId,
      withdrawals: entry.state.withdrawalCount,
      ledger: `${entry.accountId}.ledger.jsonl`,
      ledgerBytes: entry.appliedBytes,
      writtenAt: new Date(this.now()).toISOString(),
    };
    const contents = `${JSON.stringify(snapshot, null, 2)}\n`;
    const write = entry.snapshotWrite
      .catch(() => undefined)
      .then(() => replaceFileAtomically(this.snapshotPath(entry.accountId), contents));
    entry.snapshotWrite = write.catch(() => undefined);
    return write;
  }
}

function sameRequest(record: WithdrawalRecord, request: WithdrawalRequestData): boolean {
  return (
    record.researcherId === request.researcherId &&
    record.amountCents === request.amountCents &&
    (record.note ?? undefined) === (request.note ?? undefined)
  );
}

function refusalFor(
  reason: 'expired' | 'insufficient-funds',
  balanceCents: number,
  amountCents: number,
): AccountRefusal {
  return reason === 'expired'
    ? new AccountRefusal('expired', 'The account has expired; no more withdrawals.')
    : new AccountRefusal(
        'insufficient-funds',
        balanceCents === 0
          ? 'The account is empty; no more withdrawals.'
          : `Withdrawing ${amountCents} cents would overdraw the account (balance ${balanceCents} cents).`,
      );
}
