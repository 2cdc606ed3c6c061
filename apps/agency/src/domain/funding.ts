import { formatEuro, type ProposalRequest } from '@grantline/contracts';
import { accountIdFor } from '@grantline/service-kit';
import { fundingDecision } from './proposal';

/**
 * The agency as funder of record, as a pure state machine: `decide` a command against the
 * part of the state it touches (one proposal and the budget totals) into events or a refusal,
 * `evolve` that state by an event. No files, locks or clocks here (the command carries `now`),
 * so every store (files, PostgreSQL) runs the same rules and the model test runs them by the
 * thousand in memory.
 */

export type ProposalTerms = ProposalRequest;

/**
 * `pending`: accepted and its money reserved, but the DCU has not confirmed the account yet
 * (the agency finishes it by itself). `released`: a reservation given back because the DCU
 * said for certain that no account exists for it; as if never decided (a repeat re-decides).
 */
export type RecordStatus = 'pending' | 'accepted' | 'rejected' | 'closed' | 'released';

/** One proposal on record. Plain data; a store hands out copies, never its own objects. */
export interface ProposalRecord {
  proposalId: string;
  terms: ProposalTerms;
  status: RecordStatus;
  /** ISO time of the decision (of the reservation, for an accepted proposal). */
  decidedAt: string;
  /** Why it was rejected, or released. */
  reason?: string;
  accountId?: string;
  dcuUrl?: string;
  returnedCents?: number;
  closedAt?: string;
  /**
   * While pending: how many times an instance set out to open the account (1 for the
   * request that reserved it), who did last, and when. Only the first attempt may release
   * for "nothing reached a DCU": a later one cannot know what an earlier one did.
   */
  attempts?: number;
  owner?: string;
  lastAttemptAt?: string;
}

/**
 * `committedCents` is the sum of the amounts of pending, accepted and closed proposals;
 * `returnedCents` the sum of closeouts. The rule: committed - returned <= total.
 */
export interface BudgetTotals {
  committedCents: number;
  returnedCents: number;
}

/** What one command reads and changes. */
export interface Slice {
  proposal: ProposalRecord | undefined;
  budget: BudgetTotals;
}

export type AgencyEvent =
  | { type: 'rejected'; proposalId: string; terms: ProposalTerms; at: string; reason: string }
  | { type: 'reserved'; proposalId: string; terms: ProposalTerms; owner: string; at: string }
  | { type: 'claimed'; proposalId: string; owner: string; at: string }
  | { type: 'confirmed'; proposalId: string; accountId: string; dcuUrl?: string; at: string }
  | { type: 'released'; proposalId: string; at: string; reason: string }
  | { type: 'closed'; proposalId: string; accountId: string; returnedCents: number; at: string };

export type AgencyCommand =
  /** Decide a proposal: reject it, or reserve its amount while it fits. `totalCents` null: unlimited. */
  | { type: 'submit'; proposalId: string; terms: ProposalTerms; totalCents: number | null; owner: string; now: string }
  /** An instance sets out to open (again) the account of a pending proposal. */
  | { type: 'claim'; proposalId: string; owner: string; now: string }
  /** The DCU opened the account of a pending proposal. */
  | { type: 'confirm'; proposalId: string; accountId: string; dcuUrl?: string; now: string }
  /** The DCU said for certain no account exists for this pending proposal: give its money back. */
  | { type: 'release'; proposalId: string; attempt: number; reason: string; now: string }
  /** The DCU closed the account and hands back what it did not spend. */
  | { type: 'closeout'; proposalId: string; accountId: string; returnedCents: number; now: string };

export type RefusalReason =
  | 'key-reused'
  | 'proposal-not-found'
  | 'not-funded'
  | 'account-mismatch'
  | 'returned-exceeds-grant'
  | 'closeout-differs'
  | 'not-pending'
  | 'stale-attempt';

/** A command the rules refuse; nothing is persisted. Statuses live in one table (plugins/refusal-status). */
export class AgencyRefusal extends Error {
  override name = 'AgencyRefusal';
  constructor(
    readonly reason: RefusalReason,
    message: string,
  ) {
    super(message);
  }
}

/** `created`: events were produced; `repeat`: the command was already applied, nothing changes. */
export interface Decision {
  outcome: 'created' | 'repeat';
  events: AgencyEvent[];
}

export const EMPTY_BUDGET: BudgetTotals = { committedCents: 0, returnedCents: 0 };

/** Money still free to fund proposals; null when unlimited. */
export function availableCents(totalCents: number | null, budget: BudgetTotals): number | null {
  return totalCents === null ? null : totalCents - budget.committedCents + budget.returnedCents;
}

export function sameTerms(a: ProposalTerms, b: ProposalTerms): boolean {
  return (
    a.title === b.title &&
    a.investigator === b.investigator &&
    a.amountCents === b.amountCents &&
    a.durationDays === b.durationDays
  );
}

/** Pure: the events a command produces against `slice`, or an AgencyRefusal thrown. */
export function decide(slice: Slice, command: AgencyCommand): Decision {
  switch (command.type) {
    case 'submit':
      return decideSubmit(slice, command);
    case 'claim':
      if (slice.proposal?.status !== 'pending') {
        throw new AgencyRefusal('not-pending', `Proposal ${command.proposalId} has no unconfirmed reservation.`);
      }
      return { outcome: 'created', events: [{ type: 'claimed', proposalId: command.proposalId, owner: command.owner, at: command.now }] };
    case 'confirm':
      return decideConfirm(slice, command);
    case 'release':
      return decideRelease(slice, command);
    case 'closeout':
      return decideCloseout(slice, command);
  }
}

function decideSubmit(slice: Slice, command: Extract<AgencyCommand, { type: 'submit' }>): Decision {
  const { proposal } = slice;
  if (proposal !== undefined && proposal.status !== 'released') {
    if (!sameTerms(proposal.terms, command.terms)) {
      throw new AgencyRefusal(
        'key-reused',
        'This Idempotency-Key was already used for a different proposal (another title, investigator, ' +
          'amount or duration), so nothing was changed. Send the original proposal unchanged to get its ' +
          'decision again, or use a new key for a new proposal.',
      );
    }
    return { outcome: 'repeat', events: [] };
  }
  const { proposalId, terms, now: at } = command;
  const range = fundingDecision(terms.amountCents);
  if (!range.funded) return { outcome: 'created', events: [{ type: 'rejected', proposalId, terms, at, reason: range.reason }] };
  const available = availableCents(command.totalCents, slice.budget);
  if (available !== null && terms.amountCents > available) {
    const reason =
      `The agency's budget has ${formatEuro(Math.max(0, available))} left to commit; this proposal asks for ` +
      `${formatEuro(terms.amountCents)}, more than that, so it was not funded and no account was opened.`;
    return { outcome: 'created', events: [{ type: 'rejected', proposalId, terms, at, reason }] };
  }
  return { outcome: 'created', events: [{ type: 'reserved', proposalId, terms, owner: command.owner, at }] };
}

function decideConfirm(slice: Slice, command: Extract<AgencyCommand, { type: 'confirm' }>): Decision {
  const proposal = slice.proposal;
  if (proposal === undefined || proposal.status === 'released' || proposal.status === 'rejected') {
    throw new AgencyRefusal('not-pending', `Proposal ${command.proposalId} has no reservation to confirm.`);
  }
  if (proposal.status === 'pending') {
    const { proposalId, accountId, dcuUrl, now: at } = command;
    return { outcome: 'created', events: [{ type: 'confirmed', proposalId, accountId, ...(dcuUrl === undefined ? {} : { dcuUrl }), at }] };
  }
  if (proposal.accountId !== command.accountId) throw accountMismatch(proposal, command.accountId);
  return { outcome: 'repeat', events: [] };
}

function decideRelease(slice: Slice, command: Extract<AgencyCommand, { type: 'release' }>): Decision {
  if (slice.proposal?.status !== 'pending') {
    throw new AgencyRefusal('not-pending', `Proposal ${command.proposalId} has no unconfirmed reservation to release.`);
  }
  if (slice.proposal.attempts !== command.attempt) {
    throw new AgencyRefusal('stale-attempt', `Another attempt to open the account of proposal ${command.proposalId} began since; it is not released.`);
  }
  return {
    outcome: 'created',
    events: [{ type: 'released', proposalId: command.proposalId, at: command.now, reason: command.reason }],
  };
}

function decideCloseout(slice: Slice, command: Extract<AgencyCommand, { type: 'closeout' }>): Decision {
  const { proposal } = slice;
  const { proposalId, accountId, returnedCents, now: at } = command;
  if (proposal === undefined || proposal.status === 'released') {
    throw new AgencyRefusal('proposal-not-found', `The agency has no proposal ${proposalId}; nothing was changed.`);
  }
  if (proposal.status === 'rejected') {
    throw new AgencyRefusal('not-funded', `Proposal ${proposalId} was rejected and has no account to close; nothing was changed.`);
  }
  // Before its confirmation is on record, the account can only be the one derived from the proposal.
  if ((proposal.accountId ?? accountIdFor(proposalId)) !== accountId) throw accountMismatch(proposal, accountId);
  if (returnedCents > proposal.terms.amountCents) {
    throw new AgencyRefusal(
      'returned-exceeds-grant',
      `A closeout cannot return ${formatEuro(returnedCents)}: the grant of proposal ${proposalId} was ` +
        `${formatEuro(proposal.terms.amountCents)}; nothing was changed.`,
    );
  }
  if (proposal.status === 'closed') {
    if (proposal.returnedCents !== returnedCents) {
      throw new AgencyRefusal(
        'closeout-differs',
        `Proposal ${proposalId} was already closed with ${formatEuro(proposal.returnedCents ?? 0)} returned, ` +
          `not ${formatEuro(returnedCents)}; nothing was changed.`,
      );
    }
    return { outcome: 'repeat', events: [] };
  }
  const closed: AgencyEvent = { type: 'closed', proposalId, accountId, returnedCents, at };
  // A closeout proves the account exists: it confirms a reservation the agency had not confirmed yet.
  if (proposal.status === 'pending') {
    return { outcome: 'created', events: [{ type: 'confirmed', proposalId, accountId, at }, closed] };
  }
  return { outcome: 'created', events: [closed] };
}

function accountMismatch(proposal: ProposalRecord, accountId: string): AgencyRefusal {
  return new AgencyRefusal(
    'account-mismatch',
    `Account ${accountId} is not the account of proposal ${proposal.proposalId}; nothing was changed.`,
  );
}

/** Pure: the state after `event`. */
export function evolve(slice: Slice, event: AgencyEvent): Slice {
  const { proposal, budget } = slice;
  switch (event.type) {
    case 'rejected':
      return {
        budget,
        proposal: { proposalId: event.proposalId, terms: event.terms, status: 'rejected', decidedAt: event.at, reason: event.reason },
      };
    case 'reserved':
      return {
        budget: { ...budget, committedCents: budget.committedCents + event.terms.amountCents },
        proposal: {
          proposalId: event.proposalId,
          terms: event.terms,
          status: 'pending',
          decidedAt: event.at,
          attempts: 1,
          owner: event.owner,
          lastAttemptAt: event.at,
        },
      };
    case 'claimed': {
      const claimed = required(proposal, event);
      return {
        budget,
        proposal: { ...claimed, attempts: (claimed.attempts ?? 1) + 1, owner: event.owner, lastAttemptAt: event.at },
      };
    }
    case 'confirmed':
      return {
        budget,
        proposal: {
          ...required(proposal, event),
          status: 'accepted',
          accountId: event.accountId,
          ...(event.dcuUrl === undefined ? {} : { dcuUrl: event.dcuUrl }),
        },
      };
    case 'released': {
      const released = required(proposal, event);
      return {
        budget: { ...budget, committedCents: budget.committedCents - released.terms.amountCents },
        proposal: { ...released, status: 'released', reason: event.reason },
      };
    }
    case 'closed':
      return {
        budget: { ...budget, returnedCents: budget.returnedCents + event.returnedCents },
        proposal: {
          ...required(proposal, event),
          status: 'closed',
          accountId: event.accountId,
          returnedCents: event.returnedCents,
          closedAt: event.at,
        },
      };
  }
}

function required(proposal: ProposalRecord | undefined, event: AgencyEvent): ProposalRecord {
  if (proposal === undefined || proposal.proposalId !== event.proposalId) {
    throw new Error(`event ${event.type} for ${event.proposalId} has no proposal to apply to`);
  }
  return proposal;
}

/** decide, then evolve: the state after a command and what happened. Refusals are thrown. */
export function apply(slice: Slice, command: AgencyCommand): { slice: Slice; decision: Decision } {
  const decision = decide(slice, command);
  return { slice: decision.events.reduce(evolve, slice), decision };
}
