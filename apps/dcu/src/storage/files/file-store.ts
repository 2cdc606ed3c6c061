import { randomUUID } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Mutex } from 'async-mutex';
import type { AccountView, OpenAccountRequest } from '@grantline/contracts';
import {
  decide,
  decideBatch,
  evolve,
  isRefusal,
  LedgerCorruptError,
  type AccountCommand,
  type AccountEvent,
  type AccountState,
  type Answer,
  type DecisionContext,
  type Member,
  type WithdrawalEvent,
} from '../../domain/account';
import { accountIdFor, memberIdFor, ownerIdFor } from '../../domain/ids';
import { AccountKeys, KeyDeriver } from '../../domain/keys';
import { accountView, sharedAccountView, transactionOf } from '../../domain/views';
import {
  AccountDamaged,
  AccountRefusal,
  type AccountStore,
  type PendingCloseout,
  type TransactionsPage,
  type TransactionsPageRequest,
  type WithdrawalRequestData,
  type WithdrawalResult,
} from '../store';
import { AccountLock, type AccountLease } from './account-lock';
import { readCheckpoint, writeCheckpoint } from './checkpoint';
import { CloseoutIndex } from './closeout-index';
import { CommitJournal } from './commit-journal';
import { CommitQueue, type Queued } from './commit-queue';
import { createFileExclusively, replaceFileAtomically } from './durable-files';
import { IdempotencyIndex } from './idempotency-index';
import { checkpointAbandonedSegments, replayJournal, type ReplayOptions, type ReplayResult } from './journal-replay';
import { LedgerFile, type EncodedBatch, type ScannedRecord } from './ledger-file';
import { encodeRecord } from './record-codec';
import { sweepLeftovers } from './sweeper';

/** Commands made durable by one write; bounds the latency of the last in a batch. */
const MAX_BATCH = 512;
/** Longest one drain keeps the account's mutex, so reads catching up and paging get their turn. */
const DRAIN_MS = 50;
/**
 * An account's file lock is kept between changes (a lease) and given back once the account has
 * been idle this long, or as soon as another instance waits for it.
 */
const LEASE_IDLE_MS = 250;
const LEASE_CHECK_MS = 50;
/**
 * Once another instance waited for an account's lock (or this one waited for it), the lock is
 * given back after every drain for this long: instances changing the same account take turns
 * at the pace of their batches, as without a lease, instead of at the pace of the lease checks.
 */
const CONTENDED_MS = 2000;
const SNAPSHOT_DELAY_MS = 1000;
/** A checkpoint is written once the ledger grew by this much since the last, or by a quarter of its size. */
const CHECKPOINT_GROWTH_BYTES = 256 * 1024;
/**
 * How stale a read may be with respect to changes made by another instance: by default not at
 * all, so a read on one DCU sees every change another acknowledged (the look is a one-byte read
 * of the open ledger from the page cache, shared by the reads of one turn of the event loop).
 */
const FRESHNESS_MS = 0;
/** A temp file or lock directory untouched this long belongs to a dead process. */
const LEFTOVER_AGE_MS = 60_000;
const LEFTOVER_SWEEP_MS = 30_000;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const LEDGER_SUFFIX = '.ledger.jsonl';

export interface StoreLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

/** Hooks for metrics (durations in seconds); the store works without them. */
export interface StoreObserver {
  groupCommit(batch: { commands: number; events: number; writeSeconds: number }): void;
}

export interface FileAccountStoreOptions {
  directory: string;
  keySecret: string;
  dayMs: number;
  lockStaleMs?: number;
  /** How stale a read may be with respect to another instance's changes. Default 0: never. */
  readFreshnessMs?: number;
  /** The one clock of the money rules. */
  now?: () => number;
  logger: StoreLogger;
  observer?: StoreObserver;
  /** How long an idle account's file lock is kept (default LEASE_IDLE_MS). */
  leaseIdleMs?: number;
  /** When the commit journal retires a segment (tests set them high, to cut a journal at will). */
  journal?: { rotateMs?: number; rotateBytes?: number };
}

/** A batch decided and on its way to disk. */
interface StartedBatch {
  batch: Queued<AccountCommand, Answer>[];
  outcome: ReturnType<typeof decideBatch>;
  /** Its events as appended to the ledger; none when every command was refused or replayed. */
  encoded?: EncodedBatch;
  /** Settles once the commit journal made it durable. */
  durable: Promise<void>;
  startedAt: number;
}

/** Answers each command of a durable batch with its decision. */
function answerBatch({ batch, outcome }: StartedBatch): void {
  batch.forEach((queued, index) => {
    const decision = outcome.decisions[index]!;
    if (isRefusal(decision)) queued.reject(new AccountRefusal(decision.refused, decision.message));
    else queued.resolve(decision.answer);
  });
}

/** The write of a batch did not land where this instance held the end of the ledger to be. */
class FencedOutError extends Error {
  override name = 'FencedOutError';
  readonly code = 'ELOCKED';
}

interface LoadedAccount {
  accountId: string;
  ledger: LedgerFile;
  state: AccountState;
  keys: AccountKeys;
  idempotency: IdempotencyIndex;
  /** Bytes of the ledger already applied to `state`. */
  appliedBytes: number;
  /**
   * Bytes of the ledger known durable, or this instance's own (journaled before answered).
   * Anything beyond it another instance appended; it is fdatasynced before being built on.
   */
  vouchedBytes: number;
  /** End of this process's own write still on its way to disk (not another instance's). */
  writingEnd: number;
  /** When `ledgerGrew` last looked at the file (performance.now()). */
  sizeCheckedAt: number;
  /** The look at the ledger that the reads arriving in this turn of the event loop wait for. */
  nextLook: Promise<boolean> | undefined;
  /** Serializes changes and catch-up within this process; the file lock does it across. */
  mutex: Mutex;
  commits: CommitQueue<AccountCommand, Answer>;
  snapshotTimer: NodeJS.Timeout | undefined;
  snapshotWrite: Promise<void>;
  /** Ledger bytes covered by the newest checkpoint on disk (0: none). */
  checkpointedBytes: number;
  /** The account's file lock while this instance keeps it between changes. */
  lease: AccountLease | undefined;
  /** When a change last used the lease (performance.now()). */
  leaseUsedAt: number;
  /** Until when other instances are taken to want the account too (performance.now()). */
  contendedUntil: number;
}

/**
 * The DCU's accounts in a folder, behind the `AccountStore` interface. Per account an
 * append-only ledger of checksummed events (`<id>.ledger.jsonl`, the source of truth, see
 * record-codec.ts) and a readable snapshot (`<id>.json`); `ends/` lists accounts whose closeout
 * is not acknowledged yet. Accounts are loaded when first asked for, so start-up does not read
 * them. Every change is decided by the pure core under the account's mutex and cross-process
 * lock, appended and fdatasync'ed before it is answered; changes that queue up meanwhile go to
 * disk together.
 */
export class FileAccountStore implements AccountStore {
  readonly directory: string;
  private readonly entries = new Map<string, LoadedAccount>();
  private readonly loading = new Map<string, Promise<LoadedAccount | undefined>>();
  private readonly keyDeriver: KeyDeriver;
  private readonly lock: AccountLock;
  private readonly closeouts: CloseoutIndex;
  private readonly now: () => number;
  private closed = false;
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> = Promise.resolve();
  /** Accounts whose file lock this instance keeps between changes. */
  private readonly leased = new Set<LoadedAccount>();
  private leaseTimer: NodeJS.Timeout | undefined;
  private readonly journal: CommitJournal;
  /** Accounts whose ledger contradicts a commit journal: 503 until an operator repairs it. */
  private readonly damaged = new Map<string, string>();

  constructor(private readonly options: FileAccountStoreOptions) {
    this.directory = resolve(options.directory);
    this.keyDeriver = new KeyDeriver(options.keySecret);
    this.now = options.now ?? Date.now;
    this.closeouts = new CloseoutIndex(this.directory);
    this.lock = new AccountLock({
      staleMs: options.lockStaleMs ?? 4000,
      onCompromised: (error, path) =>
        options.logger.error({ err: error, path }, 'account lock lost; another instance may have taken it over'),
    });
    this.journal = new CommitJournal({
      directory: this.journalDirectory,
      instanceId: randomUUID(),
      logger: options.logger,
      ...options.journal,
    });
  }

  get journalDirectory(): string {
    return join(this.directory, 'journal');
  }

  private replayOptions(): ReplayOptions {
    return {
      journalDirectory: this.journalDirectory,
      ledgerPath: (accountId) => this.ledgerPath(accountId),
      withAccountLock: (accountId, work) => this.lock.hold(this.ledgerPath(accountId), this.lockPath(accountId), work),
      logger: this.options.logger,
    };
  }

  /** Accounts a replay found damaged answer 503; repaired ones are read again from their ledger. */
  private noteReplay(result: ReplayResult): void {
    for (const [accountId, message] of result.damaged) this.damaged.set(accountId, message);
    for (const accountId of [...result.damaged.keys(), ...result.repaired]) {
      const entry = this.entries.get(accountId);
      if (entry) this.evict(entry);
    }
  }

  /**
   * Ready once every commit journal in the folder is replayed (after a power cut, ledgers get
   * back what they lost; otherwise it only reads the few live segments). Accounts are read when
   * first asked for. Sweeps leftovers now and then.
   */
  async start(): Promise<void> {
    await mkdir(this.directory, { recursive: true });
    await this.closeouts.start();
    await this.journal.start();
    const replayed = await replayJournal(this.replayOptions());
    this.noteReplay(replayed);
    if (replayed.segments > 0) {
      this.options.logger.info(
        { segments: replayed.segments, records: replayed.records, repaired: replayed.repaired.length, damaged: replayed.damaged.size },
        'replayed the commit journals',
      );
    }
    this.sweepTimer = setInterval(() => {
      this.sweeping = this.sweeping.then(() => this.sweep());
    }, LEFTOVER_SWEEP_MS);
    this.sweepTimer.unref();
    this.leaseTimer = setInterval(() => this.returnLeases(), LEASE_CHECK_MS);
    this.leaseTimer.unref();
    // In the background: a readdir of a huge folder must not delay the first answer.
    this.sweeping = this.sweep();

  }

  private async sweep(): Promise<void> {
    try {
      const removed = await sweepLeftovers({
        directory: this.directory,
        lock: this.lock,
        abandonedAfterMs: LEFTOVER_AGE_MS,
        ledgerPath: (accountId) => this.ledgerPath(accountId),
        lockPath: (accountId) => this.lockPath(accountId),
      });
      if (removed.tempFiles + removed.lockDirectories > 0) this.options.logger.info(removed, 'removed what killed processes left behind');
      const journals = await checkpointAbandonedSegments({
        ...this.replayOptions(),
        ownInstanceId: this.journal.instanceId,
        olderThanMs: LEFTOVER_AGE_MS,
      });
      for (const result of journals.result) this.noteReplay(result);
      if (journals.segments > 0) this.options.logger.info({ segments: journals.segments }, 'checkpointed the journal segments of dead instances');
    } catch (error) {
      this.options.logger.warn({ err: error }, 'could not sweep the account folder');
    }
  }

  async open(request: OpenAccountRequest): Promise<{ accountId: string; ownerKey: string; created: boolean }> {
    const accountId = accountIdFor(request.proposalId);
    const ownerId = ownerIdFor(accountId);
    const ownerKey = this.keyDeriver.keyFor(accountId, ownerId);
    const command: AccountCommand = { type: 'open', accountId, ownerId, terms: request, dayMs: this.options.dayMs };
    const existing = await this.entry(accountId);
    if (existing) {
      answerOrThrow(decide(existing.state, command, this.context()));
      return { accountId, ownerKey, created: false };
    }
    const decision = answerOrThrow(decide(undefined, command, this.context()));
    const opened = decision.events[0];
    if (opened?.type !== 'opened') throw new Error('opening an account decided no "opened" event');
    // The end is listed before the account exists, so no account can be missed by the closer.
    await this.closeouts.add(accountId, Date.parse(opened.expiresAt));
    const created = await createFileExclusively(this.ledgerPath(accountId), encodeRecord(opened, 0));
    const entry = await this.entry(accountId);
    if (!entry) throw new Error(`account ${accountId} vanished right after it was opened`);
    if (!created) {
      answerOrThrow(decide(entry.state, command, this.context()));
      return { accountId, ownerKey, created: false };
    }
    await this.writeSnapshot(entry);
    return { accountId, ownerKey, created: true };
  }

  async authenticate(accountId: string, key: string): Promise<Member | undefined> {
    // A loaded account, a look at its ledger that finds nothing new and a known key cost a read
    // one await (the shared look), none while this instance keeps the account's lock.
    const entry = this.loadedEntry(accountId) ?? (await this.entry(accountId));
    if (!entry) return undefined;
    // Another instance may have added or removed this researcher a moment ago.
    const grew = this.ledgerGrew(entry);
    if (grew === true || (grew !== false && (await grew))) await entry.mutex.runExclusive(() => this.catchUp(entry));
    let researcherId = entry.keys.researcherFor(key);
    if (researcherId === undefined && (await this.ledgerGrew(entry, { evenIfFresh: true }))) {
      // A key we do not know may belong to a student added on another instance just now.
      await entry.mutex.runExclusive(() => this.catchUp(entry));
      researcherId = entry.keys.researcherFor(key);
    }
    const member = researcherId === undefined ? undefined : entry.state.researchers.get(researcherId);
    return member ? { ...member } : undefined;
  }

  async exists(accountId: string): Promise<boolean> {
    return (await this.entry(accountId)) !== undefined;
  }

  /** The account now; `authenticate`, which comes first, has caught up with other instances. */
  async view(accountId: string): Promise<AccountView> {
    const entry = this.loadedEntry(accountId) ?? (await this.requireEntry(accountId));
    // Frozen and the same object while the account is unchanged, so its answer is serialized once.
    return sharedAccountView(entry.state, this.now());
  }

  async addResearcher(
    accountId: string,
    actorId: string,
    name: string,
    idempotencyKey?: string,
  ): Promise<{ researcherId: string; key: string; created: boolean }> {
    const researcherId = idempotencyKey === undefined ? randomUUID() : memberIdFor(accountId.toLowerCase(), idempotencyKey);
    const answer = await this.submit(accountId, { type: 'add-researcher', actorId, researcherId, name });
    if (answer.type !== 'researcher-added') throw new Error(`adding a researcher answered "${answer.type}"`);
    return { researcherId, key: this.keyDeriver.keyFor(accountId.toLowerCase(), researcherId), created: answer.created };
  }

  async removeResearcher(accountId: string, actorId: string, researcherId: string): Promise<void> {
    await this.submit(accountId, { type: 'remove-researcher', actorId, researcherId });
  }

  async withdraw(accountId: string, request: WithdrawalRequestData): Promise<WithdrawalResult> {
    const answer = await this.submit(accountId, {
      type: 'withdraw',
      actorId: request.researcherId,
      amountCents: request.amountCents,
      note: request.note,
      idempotencyKey: request.idempotencyKey,
    });
    if (answer.type !== 'withdrawal') throw new Error(`a withdrawal answered "${answer.type}"`);
    return { withdrawal: { ...answer.withdrawal }, replayed: answer.replayed };
  }

  /**
   * One page of the history, read from the ledger on disk. The cursor is the byte offset of the
   * next record, so a page costs the same however long the history.
   */
  async transactions(accountId: string, page: TransactionsPageRequest): Promise<TransactionsPage> {
    const entry = await this.requireEntry(accountId);
    // Only what was applied (so acknowledged or being acknowledged), read outside the mutex.
    const until = await entry.mutex.runExclusive(async () => {
      await this.catchUp(entry);
      return entry.appliedBytes;
    });
    let position = 0;
    if (page.after !== undefined) {
      const offset = /^\d{1,15}$/.test(page.after) ? Number(page.after) : Number.NaN;
      const valid = offset === until || (offset < until && (await entry.ledger.startsRecord(offset)));
      if (!valid) throw new AccountRefusal('bad-cursor', `"${page.after}" is not a cursor of this account's history; use the "next" of a page.`);
      position = offset;
    }
    const transactions: TransactionsPage['transactions'] = [];
    while (transactions.length < page.limit && position < until) {
      const { records, endOffset } = await entry.ledger.scan(position, until, page.limit - transactions.length);
      for (const { event } of records) {
        const transaction = transactionOf(entry.accountId, event);
        if (transaction) transactions.push(transaction);
      }
      if (endOffset === position) break;
      position = endOffset;
    }
    return { transactions, next: position < until ? String(position) : null };
  }

  async pendingCloseouts(): Promise<PendingCloseout[]> {
    const nowMs = this.now();
    const pending = new Map<string, PendingCloseout>();
    for (const listed of await this.closeouts.list()) {
      if (listed.dueAtMs > nowMs || pending.has(listed.accountId)) continue;
      try {
        const entry = await this.entry(listed.accountId);
        if (!entry) {
          await this.closeouts.remove(listed); // listed, but never created
          continue;
        }
        if (!entry.state.closed) {
          const answer = await this.submit(listed.accountId, { type: 'close' }).catch((error: unknown) => {
            if (error instanceof AccountRefusal && error.reason === 'not-ended') return undefined;
            throw error;
          });
          if (answer === undefined) {
            // A stale hint: the account runs until its own expiry.
            await this.closeouts.add(entry.accountId, entry.state.expiresAtMs);
            if (listed.dueAtMs !== entry.state.expiresAtMs) await this.closeouts.remove(listed);
            continue;
          }
        }
        const closed = entry.state.closed;
        if (!closed) continue;
        if (entry.state.closeoutAcknowledged) {
          await this.closeouts.remove(listed);
          continue;
        }
        pending.set(entry.accountId, {
          accountId: entry.accountId,
          proposalId: entry.state.proposalId,
          returnedCents: closed.returnedCents,
        });
      } catch (error) {
        this.options.logger.warn({ err: error, accountId: listed.accountId }, 'could not close the account');
      }
    }
    return [...pending.values()];
  }

  async acknowledgeCloseout(accountId: string): Promise<void> {
    await this.submit(accountId, { type: 'acknowledge-closeout' });
    for (const listed of await this.closeouts.list()) {
      if (listed.accountId === accountId.toLowerCase()) await this.closeouts.remove(listed);
    }
  }

  /** Waits for queued changes, writes the last snapshots and closes every file. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweepTimer);
    clearInterval(this.leaseTimer);
    await this.sweeping;
    await Promise.all([...this.loading.values()].map((loading) => loading.catch(() => undefined)));
    for (const entry of this.entries.values()) {
      await entry.commits.settled();
      if (entry.snapshotTimer) {
        clearTimeout(entry.snapshotTimer);
        entry.snapshotTimer = undefined;
        await this.writeSnapshot(entry).catch(() => undefined);
      }
      await entry.snapshotWrite;
      await entry.mutex.runExclusive(() => this.endLease(entry));
    }
    for (const entry of [...this.leased]) await this.endLease(entry);
    // Every ledger made durable, then this instance's segments deleted.
    await this.journal.close();
    for (const entry of this.entries.values()) await entry.ledger.close();
  }

  ledgerPath(accountId: string): string {
    return join(this.directory, `${accountId}${LEDGER_SUFFIX}`);
  }

  snapshotPath(accountId: string): string {
    return join(this.directory, `${accountId}.json`);
  }

  checkpointPath(accountId: string): string {
    return join(this.directory, `${accountId}.checkpoint`);
  }

  private lockPath(accountId: string): string {
    return join(this.directory, `${accountId}.lock`);
  }

  private context(): DecisionContext {
    return { nowMs: this.now(), newId: randomUUID, priorWithdrawal: () => undefined };
  }

  private submit(accountId: string, command: AccountCommand): Promise<Answer> {
    // A loaded account (the usual case) gets the command without a trip through `entry`'s promise.
    const loaded = this.loadedEntry(accountId);
    if (loaded) return loaded.commits.submit(command);
    return this.requireEntry(accountId).then((entry) => entry.commits.submit(command));
  }

  /**
   * The account if it is loaded, without an await: the hot paths' look before `entry`. An account
   * found damaged is evicted at once, so one found here is not damaged.
   */
  private loadedEntry(accountId: string): LoadedAccount | undefined {
    return this.entries.get(accountId) ?? this.entries.get(accountId.toLowerCase());
  }

  private async requireEntry(accountId: string): Promise<LoadedAccount> {
    const entry = await this.entry(accountId);
    if (!entry) throw new AccountRefusal('not-found', `There is no account ${accountId}.`);
    return entry;
  }

  /** The loaded account, loading it from disk the first time (another instance may have made it). */
  private async entry(requestedId: string): Promise<LoadedAccount | undefined> {
    const accountId = requestedId.toLowerCase();
    if (!UUID_PATTERN.test(accountId)) return undefined;
    const damage = this.damaged.get(accountId);
    if (damage !== undefined) throw new AccountDamaged(`${damage} The account is unavailable until an operator restores it. Other accounts are not affected.`);
    const loaded = this.entries.get(accountId);
    if (loaded) return loaded;
    let loading = this.loading.get(accountId);
    if (!loading) {
      loading = this.load(accountId).finally(() => this.loading.delete(accountId));
      this.loading.set(accountId, loading);
    }
    return loading;
  }

  private async load(accountId: string): Promise<LoadedAccount | undefined> {
    const path = this.ledgerPath(accountId);
    try {
      await stat(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const ledger = new LedgerFile(path);
    try {
      const checkpoint = await readCheckpoint(this.checkpointPath(accountId), accountId);
      const usable = checkpoint !== undefined && checkpoint.appliedBytes <= (await ledger.size());
      const entry: LoadedAccount = {
        accountId,
        ledger,
        state: undefined as unknown as AccountState,
        keys: new AccountKeys(),
        idempotency: usable ? checkpoint.index : new IdempotencyIndex(),
        appliedBytes: 0,
        vouchedBytes: 0,
        writingEnd: 0,
        sizeCheckedAt: Number.NEGATIVE_INFINITY,
        nextLook: undefined,
        mutex: new Mutex(),
        commits: new CommitQueue((queue) => this.drain(entry, queue)),
        snapshotTimer: undefined,
        snapshotWrite: Promise.resolve(),
        checkpointedBytes: 0,
        lease: undefined,
        leaseUsedAt: 0,
        contendedUntil: 0,
      };
      if (usable) {
        // The checkpoint plus the ledger's tail: loading costs the same however long the history.
        entry.state = checkpoint.state;
        entry.appliedBytes = checkpoint.appliedBytes;
        entry.checkpointedBytes = checkpoint.appliedBytes;
        for (const researcherId of entry.state.researchers.keys()) {
          entry.keys.add(researcherId, this.keyDeriver.keyFor(accountId, researcherId));
        }
        const { records, endOffset } = await ledger.scan(entry.appliedBytes);
        this.apply(entry, records);
        entry.appliedBytes = endOffset;
      } else {
        const { records, endOffset } = await ledger.scan(0);
        const first = records[0]?.event;
        if (first?.type !== 'opened' || first.accountId !== accountId) {
          throw new AccountDamaged(`The ledger of account ${accountId} does not start with its opening record.`);
        }
        entry.state = evolve(undefined, first);
        entry.keys.add(first.ownerId, this.keyDeriver.keyFor(accountId, first.ownerId));
        this.apply(entry, records.slice(1));
        entry.appliedBytes = endOffset;
      }
      if (!entry.state.closeoutAcknowledged) {
        // Makes sure the closer will find it, whatever happened between opening and listing.
        await this.closeouts.add(accountId, entry.state.closed ? 0 : entry.state.expiresAtMs);
      }
      this.entries.set(accountId, entry);
      // A long history read in full: checkpoint it, so the next load reads only the tail.
      if (entry.appliedBytes - entry.checkpointedBytes >= CHECKPOINT_GROWTH_BYTES) this.scheduleSnapshot(entry);
      return entry;
    } catch (error) {
      await ledger.close().catch(() => undefined);
      if (error instanceof AccountDamaged) this.options.logger.error({ accountId, err: error }, 'account ledger damaged');
      throw error;
    }
  }

  /** Folds records into the account: state by the core, keys and the idempotency index beside it. */
  private apply(entry: LoadedAccount, records: readonly ScannedRecord[]): void {
    for (const { event, offset } of records) {
      try {
        entry.state = evolve(entry.state, event);
      } catch (error) {
        if (error instanceof LedgerCorruptError) {
          throw new AccountDamaged(`The ledger of account ${entry.accountId} is damaged at byte ${offset}: ${error.message}.`);
        }
        throw error;
      }
      this.index(entry, event, offset);
    }
  }

  private index(entry: LoadedAccount, event: AccountEvent, offset: number): void {
    if (event.type === 'researcher-added') {
      entry.keys.add(event.researcherId, this.keyDeriver.keyFor(entry.accountId, event.researcherId));
    } else if (event.type === 'researcher-removed') {
      entry.keys.remove(event.researcherId);
    } else if (event.type === 'withdrawal') {
      entry.idempotency.add(event.idempotencyKey, offset);
    }
  }

  /**
   * Whether another instance appended since we last looked (our own write in flight aside).
   * Looked at most once per `readFreshnessMs` (FRESHNESS_MS: for every read), so a change another
   * instance made is seen by reads here within that time. (Every change is decided under the
   * lock, caught up when it was taken, so no decision about money is made on stale state,
   * whatever the setting.) No look is needed while this instance keeps the account's lock.
   */
  private ledgerGrew(entry: LoadedAccount, options: { evenIfFresh?: boolean } = {}): boolean | Promise<boolean> {
    if (entry.lease?.isFresh()) return false; // nobody else can append meanwhile
    if (!options.evenIfFresh && this.lookedLately(entry)) return false;
    entry.nextLook ??= this.lookOnceTheTurnsReadsArrived(entry);
    return entry.nextLook;
  }

  /**
   * One look at the ledger for every read of the account that arrives in this turn of the event
   * loop, taken once they have all arrived: setImmediate runs after the turn's network reads.
   * A read is answered from what the ledger held after its request came in, so it sees every
   * change acknowledged before its client sent it, as with a look of its own; but a busy account
   * pays one read of the file per turn rather than one per request, as the commit journal makes
   * one fdatasync serve many changes.
   */
  private lookOnceTheTurnsReadsArrived(entry: LoadedAccount): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      setImmediate(() => {
        entry.nextLook = undefined;
        if ((this.options.readFreshnessMs ?? FRESHNESS_MS) > 0) entry.sizeCheckedAt = performance.now();
        const known = Math.max(entry.appliedBytes, entry.writingEnd);
        try {
          const grew = entry.ledger.holdsByteAt(known);
          if (grew !== undefined) resolve(grew);
          else entry.ledger.size().then((size) => resolve(size > known), reject);
        } catch (error) {
          reject(error as Error);
        }
      });
    });
  }

  /** Whether `ledgerGrew` looked at the file less than the read freshness ago (never, by default: no clock is read). */
  private lookedLately(entry: LoadedAccount): boolean {
    const freshnessMs = this.options.readFreshnessMs ?? FRESHNESS_MS;
    return freshnessMs > 0 && performance.now() - entry.sizeCheckedAt < freshnessMs;
  }

  /**
   * Applies what other instances appended since we last looked. Under the file lock (`lease`)
   * a torn tail (a writer killed mid-write) is cut away; without it, it is only skipped.
   */
  private async catchUp(entry: LoadedAccount, lease?: AccountLease): Promise<void> {
    try {
      const { records, endOffset, tornBytes } = await entry.ledger.scan(entry.appliedBytes);
      this.apply(entry, records);
      entry.appliedBytes = endOffset;
      if (tornBytes > 0 && lease) {
        // Judged right before the cut: the bytes may be the start of a write by an instance that
        // took the lock over while this one was paused.
        if (!lease.isFresh()) throw new FencedOutError('This DCU instance may have lost the account lock; nothing was changed. Retry with the same Idempotency-Key.');
        this.options.logger.warn({ accountId: entry.accountId, tornBytes }, 'cutting a torn write from the ledger');
        await entry.ledger.truncateDurably(endOffset);
      }
    } catch (error) {
      if (error instanceof AccountDamaged) this.evict(entry);
      throw error;
    }
  }

  /**
   * Drains the account's queue in group commits, under the account's mutex and its file lock.
   * The file lock is leased: kept after the queue runs dry, so a busy account pays for the lock
   * directory once rather than per change (see `returnLeases` for when it is given back).
   */
  private async drain(entry: LoadedAccount, queue: CommitQueue<AccountCommand, Answer>): Promise<void> {
    if (this.entries.get(entry.accountId) !== entry) return this.handOver(entry, queue);
    await entry.mutex.runExclusive(async () => {
      let batch: Queued<AccountCommand, Answer>[] = [];
      /** The answers of the last durable batch, sent once the next one is on its way to disk. */
      let durableUnanswered: StartedBatch | undefined;
      try {
        if (!this.leaseStillHeld(entry)) await this.holdLease(entry);
        const drainEndsAt = performance.now() + DRAIN_MS;
        do {
          batch = queue.take(MAX_BATCH);
          const started = await this.startBatch(entry, batch);
          // Sending the last batch's answers overlaps this one's fdatasync.
          if (durableUnanswered) answerBatch(durableUnanswered);
          durableUnanswered = undefined;
          await started.durable;
          this.finishBatch(entry, started);
          durableUnanswered = started;
          batch = [];
        } while (queue.length > 0 && performance.now() < drainEndsAt);
        answerBatch(durableUnanswered!);
        entry.leaseUsedAt = performance.now();
        if (entry.leaseUsedAt < entry.contendedUntil) await this.endLease(entry);
      } catch (error) {
        if (durableUnanswered) answerBatch(durableUnanswered);
        // Nothing of this batch was acknowledged; reload the account before trusting memory again.
        for (const queued of batch) queued.reject(error);
        await this.endLease(entry);
        this.evict(entry);
      }
    });
    if (this.entries.get(entry.accountId) !== entry) return this.handOver(entry, queue);
  }

  /** Whether the lease kept from an earlier change can be used as it is (see `holdLease`). */
  private leaseStillHeld(entry: LoadedAccount): boolean {
    const kept = entry.lease;
    return kept !== undefined && kept.isFresh() && !kept.isWanted();
  }

  /**
   * Makes sure this instance holds the account's file lock and has caught up under it. A lease
   * kept from an earlier change is used only while nobody can have taken it over (a pause or a
   * stall past the staleness ends it); one another instance waits for is handed over first.
   * The caller holds the mutex.
   */
  private async holdLease(entry: LoadedAccount): Promise<void> {
    const kept = entry.lease;
    if (kept && (!kept.isFresh() || kept.isWanted())) await this.endLease(entry);
    // While a lease stays fresh nobody else can append (a writer that lost the lock without
    // noticing lands its bytes elsewhere than it meant, and our own read-back would see the
    // ledger moved), so catching up is needed only when the lock is taken.
    if (entry.lease) return;
    const lease = await this.lock.acquire(entry.ledger.path, this.lockPath(entry.accountId));
    if (lease.waited) entry.contendedUntil = performance.now() + CONTENDED_MS;
    try {
      await this.catchUp(entry, lease);
      if (entry.appliedBytes > entry.vouchedBytes) {
        // Records another instance appended (or left when it died or lost the lock): made
        // durable before anything is built on them, whatever became of that instance's journal.
        await entry.ledger.datasync();
        entry.vouchedBytes = entry.appliedBytes;
      }
    } catch (error) {
      await lease.release();
      throw error;
    }
    // Only now: reads take a kept lease to mean the account is caught up.
    entry.lease = lease;
    this.leased.add(entry);
  }

  /** Gives the account's file lock back. The caller holds the mutex (or the account is evicted). */
  private async endLease(entry: LoadedAccount): Promise<void> {
    const lease = entry.lease;
    if (!lease) return;
    entry.lease = undefined;
    this.leased.delete(entry);
    await lease.release();
  }

  /**
   * Gives back the file locks of accounts idle for LEASE_IDLE_MS, wanted by another instance, or
   * no longer fresh. An account in the middle of a change is left to its drain, which looks too.
   */
  private returnLeases(): void {
    const now = performance.now();
    const idleMs = this.options.leaseIdleMs ?? LEASE_IDLE_MS;
    for (const entry of this.leased) {
      const lease = entry.lease;
      if (!lease) continue;
      // Also while a drain runs: a busy account's drain gives a wanted lock back between batches.
      if (lease.lookForTakers()) entry.contendedUntil = now + CONTENDED_MS;
      if (entry.mutex.isLocked()) continue;
      const evicted = this.entries.get(entry.accountId) !== entry;
      if (!evicted && now - entry.leaseUsedAt < idleMs && lease.isFresh() && !lease.isWanted()) continue;
      void entry.mutex
        .runExclusive(async () => {
          if (entry.lease === lease) await this.endLease(entry);
        })
        .catch((error: unknown) => this.options.logger.warn({ err: error, accountId: entry.accountId }, 'could not give the account lock back'));
    }
  }

  /** Commands queued on an evicted account go to the reloaded one. */
  private handOver(entry: LoadedAccount, queue: CommitQueue<AccountCommand, Answer>): void {
    for (const queued of queue.take(Number.MAX_SAFE_INTEGER)) {
      this.submit(entry.accountId, queued.command).then(queued.resolve, queued.reject);
    }
  }

  /**
   * One group commit, begun: the batch decided by the core as a fold, every event appended to
   * the ledger with one write (page cache), read back where it was meant to land, and handed
   * to the instance's commit journal, which makes it durable together with the batches of other
   * accounts (one write, one fdatasync for all). The caller holds the mutex and the file lock,
   * and has caught up; it waits for `durable`, then calls `finishBatch`.
   */
  private async startBatch(entry: LoadedAccount, batch: Queued<AccountCommand, Answer>[]): Promise<StartedBatch> {
    const priors = new Map<string, WithdrawalEvent>();
    for (const { command } of batch) {
      if (command.type !== 'withdraw' || priors.has(command.idempotencyKey)) continue;
      // Usually none: a new key costs no read of the ledger, nor a trip through the microtask queue.
      const candidates = entry.idempotency.candidates(command.idempotencyKey);
      if (candidates.length === 0) continue;
      const prior = await this.findByKey(entry, command.idempotencyKey, candidates);
      if (prior) priors.set(command.idempotencyKey, prior);
    }
    const outcome = decideBatch(
      entry.state,
      batch.map(({ command }) => command),
      { nowMs: this.now(), newId: randomUUID, priorWithdrawal: (key) => priors.get(key) },
    );
    if (outcome.events.length === 0) return { batch, outcome, durable: Promise.resolve(), startedAt: performance.now() };
    if (outcome.events.some((event) => event.type === 'closed')) await this.closeouts.add(entry.accountId, 0);
    const encoded = LedgerFile.encode(entry.appliedBytes, outcome.events);
    entry.writingEnd = encoded.endOffset; // growth beyond this is another instance's
    const startedAt = performance.now();
    const landed = await entry.ledger.append(encoded);
    if (!landed) throw new FencedOutError('Another DCU instance took this account over meanwhile; nothing was changed. Retry with the same Idempotency-Key.');
    const durable = this.journal.commit({ accountId: entry.accountId, ledgerPath: entry.ledger.path, offset: encoded.offset, data: encoded.data });
    return { batch, outcome, encoded, durable, startedAt };
  }

  /** The batch is durable: applied to the account (only now, so no read sees what is not durable). */
  private finishBatch(entry: LoadedAccount, started: StartedBatch): void {
    const { encoded } = started;
    if (!encoded) return;
    this.options.observer?.groupCommit({
      commands: started.batch.length,
      events: started.outcome.events.length,
      writeSeconds: (performance.now() - started.startedAt) / 1000,
    });
    this.apply(entry, encoded.records);
    entry.appliedBytes = encoded.endOffset;
    entry.vouchedBytes = encoded.endOffset;
    this.scheduleSnapshot(entry);
  }

  private async findByKey(entry: LoadedAccount, idempotencyKey: string, candidates: readonly number[]): Promise<WithdrawalEvent | undefined> {
    for (const offset of candidates) {
      const event = await entry.ledger.recordAt(offset);
      if (event?.type === 'withdrawal' && event.idempotencyKey === idempotencyKey) return event;
    }
    return undefined;
  }

  private evict(entry: LoadedAccount): void {
    if (this.entries.get(entry.accountId) === entry) this.entries.delete(entry.accountId);
    // A drain using the lease ends it itself; otherwise the next look of returnLeases does.
    if (!entry.mutex.isLocked()) void this.endLease(entry);
    clearTimeout(entry.snapshotTimer);
    void entry.ledger.close().catch(() => undefined);
  }

  private scheduleSnapshot(entry: LoadedAccount): void {
    if (entry.snapshotTimer || this.closed) return;
    entry.snapshotTimer = setTimeout(() => {
      entry.snapshotTimer = undefined;
      this.writeSnapshot(entry).catch((error: unknown) =>
        this.options.logger.warn({ err: error, accountId: entry.accountId }, 'could not write the account snapshot'),
      );
    }, SNAPSHOT_DELAY_MS);
    entry.snapshotTimer.unref();
  }

  /**
   * The account as a person reads it. Derived from the ledger (which it names), so it may lag
   * the ledger by a second; it is never needed to recover. Taken in one synchronous step, so it
   * is consistent without the account's mutex; written after any earlier snapshot of the account.
   */
  private writeSnapshot(entry: LoadedAccount): Promise<void> {
    const snapshot = {
      ...accountView(entry.state, this.now()),
      proposalId: entry.state.proposalId,
      withdrawals: entry.state.withdrawalCount,
      ledger: `${entry.accountId}${LEDGER_SUFFIX}`,
      ledgerBytes: entry.appliedBytes,
      writtenAt: new Date(this.now()).toISOString(),
    };
    const contents = `${JSON.stringify(snapshot, null, 2)}\n`;
    // The checkpoint is taken in the same synchronous step, so state, index and offset agree.
    const grown = entry.appliedBytes - entry.checkpointedBytes;
    const checkpoint =
      grown >= Math.max(CHECKPOINT_GROWTH_BYTES, entry.checkpointedBytes / 4)
        ? { state: entry.state, indexBytes: entry.idempotency.toBytes(), appliedBytes: entry.appliedBytes }
        : undefined;
    const write = entry.snapshotWrite
      .catch(() => undefined)
      .then(async () => {
        // Never read to recover (the ledger is the truth), so not worth two fsyncs a second per account.
        await replaceFileAtomically(this.snapshotPath(entry.accountId), contents, { durable: false });
        if (checkpoint) {
          await writeCheckpoint(this.checkpointPath(entry.accountId), checkpoint);
          entry.checkpointedBytes = Math.max(entry.checkpointedBytes, checkpoint.appliedBytes);
        }
      });
    entry.snapshotWrite = write.catch(() => undefined);
    return write;
  }
}

function answerOrThrow(decision: ReturnType<typeof decide>) {
  if (isRefusal(decision)) throw new AccountRefusal(decision.refused, decision.message);
  return decision;
}
