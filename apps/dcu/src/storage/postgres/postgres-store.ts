import { createHash, randomUUID } from 'node:crypto';
import type { AccountView, OpenAccountRequest } from '@grantline/contracts';
import { Database, type Logger, type Queryable } from '@grantline/postgres';
import {
  decide,
  evolve,
  isRefusal,
  LedgerCorruptError,
  type AccountCommand,
  type AccountEvent,
  type AccountState,
  type Answer,
  type Member,
  type WithdrawalEvent,
} from '../../domain/account';
import { accountIdFor, depositIdFor, memberIdFor, ownerIdFor } from '../../domain/ids';
import { KeyDeriver, keyDigest } from '../../domain/keys';
import { accountView } from '../../domain/views';
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
import { DCU_MIGRATIONS } from './schema';
import {
  ACCOUNT_COLUMNS,
  AUTHENTICATE_SQL,
  INSERT_WITHDRAWAL_SQL,
  READ_FOR_WITHDRAWAL_SQL,
  readAccountSql,
  UPDATE_ACCOUNT_SQL,
  WITHDRAW_SQL,
  WITHDRAWAL_COLUMNS,
} from './sql';

export interface PostgresAccountStoreOptions {
  databaseUrl: string;
  keySecret: string;
  dayMs: number;
  /** The one clock of the money rules. */
  now?: () => number;
  logger?: Logger;
  maxConnections?: number;
}

/** Accounts the closer handles per call, so one call stays short whatever the backlog. */
const CLOSE_BATCH = 200;

/**
 * Optimistic tries of a withdrawal (read, decide, conditional write) before it falls back to
 * the locking transaction, which always makes progress however busy the account is.
 */
const OPTIMISTIC_WITHDRAWAL_ATTEMPTS = 4;

/**
 * How long an account read by a key check may serve the withdrawal that follows it, and how
 * many such reads a process keeps. A stale one costs a lost race, never a wrong write (the
 * write is conditional on its version); the bounds only keep the map small and fresh.
 */
const SNAPSHOT_MAX_AGE_MS = 2_000;
const SNAPSHOT_LIMIT = 10_000;

/** Names of the hot path's prepared statements (one name, one text, for the process's life). */
const PREPARED = {
  authenticate: 'dcu_authenticate',
  readForWithdrawal: 'dcu_read_for_withdrawal',
  withdraw: 'dcu_withdraw',
} as const;

/** An account's state as read (or as written by this process) at one version. */
interface Snapshot {
  state: AccountState;
  version: string;
  at: number;
}

/**
 * The DCU's accounts in PostgreSQL, for any number of DCU instances on any number of hosts.
 * Every change is one short transaction: lock the account row (SELECT ... FOR UPDATE, which
 * also reads its researchers and the earlier withdrawal with the same key), let the pure core
 * decide, write the events' rows and the account's new totals, commit. The commit is the
 * durability point; PostgreSQL's group commit batches concurrent ones into one WAL flush.
 */
export class PostgresAccountStore implements AccountStore {
  private database: Database | undefined;
  private readonly keys: KeyDeriver;
  private readonly now: () => number;
  /** The newest account state this process saw per account: see withdraw. */
  private readonly snapshots = new Map<string, Snapshot>();

  constructor(private readonly options: PostgresAccountStoreOptions) {
    this.keys = new KeyDeriver(options.keySecret);
    this.now = options.now ?? Date.now;
  }

  /** Connects (waiting a while for the database) and creates or upgrades the tables. */
  async start(): Promise<void> {
    this.database = await Database.connect({
      connectionString: this.options.databaseUrl,
      applicationName: 'grantline-dcu',
      maxConnections: this.options.maxConnections ?? 10,
      migrations: { component: 'dcu', steps: DCU_MIGRATIONS },
      ...(this.options.logger ? { logger: this.options.logger } : {}),
    });
  }

  async close(): Promise<void> {
    await this.database?.close();
  }

  async open(
    request: OpenAccountRequest,
  ): Promise<{ accountId: string; ownerKey: string; created: boolean }> {
    const accountId = accountIdFor(request.proposalId);
    const ownerId = ownerIdFor(accountId);
    const ownerKey = this.keys.keyFor(accountId, ownerId);
    const command: AccountCommand = {
      type: 'open',
      accountId,
      ownerId,
      terms: request,
      dayMs: this.options.dayMs,
    };
    for (let attempt = 0; ; attempt++) {
      try {
        const answer = await this.change(accountId, command);
        if (answer.type !== 'opened')
          throw new Error(`opening an account answered "${answer.type}"`);
        return { accountId, ownerKey, created: answer.created };
      } catch (error) {
        // Two instances opened the same proposal at once: the loser decides again, against the winner's row.
        if ((error as { code?: string }).code === '23505' && attempt === 0) continue;
        throw error;
      }
    }
  }

  /**
   * Always asks the database (a removed student's key stops working on every instance at
   * once), and reads the whole account in the same round trip: the withdrawal that usually
   * follows decides on it without reading again (see withdraw).
   */
  async authenticate(accountId: string, key: string): Promise<Member | undefined> {
    const { rows } = await this.db.query<AccountReadRow & { keyholder: string | null }>(
      AUTHENTICATE_SQL,
      [accountId, keyDigest(key)],
      { prepare: PREPARED.authenticate },
    );
    const row = rows[0];
    if (!row) return undefined;
    const state = toState(row, row.researchers ?? []);
    this.remember(state, row.version);
    const member = row.keyholder === null ? undefined : state.researchers.get(row.keyholder);
    return member ? { ...member } : undefined;
  }

  async exists(accountId: string): Promise<boolean> {
    const { rows } = await this.db.query('SELECT 1 FROM dcu_accounts WHERE account_id = $1', [
      accountId,
    ]);
    return rows.length > 0;
  }

  async view(accountId: string): Promise<AccountView> {
    const state = await readState(this.db, accountId, { lock: false });
    if (!state) throw new AccountRefusal('not-found', `There is no account ${accountId}.`);
    return accountView(state, this.now());
  }

  async addResearcher(
    accountId: string,
    actorId: string,
    name: string,
    idempotencyKey?: string,
  ): Promise<{ researcherId: string; key: string; created: boolean }> {
    const researcherId =
      idempotencyKey === undefined
        ? randomUUID()
        : memberIdFor(accountId.toLowerCase(), idempotencyKey);
    const answer = await this.change(accountId, {
      type: 'add-researcher',
      actorId,
      researcherId,
      name,
    });
    if (answer.type !== 'researcher-added')
      throw new Error(`adding a researcher answered "${answer.type}"`);
    return {
      researcherId,
      key: this.keys.keyFor(accountId.toLowerCase(), researcherId),
      created: answer.created,
    };
  }

  async removeResearcher(accountId: string, actorId: string, researcherId: string): Promise<void> {
    await this.change(accountId, { type: 'remove-researcher', actorId, researcherId });
  }

  /**
   * The hot path, one round trip after the key check and no held lock. The account is the one
   * the key check of this request (or a later change by this process) read; the core decides
   * on it, then WITHDRAW_SQL writes, one statement that applies only if the account's version
   * is still the one decided on. Every change bumps the version, so a write that lost a race
   * changes nothing. That read did not look for an earlier withdrawal under this
   * Idempotency-Key: if there is one, the table's UNIQUE (account, key digest) refuses the
   * write. Whenever the write did not apply, and before answering any refusal, the account is
   * read again together with the withdrawal under the key, and the core decides again (a
   * replay, a refusal or a new try). A busy account falls back to the locking transaction of
   * `change`.
   */
  async withdraw(accountId: string, request: WithdrawalRequestData): Promise<WithdrawalResult> {
    const command: Extract<AccountCommand, { type: 'withdraw' }> = {
      type: 'withdraw',
      actorId: request.researcherId,
      amountCents: request.amountCents,
      note: request.note,
      // The core compares keys for equality only, so it works on their digests; the key itself is never stored.
      idempotencyKey: keyHash(request.idempotencyKey),
    };
    // Ids this call wrote with: a write whose answer was lost (and that query() sent again)
    // shows up on the next read as the prior withdrawal under the key; it is this call's own.
    const attempted = new Set<string>();
    const result = (answer: Answer): WithdrawalResult => {
      if (answer.type !== 'withdrawal') throw new Error(`a withdrawal answered "${answer.type}"`);
      const replayed = answer.replayed && !attempted.has(answer.withdrawal.id);
      return { withdrawal: { ...answer.withdrawal }, replayed };
    };
    let snapshot = this.recent(accountId);
    for (let attempt = 0; attempt < OPTIMISTIC_WITHDRAWAL_ATTEMPTS; ) {
      // `checked`: the read looked for the withdrawal under this key, so the decision is final.
      let loaded: { state: AccountState; version: string; prior?: WithdrawalEvent | undefined } | undefined;
      let checked: boolean;
      if (snapshot) {
        loaded = snapshot;
        checked = false;
        snapshot = undefined;
      } else {
        loaded = await readAccount(this.db, accountId, {
          lock: false,
          priorKey: command.idempotencyKey,
        });
        if (loaded) this.remember(loaded.state, loaded.version);
        checked = true;
        attempt++;
      }
      const prior = loaded?.prior;
      const decision = decide(loaded?.state, command, {
        nowMs: this.now(),
        newId: randomUUID,
        priorWithdrawal: (key) => (key === command.idempotencyKey ? prior : undefined),
      });
      if (isRefusal(decision)) {
        if (checked) throw new AccountRefusal(decision.refused, decision.message);
        continue;
      }
      const withdrawal = decision.events[0];
      if (!loaded || withdrawal?.type !== 'withdrawal') {
        if (checked) return result(decision.answer);
        continue;
      }
      let state: AccountState | undefined = loaded.state;
      for (const event of decision.events) {
        state = damagedIfCorrupt(() => evolve(state, event), accountId);
      }
      const after = state!;
      attempted.add(withdrawal.id);
      let applied: boolean;
      try {
        const { rowCount } = await this.db.query(
          WITHDRAW_SQL,
          [
            after.accountId,
            after.balanceCents,
            after.withdrawalCount,
            after.closed?.reason ?? null,
            after.closed?.returnedCents ?? null,
            after.closed?.closedAt ?? null,
            after.closeoutAcknowledged,
            loaded.version,
            withdrawal.id,
            withdrawal.idempotencyKey,
            withdrawal.researcherId,
            withdrawal.amountCents,
            withdrawal.note ?? null,
            withdrawal.at,
          ],
          { prepare: PREPARED.withdraw },
        );
        applied = rowCount === 1;
      } catch (error) {
        // A unique violation: the key was used before (or a twin row): nothing was written; read and decide again.
        if ((error as { code?: string }).code !== '23505') throw error;
        applied = false;
      }
      if (applied) {
        this.remember(after, String(BigInt(loaded.version) + 1n));
        return result(decision.answer);
      }
    }
    return result(await this.change(accountId, command));
  }

  /**
   * The history: the deposit is position 0, withdrawal n is position n; the cursor is the
   * position of the next line, so a page is one index range scan whatever the history's length.
   */
  async transactions(accountId: string, page: TransactionsPageRequest): Promise<TransactionsPage> {
    const account = await this.db.query<AccountRow>(
      `SELECT ${ACCOUNT_COLUMNS} FROM dcu_accounts WHERE account_id = $1`,
      [accountId],
    );
    const row = account.rows[0];
    if (!row) throw new AccountRefusal('not-found', `There is no account ${accountId}.`);
    let from = 0;
    if (page.after !== undefined) {
      from = /^\d{1,9}$/.test(page.after) ? Number(page.after) : Number.NaN;
      if (!(from >= 0 && from <= row.withdrawal_count + 1)) {
        throw new AccountRefusal(
          'bad-cursor',
          `"${page.after}" is not a cursor of this account's history; use the "next" of a page.`,
        );
      }
    }
    const transactions: TransactionsPage['transactions'] = [];
    if (from === 0 && page.limit > 0) {
      transactions.push({
        id: depositIdFor(row.account_id),
        type: 'deposit',
        amountCents: Number(row.initial_cents),
        researcherId: row.owner_id,
        at: row.created_at.toISOString(),
        balanceAfterCents: Number(row.initial_cents),
      });
    }
    const firstSeq = Math.max(1, from);
    const wanted = page.limit - transactions.length;
    const { rows } = await this.db.query<WithdrawalRow>(
      `SELECT ${WITHDRAWAL_COLUMNS} FROM dcu_withdrawals WHERE account_id = $1 AND seq >= $2 ORDER BY seq LIMIT $3`,
      [accountId, firstSeq, wanted + 1],
    );
    for (const withdrawal of rows.slice(0, wanted)) {
      transactions.push({
        id: withdrawal.withdrawal_id,
        type: 'withdrawal',
        amountCents: Number(withdrawal.amount_cents),
        researcherId: withdrawal.researcher_id,
        at: withdrawal.at.toISOString(),
        balanceAfterCents: Number(withdrawal.balance_after_cents),
      });
    }
    const more = rows.length > wanted;
    const last = rows[Math.min(rows.length, wanted) - 1];
    const next = more ? String(last ? last.seq + 1 : firstSeq) : null;
    return { transactions, next };
  }

  /** Closes ended accounts (each in its own transaction, decided by the core), then lists the unacknowledged. */
  async pendingCloseouts(): Promise<PendingCloseout[]> {
    const due = await this.db.query<{ account_id: string }>(
      `SELECT account_id FROM dcu_accounts WHERE closed_reason IS NULL AND expires_at <= $1 ORDER BY expires_at LIMIT ${CLOSE_BATCH}`,
      [new Date(this.now())],
    );
    for (const { account_id: accountId } of due.rows) {
      await this.change(accountId, { type: 'close' }).catch((error: unknown) => {
        if (error instanceof AccountRefusal && error.reason === 'not-ended') return undefined;
        throw error;
      });
    }
    const { rows } = await this.db.query<{
      account_id: string;
      proposal_id: string;
      returned_cents: string;
    }>(
      `SELECT account_id, proposal_id, returned_cents FROM dcu_accounts
        WHERE closed_reason IS NOT NULL AND NOT closeout_acknowledged ORDER BY closed_at LIMIT 1000`,
    );
    return rows.map((row) => ({
      accountId: row.account_id,
      proposalId: row.proposal_id,
      returnedCents: Number(row.returned_cents),
    }));
  }

  async acknowledgeCloseout(accountId: string): Promise<void> {
    await this.change(accountId, { type: 'acknowledge-closeout' });
  }

  /** Keeps the newest state seen of an account (a bounded map, oldest entry out first). */
  private remember(state: AccountState, version: string): void {
    const known = this.snapshots.get(state.accountId);
    if (known && this.fresh(known) && BigInt(known.version) > BigInt(version)) return;
    this.snapshots.delete(state.accountId);
    this.snapshots.set(state.accountId, { state, version, at: performance.now() });
    if (this.snapshots.size > SNAPSHOT_LIMIT) {
      const oldest = this.snapshots.keys().next().value;
      if (oldest !== undefined) this.snapshots.delete(oldest);
    }
  }

  /** The account as last seen, if seen within SNAPSHOT_MAX_AGE_MS. */
  private recent(accountId: string): Snapshot | undefined {
    const known = this.snapshots.get(accountId.toLowerCase());
    return known && this.fresh(known) ? known : undefined;
  }

  private fresh(snapshot: Snapshot): boolean {
    return performance.now() - snapshot.at <= SNAPSHOT_MAX_AGE_MS;
  }

  private get db(): Database {
    if (!this.database) throw new Error('the PostgreSQL account store is not started');
    return this.database;
  }

  /** One command in one transaction: lock, decide with the core, write what it decided. */
  private change(accountId: string, command: AccountCommand): Promise<Answer> {
    // This process's snapshot of the account is about to be old; the next withdrawal reads afresh.
    this.snapshots.delete(accountId.toLowerCase());
    return this.db.transaction(async (tx) => {
      const priorKey = command.type === 'withdraw' ? command.idempotencyKey : undefined;
      const loaded = await readAccount(tx, accountId, { lock: true, priorKey });
      const state = loaded?.state;
      const decision = decide(state, command, {
        nowMs: this.now(),
        newId: randomUUID,
        priorWithdrawal: (key) => (key === priorKey ? loaded?.prior : undefined),
      });
      if (isRefusal(decision)) throw new AccountRefusal(decision.refused, decision.message);
      if (decision.events.length > 0) await this.persist(tx, state, decision.events);
      return decision.answer;
    });
  }

  /** Writes the rows the events add and the account's totals after them. */
  private async persist(
    tx: Queryable,
    before: AccountState | undefined,
    events: AccountEvent[],
  ): Promise<void> {
    let state = before;
    for (const event of events) {
      state = damagedIfCorrupt(() => evolve(state, event), before?.accountId);
      switch (event.type) {
        case 'opened':
          await tx.query(
            `INSERT INTO dcu_accounts (account_id, proposal_id, title, investigator, owner_id, initial_cents, balance_cents,
               duration_days, day_ms, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9, $10)`,
            [
              event.accountId,
              event.proposalId,
              event.title,
              event.investigator,
              event.ownerId,
              event.initialCents,
              event.durationDays,
              event.dayMs,
              event.createdAt,
              event.expiresAt,
            ],
          );
          await this.insertResearcher(
            tx,
            event.accountId,
            event.ownerId,
            event.investigator,
            'owner',
            0,
            event.createdAt,
          );
          break;
        case 'researcher-added':
          await this.insertResearcher(
            tx,
            state.accountId,
            event.researcherId,
            event.name,
            'member',
            state.everAdded.size - 1,
            event.at,
          );
          break;
        case 'researcher-removed':
          await tx.query(
            'UPDATE dcu_researchers SET removed_at = $3 WHERE account_id = $1 AND researcher_id = $2',
            [state.accountId, event.researcherId, event.at],
          );
          break;
        case 'withdrawal':
          await tx.query(
            INSERT_WITHDRAWAL_SQL,
            [
              state.accountId,
              state.withdrawalCount,
              event.id,
              event.idempotencyKey,
              event.researcherId,
              event.amountCents,
              event.balanceAfterCents,
              event.note ?? null,
              event.at,
            ],
          );
          break;
        case 'closed':
        case 'closeout-acknowledged':
          break;
      }
    }
    if (!state || events[0]?.type === 'opened') return;
    // Every change bumps the version, also a researcher's: see readAccount.
    await tx.query(
      UPDATE_ACCOUNT_SQL,
      [
        state.accountId,
        state.balanceCents,
        state.withdrawalCount,
        state.closed?.reason ?? null,
        state.closed?.returnedCents ?? null,
        state.closed?.closedAt ?? null,
        state.closeoutAcknowledged,
      ],
    );
  }

  private async insertResearcher(
    tx: Queryable,
    accountId: string,
    researcherId: string,
    name: string,
    role: Member['role'],
    position: number,
    at: string,
  ): Promise<void> {
    await tx.query(
      `INSERT INTO dcu_researchers (account_id, researcher_id, position, name, role, key_digest, added_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        accountId,
        researcherId,
        position,
        name,
        role,
        keyDigest(this.keys.keyFor(accountId, researcherId)),
        at,
      ],
    );
  }
}

interface AccountRow {
  account_id: string;
  proposal_id: string;
  title: string;
  investigator: string;
  owner_id: string;
  initial_cents: string;
  balance_cents: string;
  duration_days: number;
  day_ms: string;
  created_at: Date;
  expires_at: Date;
  withdrawal_count: number;
  closed_reason: 'expired' | 'depleted' | null;
  returned_cents: string | null;
  closed_at: Date | null;
  closeout_acknowledged: boolean;
  version: string;
}

interface WithdrawalRow {
  seq: number;
  withdrawal_id: string;
  idempotency_key_hash: string;
  researcher_id: string;
  amount_cents: string;
  balance_after_cents: string;
  note: string | null;
  at: Date;
}

type WithdrawalJson = Omit<WithdrawalRow, 'at'> & { at: string };

type AccountReadRow = AccountRow & {
  researchers: ResearcherJson[] | null;
  prior?: WithdrawalJson | null;
  seen_version?: string;
};

interface ResearcherJson {
  researcher_id: string;
  name: string;
  role: Member['role'];
  removed: boolean;
}

/**
 * The account's state, its researchers and (for a withdrawal) the earlier withdrawal with the
 * same key, in one round trip; `lock` holds the account row until the transaction ends.
 */
async function readAccount(
  db: Queryable,
  accountId: string,
  options: { lock: boolean; priorKey?: string | undefined },
): Promise<{ state: AccountState; prior: WithdrawalEvent | undefined; version: string } | undefined> {
  const { rows } =
    !options.lock && options.priorKey !== undefined && db instanceof Database
      ? await db.query<AccountReadRow>(READ_FOR_WITHDRAWAL_SQL, [accountId, options.priorKey], {
          prepare: PREPARED.readForWithdrawal,
        })
      : await db.query<AccountReadRow>(
          readAccountSql({ lock: options.lock, prior: true, keyholder: false }),
          [accountId, options.priorKey ?? ''],
        );
  const row = rows[0];
  if (!row) return undefined;
  // FOR UPDATE hands back the newest row after waiting for another change to commit, but the
  // subqueries still see the statement's older snapshot. Every change bumps the version, so a
  // difference says they are stale; read them again (this statement sees the change).
  if (options.lock && row.version !== row.seen_version)
    return readAccount(db, accountId, options);
  return {
    state: toState(row, row.researchers ?? []),
    prior: row.prior ? toWithdrawal(row.prior) : undefined,
    version: row.version,
  };
}

async function readState(
  db: Queryable,
  accountId: string,
  options: { lock: boolean },
): Promise<AccountState | undefined> {
  return (await readAccount(db, accountId, options))?.state;
}

function toState(row: AccountRow, researchers: ResearcherJson[]): AccountState {
  const current = new Map<string, Member>();
  for (const researcher of researchers) {
    if (!researcher.removed) {
      current.set(researcher.researcher_id, {
        researcherId: researcher.researcher_id,
        name: researcher.name,
        role: researcher.role,
      });
    }
  }
  return {
    accountId: row.account_id,
    proposalId: row.proposal_id,
    title: row.title,
    investigator: row.investigator,
    ownerId: row.owner_id,
    initialCents: Number(row.initial_cents),
    balanceCents: Number(row.balance_cents),
    durationDays: row.duration_days,
    dayMs: Number(row.day_ms),
    createdAtMs: row.created_at.getTime(),
    expiresAtMs: row.expires_at.getTime(),
    createdAt: row.created_at.toISOString(),
    expiresAt: row.expires_at.toISOString(),
    researchers: current,
    everAdded: new Set(researchers.map((researcher) => researcher.researcher_id)),
    withdrawalCount: row.withdrawal_count,
    closed:
      row.closed_reason === null
        ? undefined
        : {
            reason: row.closed_reason,
            returnedCents: Number(row.returned_cents),
            closedAt: row.closed_at!.toISOString(),
          },
    closeoutAcknowledged: row.closeout_acknowledged,
  };
}

function toWithdrawal(row: Omit<WithdrawalRow, 'at'> & { at: string | Date }): WithdrawalEvent {
  return {
    type: 'withdrawal',
    id: row.withdrawal_id,
    researcherId: row.researcher_id,
    amountCents: Number(row.amount_cents),
    balanceAfterCents: Number(row.balance_after_cents),
    at: new Date(row.at).toISOString(),
    idempotencyKey: row.idempotency_key_hash,
    ...(row.note === null ? {} : { note: row.note }),
  };
}

function keyHash(idempotencyKey: string): string {
  return createHash('sha256').update(idempotencyKey).digest('hex');
}

function damagedIfCorrupt<T>(step: () => T, accountId: string | undefined): T {
  try {
    return step();
  } catch (error) {
    if (error instanceof LedgerCorruptError) {
      const damaged = new AccountDamaged(
        `Account ${accountId ?? ''} holds data that does not follow from its rules: ${error.message}`,
      );
      throw damaged;
    }
    throw error;
  }
}
