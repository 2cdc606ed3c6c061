import type { AccountView, OpenAccountRequest, Transaction } from '@grantline/contracts';
import type { Member, RefusalReason, WithdrawalEvent } from '../domain/account';

/**
 * The store interface, for the next store (PostgreSQL after the files).
 *
 * What the routes and the closeout sender need from storage, and nothing about how it is kept.
 * A store:
 * - decides every change with the pure core (`decide`/`decideBatch` in domain/account.ts)
 *   against the account's current state, while holding the account (one change at a time per
 *   account across every instance sharing the storage), then persists the events durably
 *   before it resolves; it never restates a rule;
 * - answers plain data (copies), never its internal state;
 * - rejects with `AccountRefusal` when the core refused (the routes map the reason to a
 *   status), with `AccountDamaged` when stored data fails its checksum or cannot follow from the
 *   state (that account answers 503; others keep working), and with an error carrying a
 *   `code` such as ELOCKED/EIO when storage is unavailable (503, retry with the same key).
 */
export interface AccountStore {
  /** Ready to answer; must not read every account (start-up stays under a second). */
  start(): Promise<void>;
  /** Waits for queued changes, then releases every resource. */
  close(): Promise<void>;

  /** Opens the account of a proposal; the same proposal again answers with the same account. */
  open(request: OpenAccountRequest): Promise<{ accountId: string; ownerKey: string; created: boolean }>;
  /** The researcher `key` opens in this account; undefined for a wrong key or an unknown account. */
  authenticate(accountId: string, key: string): Promise<Member | undefined>;
  exists(accountId: string): Promise<boolean>;
  view(accountId: string): Promise<AccountView>;
  addResearcher(
    accountId: string,
    actorId: string,
    name: string,
    idempotencyKey?: string,
  ): Promise<{ researcherId: string; key: string; created: boolean }>;
  removeResearcher(accountId: string, actorId: string, researcherId: string): Promise<void>;
  /** Durable before it resolves; a repeat of the key resolves with the first withdrawal, replayed. */
  withdraw(accountId: string, request: WithdrawalRequestData): Promise<WithdrawalResult>;
  /** One page of the history, oldest first; `after` is a `next` this store handed out. */
  transactions(accountId: string, page: TransactionsPageRequest): Promise<TransactionsPage>;

  /**
   * Closes every account that has ended (expired, or balance zero) and is not closed yet, and
   * lists the closed accounts whose closeout the agency has not acknowledged. Cheap to call
   * every few hundred milliseconds, whatever the number of accounts; safe with several
   * instances calling it at once (an account is closed once).
   */
  pendingCloseouts(): Promise<PendingCloseout[]>;
  /** Records that the agency counted the account's returned money (idempotent). */
  acknowledgeCloseout(accountId: string): Promise<void>;
}

export interface WithdrawalRequestData {
  researcherId: string;
  amountCents: number;
  note?: string | undefined;
  idempotencyKey: string;
}

export interface WithdrawalResult {
  withdrawal: WithdrawalEvent;
  /** True when the key had been used before: the first answer, no money moved now. */
  replayed: boolean;
}

export interface TransactionsPageRequest {
  limit: number;
  after?: string | undefined;
}

export interface TransactionsPage {
  transactions: Transaction[];
  next: string | null;
}

export interface PendingCloseout {
  accountId: string;
  proposalId: string;
  returnedCents: number;
}

/** Why the core refused a change (or a cursor the store never handed out); routes turn these into HTTP answers. */
export class AccountRefusal extends Error {
  override name = 'AccountRefusal';
  constructor(
    readonly reason: RefusalReason | 'bad-cursor',
    message: string,
  ) {
    super(message);
  }
}

/** Stored data of one account failed its checksum or its rules: never used; the account answers 503. */
export class AccountDamaged extends Error {
  override name = 'AccountDamaged';
  readonly code = 'ACCOUNT_DAMAGED';
}
