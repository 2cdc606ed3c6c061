/**
 * The ledger: the append-only record of everything that happened to one account, one JSON
 * object per line. It is the source of truth; an account's state is the fold of its records.
 */

export interface OpenedRecord {
  type: 'opened';
  accountId: string;
  proposalId: string;
  title: string;
  investigator: string;
  ownerId: string;
  initialCents: number;
  durationDays: number;
  dayMs: number;
  createdAt: string;
  expiresAt: string;
}

export interface ResearcherAddedRecord {
  type: 'researcher-added';
  researcherId: string;
  name: string;
  at: string;
}

export interface ResearcherRemovedRecord {
  type: 'researcher-removed';
  researcherId: string;
  at: string;
}

export interface WithdrawalRecord {
  type: 'withdrawal';
  id: string;
  researcherId: string;
  amountCents: number;
  balanceAfterCents: number;
  at: string;
  /** A repeat of the key must come from the same researcher with the same amount and note. */
  idempotencyKey: string;
  note?: string;
}

export type LedgerRecord =
  | OpenedRecord
  | ResearcherAddedRecord
  | ResearcherRemovedRecord
  | WithdrawalRecord;

export interface Member {
  researcherId: string;
  name: string;
  role: 'owner' | 'member';
}

export interface AccountState {
  accountId: string;
  proposalId: string;
  title: string;
  investigator: string;
  initialCents: number;
  balanceCents: number;
  durationDays: number;
  /** The length of a day when the account was opened; its days keep that length. */
  dayMs: number;
  createdAtMs: number;
  expiresAtMs: number;
  /** The same two instants as the ledger writes them (ISO 8601), kept to answer reads. */
  createdAt: string;
  expiresAt: string;
  /** Current researchers in the order they joined; removed ones are gone. */
  researchers: Map<string, Member>;
  /** Every researcher id ever used, so a removed id is never handed out again. */
  everAdded: Set<string>;
  withdrawalCount: number;
}

export class LedgerCorruptError extends Error {
  override name = 'LedgerCorruptError';
}

export function stateFromOpened(record: OpenedRecord): AccountState {
  const owner: Member = { researcherId: record.ownerId, name: record.investigator, role: 'owner' };
  return {
    accountId: record.accountId,
    proposalId: record.proposalId,
    title: record.title,
    investigator: record.investigator,
    initialCents: record.initialCents,
    balanceCents: record.initialCents,
    durationDays: record.durationDays,
    dayMs: record.dayMs,
    createdAtMs: Date.parse(record.createdAt),
    expiresAtMs: Date.parse(record.expiresAt),
    createdAt: record.createdAt,
    expiresAt: record.expiresAt,
    researchers: new Map([[owner.researcherId, owner]]),
    everAdded: new Set([owner.researcherId]),
    withdrawalCount: 0,
  };
}

/** Applies one record after the first; refuses records that break the ledger's rules. */
export function applyRecord(state: AccountState, record: LedgerRecord): void {
  switch (record.type) {
    case 'opened':
      throw new LedgerCorruptError(`account ${state.accountId} is opened twice in its ledger`);
    case 'researcher-added':
      state.researchers.set(record.researcherId, {
        researcherId: record.researcherId,
        name: record.name,
        role: 'member',
      });
      state.everAdded.add(record.researcherId);
      return;
    case 'researcher-removed':
      state.researchers.delete(record.researcherId);
      return;
    case 'withdrawal': {
      const expected = state.balanceCents - record.amountCents;
      if (expected < 0 || expected !== record.balanceAfterCents) {
        throw new LedgerCorruptError(
          `withdrawal ${record.id} of account ${state.accountId} does not follow from the balance`,
        );
      }
      state.balanceCents = expected;
      state.withdrawalCount += 1;
      return;
    }
  }
}

export function serializeRecord(record: LedgerRecord): string {
  return `${JSON.stringify(record)}\n`;
}

const RECORD_TYPES = new Set(['opened', 'researcher-added', 'researcher-removed', 'withdrawal']);

/** Parses one line of a ledger; undefined when it is not a well-formed record. */
export function parseRecord(line: string): LedgerRecord | undefined {
  try {
    const value: unknown = JSON.parse(line);
    if (
      value !== null &&
      typeof value === 'object' &&
      'type' in value &&
      typeof value.type === 'string' &&
      RECORD_TYPES.has(value.type)
    ) {
      return value as LedgerRecord;
    }
  } catch {
    // not JSON: the caller decides whether this is a torn tail or corruption
  }
  return undefined;
}
