import type { AgencyCommand, BudgetTotals, ProposalRecord } from '../domain/funding';

/** What a command left on record. */
export interface CommandResult {
  /** `created`: the command changed the state (durably); `repeat`: it had been applied before. */
  outcome: 'created' | 'repeat';
  /** The proposal after the command (for a release: the released record). */
  proposal: ProposalRecord;
  budget: BudgetTotals;
}

/**
 * Where the agency keeps its decisions and its budget. Every implementation (files in
 * AGENCY_DIR, PostgreSQL) runs the same pure rules of `domain/funding.ts` and owes the same
 * guarantees; a new store passes `test/store.contract.test.ts` and the model test by adding
 * itself to their list of stores.
 *
 * `execute(command)`:
 *  1. serializes against every other writer of the same state, in this process and in every
 *     other agency process sharing the store (a lock, a transaction with `FOR UPDATE` on the
 *     budget row: a budget check that races another one could overcommit);
 *  2. reads the current slice: the one proposal the command names and the budget totals;
 *  3. calls `decide(slice, command)`; an `AgencyRefusal` it throws passes through unchanged and
 *     nothing is written;
 *  4. persists the events (or the slice `evolve` makes of them) durably and atomically, all
 *     or nothing, before it resolves: after a crash at any instant, either every event of the
 *     command is on record or none is;
 *  5. resolves with the new slice. A `repeat` writes nothing.
 *
 * Reads (`proposal`, `budget`, `latest`, `unconfirmed`) see every change any process has had
 * acknowledged, and return copies. A store that cannot reach its storage throws
 * `StorageUnavailableError` (answered 503; nothing was changed or the change is retried by the
 * caller with the same ids, which the rules make idempotent). Keys are never stored: a
 * proposal's id is already the hash of its Idempotency-Key.
 */
export interface AgencyStore {
  execute(command: AgencyCommand): Promise<CommandResult>;
  /** The record of a proposal, released ones included; undefined when unknown. */
  proposal(proposalId: string): Promise<ProposalRecord | undefined>;
  budget(): Promise<BudgetTotals>;
  /** The newest `limit` decisions (released reservations left out), newest first. */
  latest(limit: number): Promise<ProposalRecord[]>;
  /** Every pending reservation (accepted, account not confirmed), oldest first: the recovery's work list. */
  unconfirmed(): Promise<ProposalRecord[]>;
  close(): Promise<void>;
}

/** Storage that cannot be used right now; the agency answers 503 and nothing is half done. */
export class StorageUnavailableError extends Error {
  override name = 'StorageUnavailableError';
  constructor(
    message: string,
    readonly code = 'STORAGE_UNAVAILABLE',
  ) {
    super(message);
  }
}

/** Records stored on disk that fail their checksum: never used, and the damage is named. */
export class StorageCorruptError extends Error {
  override name = 'StorageCorruptError';
}
