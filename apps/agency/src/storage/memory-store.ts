import { apply, EMPTY_BUDGET, type AgencyCommand, type BudgetTotals, type ProposalRecord } from '../domain/funding';
import type { AgencyStore, CommandResult } from './store';

/**
 * The store reduced to the rules: a map and two totals in memory. It is the reference the
 * other stores are compared with, and the store of unit tests; it keeps nothing across a
 * restart, so the agency never uses it in production.
 */
export class MemoryAgencyStore implements AgencyStore {
  private readonly proposals = new Map<string, ProposalRecord>();
  /** Insertion order of decisions, for `latest`. */
  private readonly order: string[] = [];
  private totals: BudgetTotals = { ...EMPTY_BUDGET };

  async execute(command: AgencyCommand): Promise<CommandResult> {
    const before = this.proposals.get(command.proposalId);
    const { slice, decision } = apply({ proposal: before, budget: this.totals }, command);
    if (slice.proposal === undefined) throw new Error('a command always leaves its proposal on record');
    if (decision.outcome === 'created') {
      if (before === undefined) this.order.push(command.proposalId);
      this.proposals.set(command.proposalId, slice.proposal);
      this.totals = slice.budget;
    }
    return { outcome: decision.outcome, proposal: structuredClone(slice.proposal), budget: { ...slice.budget } };
  }

  async proposal(proposalId: string): Promise<ProposalRecord | undefined> {
    const record = this.proposals.get(proposalId);
    return record === undefined ? undefined : structuredClone(record);
  }

  async budget(): Promise<BudgetTotals> {
    return { ...this.totals };
  }

  async latest(limit: number): Promise<ProposalRecord[]> {
    return latestOf(this.order, this.proposals, limit);
  }

  async unconfirmed(): Promise<ProposalRecord[]> {
    return unconfirmedOf(this.order, this.proposals);
  }

  async close(): Promise<void> {}
}

/** Shared by the stores that fold their records into a map in memory. */
export function latestOf(order: readonly string[], proposals: ReadonlyMap<string, ProposalRecord>, limit: number): ProposalRecord[] {
  const result: ProposalRecord[] = [];
  for (let index = order.length - 1; index >= 0 && result.length < limit; index -= 1) {
    const record = proposals.get(order[index] as string);
    if (record !== undefined && record.status !== 'released') result.push(structuredClone(record));
  }
  return result;
}

export function unconfirmedOf(order: readonly string[], proposals: ReadonlyMap<string, ProposalRecord>): ProposalRecord[] {
  return order
    .map((id) => proposals.get(id))
    .filter((record): record is ProposalRecord => record?.status === 'pending')
    .map((record) => structuredClone(record));
}
