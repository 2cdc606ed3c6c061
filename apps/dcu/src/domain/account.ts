/**
 * The DCU's money rules as a pure state machine (TigerBeetle's split): `decide` turns a command
 * into events or a refusal, `evolve` folds one event into the state. Nothing here knows files,
 * locks, HTTP or the wall clock: the time and new ids come in through `DecisionContext`, so every
 * rule exists once and is property-tested in memory (test/account.property.test.ts). A store
 * orders, persists and replays the events; the events are exactly what a ledger holds.
 */

export const MAX_RESEARCHERS_PER_ACCOUNT = 100;

// ---------------------------------------------------------------------------------------------
// Events: what happened to an account, in the order it happened. A ledger is a list of them.

export interface OpenedEvent {
  type: 'opened';
  accountId: string;
  proposalId: string;
  title: string;
  investigator: string;
  ownerId: string;
  initialCents: number;
  durationDays: number;
  /** The length of a day when the account was opened; its days keep that length. */
  dayMs: number;
  createdAt: string;
  expiresAt: string;
}

export interface ResearcherAddedEvent {
  type: 'researcher-added';
  researcherId: string;
  name: string;
  at: string;
}

export interface ResearcherRemovedEvent {
  type: 'researcher-removed';
  researcherId: string;
  at: string;
}

export interface WithdrawalEvent {
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

/** The account ended (expired, or its balance reached zero); `returnedCents` goes back to the agency. */
export interface ClosedEvent {
  type: 'closed';
  returnedCents: number;
  closedAt: string;
  reason: 'expired' | 'depleted';
}

/** The funding agency confirmed it counted the returned money: nothing more to send. */
export interface CloseoutAcknowledgedEvent {
  type: 'closeout-acknowledged';
  at: string;
}

export type AccountEvent =
  | OpenedEvent
  | ResearcherAddedEvent
  | ResearcherRemovedEvent
  | WithdrawalEvent
  | ClosedEvent
  | CloseoutAcknowledgedEvent;

// ---------------------------------------------------------------------------------------------
// State: the fold of the events. Treated as immutable: `evolve` returns a new object and shares
// what did not change (a withdrawal copies a few numbers, never the researchers).

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
  ownerId: string;
  initialCents: number;
  balanceCents: number;
  durationDays: number;
  dayMs: number;
  createdAtMs: number;
  expiresAtMs: number;
  /** The same two instants as the ledger writes them (ISO 8601), kept to answer reads. */
  createdAt: string;
  expiresAt: string;
  /** Current researchers in the order they joined; removed ones are gone. */
  researchers: ReadonlyMap<string, Member>;
  /** Every researcher id ever used, so a removed id is never handed out again. */
  everAdded: ReadonlySet<string>;
  withdrawalCount: number;
  closed: { returnedCents: number; closedAt: string; reason: 'expired' | 'depleted' } | undefined;
  closeoutAcknowledged: boolean;
}

/** An event that cannot follow from the state: the ledger holding it is damaged. */
export class LedgerCorruptError extends Error {
  override name = 'LedgerCorruptError';
}

export function initialState(event: OpenedEvent): AccountState {
  const owner: Member = { researcherId: event.ownerId, name: event.investigator, role: 'owner' };
  return {
    accountId: event.accountId,
    proposalId: event.proposalId,
    title: event.title,
    investigator: event.investigator,
    ownerId: event.ownerId,
    initialCents: event.initialCents,
    balanceCents: event.initialCents,
    durationDays: event.durationDays,
    dayMs: event.dayMs,
    createdAtMs: Date.parse(event.createdAt),
    expiresAtMs: Date.parse(event.expiresAt),
    createdAt: event.createdAt,
    expiresAt: event.expiresAt,
    researchers: new Map([[owner.researcherId, owner]]),
    everAdded: new Set([owner.researcherId]),
    withdrawalCount: 0,
    closed: undefined,
    closeoutAcknowledged: false,
  };
}

/**
 * A shallow copy of the state, written out field by field: every withdrawal is folded twice (in
 * the batch's decision, then by the store), and `{ ...state }` of this many fields costs over ten
 * times as much. A field added to AccountState that is missing here fails to compile.
 */
function copyOf(state: AccountState): AccountState {
  return {
    accountId: state.accountId,
    proposalId: state.proposalId,
    title: state.title,
    investigator: state.investigator,
    ownerId: state.ownerId,
    initialCents: state.initialCents,
    balanceCents: state.balanceCents,
    durationDays: state.durationDays,
    dayMs: state.dayMs,
    createdAtMs: state.createdAtMs,
    expiresAtMs: state.expiresAtMs,
    createdAt: state.createdAt,
    expiresAt: state.expiresAt,
    researchers: state.researchers,
    everAdded: state.everAdded,
    withdrawalCount: state.withdrawalCount,
    closed: state.closed,
    closeoutAcknowledged: state.closeoutAcknowledged,
  };
}

/** The state after `event`. Throws LedgerCorruptError for an event that cannot have happened. */
export function evolve(state: AccountState | undefined, event: AccountEvent): AccountState {
  if (state === undefined) {
    if (event.type !== 'opened') throw new LedgerCorruptError(`a ledger must start with "opened", not "${event.type}"`);
    return initialState(event);
  }
  switch (event.type) {
    case 'opened':
      throw new LedgerCorruptError(`account ${state.accountId} is opened twice in its ledger`);
    case 'researcher-added': {
      const researchers = new Map(state.researchers);
      researchers.set(event.researcherId, { researcherId: event.researcherId, name: event.name, role: 'member' });
      return { ...state, researchers, everAdded: new Set(state.everAdded).add(event.researcherId) };
    }
    case 'researcher-removed': {
      const researchers = new Map(state.researchers);
      researchers.delete(event.researcherId);
      return { ...state, researchers };
    }
    case 'withdrawal': {
      const expected = state.balanceCents - event.amountCents;
      if (state.closed || event.amountCents <= 0 || expected < 0 || expected !== event.balanceAfterCents) {
        throw new LedgerCorruptError(`withdrawal ${event.id} of account ${state.accountId} does not follow from the balance`);
      }
      const next = copyOf(state);
      next.balanceCents = expected;
      next.withdrawalCount = state.withdrawalCount + 1;
      return next;
    }
    case 'closed':
      if (state.closed || event.returnedCents !== state.balanceCents) {
        throw new LedgerCorruptError(`account ${state.accountId} is closed twice or with the wrong amount`);
      }
      return { ...state, closed: { returnedCents: event.returnedCents, closedAt: event.closedAt, reason: event.reason } };
    case 'closeout-acknowledged':
      if (!state.closed) throw new LedgerCorruptError(`account ${state.accountId}: closeout acknowledged before it closed`);
      return { ...state, closeoutAcknowledged: true };
  }
}

// ---------------------------------------------------------------------------------------------
// Commands and decisions.

export interface AccountTerms {
  proposalId: string;
  title: string;
  investigator: string;
  amountCents: number;
  durationDays: number;
}

export type AccountCommand =
  | { type: 'open'; accountId: string; ownerId: string; terms: AccountTerms; dayMs: number }
  | { type: 'add-researcher'; actorId: string; researcherId: string; name: string }
  | { type: 'remove-researcher'; actorId: string; researcherId: string }
  | { type: 'withdraw'; actorId: string; amountCents: number; note?: string | undefined; idempotencyKey: string }
  | { type: 'close' }
  | { type: 'acknowledge-closeout' };

export type RefusalReason =
  | 'not-found'
  | 'terms-differ'
  | 'expired'
  | 'insufficient-funds'
  | 'key-reused'
  | 'too-many-researchers'
  | 'researcher-removed'
  | 'owner-only'
  | 'owner-not-removable'
  | 'researcher-not-found'
  | 'key-revoked'
  | 'not-ended'
  | 'not-closed';

export interface Refusal {
  refused: RefusalReason;
  message: string;
}

/** What a command did: the events to persist and what to answer (also for a replay, with no events). */
export type Answer =
  | { type: 'opened'; created: boolean }
  | { type: 'researcher-added'; researcherId: string; created: boolean }
  | { type: 'researcher-removed' }
  | { type: 'withdrawal'; withdrawal: WithdrawalEvent; replayed: boolean }
  | { type: 'closed'; returnedCents: number; created: boolean }
  | { type: 'closeout-acknowledged' };

export interface Accepted {
  events: AccountEvent[];
  answer: Answer;
}

export type Decision = Accepted | Refusal;

export interface DecisionContext {
  /** The one clock, in milliseconds since the epoch. */
  nowMs: number;
  /** A fresh unique id (a UUID in production). */
  newId(): string;
  /** The withdrawal the account already holds for this Idempotency-Key, if any. */
  priorWithdrawal(idempotencyKey: string): WithdrawalEvent | undefined;
}

export const isRefusal = (decision: Decision): decision is Refusal => 'refused' in decision;

const refuse = (refused: RefusalReason, message: string): Refusal => ({ refused, message });

let lastIsoMs = Number.NaN;
let lastIso = '';

/** `new Date(ms).toISOString()`, remembered for the last instant: a batch decides every command at one `nowMs`. */
function isoTime(ms: number): string {
  if (ms !== lastIsoMs) {
    lastIso = new Date(ms).toISOString();
    lastIsoMs = ms;
  }
  return lastIso;
}

export function expiresAtMs(createdAtMs: number, durationDays: number, dayMs: number): number {
  return createdAtMs + durationDays * dayMs;
}

export function isExpired(state: Pick<AccountState, 'expiresAtMs'>, nowMs: number): boolean {
  return nowMs >= state.expiresAtMs;
}

/** Has the account ended (so it should close)? */
export function hasEnded(state: AccountState, nowMs: number): boolean {
  return isExpired(state, nowMs) || state.balanceCents === 0;
}

/** Decides one command against the state (undefined: no such account yet). */
export function decide(state: AccountState | undefined, command: AccountCommand, context: DecisionContext): Decision {
  if (command.type === 'open') return decideOpen(state, command, context);
  if (state === undefined) return refuse('not-found', 'There is no such account.');
  switch (command.type) {
    case 'add-researcher':
      return decideAddResearcher(state, command, context);
    case 'remove-researcher':
      return decideRemoveResearcher(state, command, context);
    case 'withdraw':
      return decideWithdrawal(state, command, context);
    case 'close':
      return decideClose(state, context);
    case 'acknowledge-closeout':
      if (!state.closed) return refuse('not-closed', `Account ${state.accountId} has not closed.`);
      if (state.closeoutAcknowledged) return { events: [], answer: { type: 'closeout-acknowledged' } };
      return {
        events: [{ type: 'closeout-acknowledged', at: new Date(context.nowMs).toISOString() }],
        answer: { type: 'closeout-acknowledged' },
      };
  }
}

function decideOpen(
  state: AccountState | undefined,
  command: Extract<AccountCommand, { type: 'open' }>,
  context: DecisionContext,
): Decision {
  const { terms } = command;
  if (state) {
    const same =
      state.title === terms.title &&
      state.investigator === terms.investigator &&
      state.initialCents === terms.amountCents &&
      state.durationDays === terms.durationDays;
    return same
      ? { events: [], answer: { type: 'opened', created: false } }
      : refuse('terms-differ', `Proposal ${terms.proposalId} already has an account with different terms.`);
  }
  const opened: OpenedEvent = {
    type: 'opened',
    accountId: command.accountId,
    proposalId: terms.proposalId.toLowerCase(),
    title: terms.title,
    investigator: terms.investigator,
    ownerId: command.ownerId,
    initialCents: terms.amountCents,
    durationDays: terms.durationDays,
    dayMs: command.dayMs,
    createdAt: new Date(context.nowMs).toISOString(),
    expiresAt: new Date(expiresAtMs(context.nowMs, terms.durationDays, command.dayMs)).toISOString(),
  };
  return { events: [opened], answer: { type: 'opened', created: true } };
}

function actorRefusal(state: AccountState, actorId: string, ownerOnly: boolean): Refusal | undefined {
  const actor = state.researchers.get(actorId);
  if (!actor) return refuse('key-revoked', 'This key was revoked; it opens nothing any more.');
  if (ownerOnly && actor.role !== 'owner') return refuse('owner-only', 'Only the owner of the account may do this.');
  return undefined;
}

function decideAddResearcher(
  state: AccountState,
  command: Extract<AccountCommand, { type: 'add-researcher' }>,
  context: DecisionContext,
): Decision {
  const refusal = actorRefusal(state, command.actorId, true);
  if (refusal) return refusal;
  const current = state.researchers.get(command.researcherId);
  if (current) {
    return current.name === command.name && current.role === 'member'
      ? { events: [], answer: { type: 'researcher-added', researcherId: command.researcherId, created: false } }
      : refuse('key-reused', 'This Idempotency-Key already added a student with another name.');
  }
  if (state.everAdded.has(command.researcherId)) {
    return refuse('researcher-removed', 'The student added with this Idempotency-Key has been removed.');
  }
  if (state.researchers.size >= MAX_RESEARCHERS_PER_ACCOUNT) {
    return refuse('too-many-researchers', `An account has at most ${MAX_RESEARCHERS_PER_ACCOUNT} researchers; remove one first.`);
  }
  return {
    events: [
      { type: 'researcher-added', researcherId: command.researcherId, name: command.name, at: new Date(context.nowMs).toISOString() },
    ],
    answer: { type: 'researcher-added', researcherId: command.researcherId, created: true },
  };
}

function decideRemoveResearcher(
  state: AccountState,
  command: Extract<AccountCommand, { type: 'remove-researcher' }>,
  context: DecisionContext,
): Decision {
  const refusal = actorRefusal(state, command.actorId, true);
  if (refusal) return refusal;
  const member = state.researchers.get(command.researcherId);
  if (member?.role === 'owner') return refuse('owner-not-removable', 'The owner of an account cannot be removed.');
  if (!member) {
    // Already removed: DELETE is idempotent.
    if (state.everAdded.has(command.researcherId)) return { events: [], answer: { type: 'researcher-removed' } };
    return refuse('researcher-not-found', `Account ${state.accountId} has no researcher ${command.researcherId}.`);
  }
  return {
    events: [{ type: 'researcher-removed', researcherId: command.researcherId, at: new Date(context.nowMs).toISOString() }],
    answer: { type: 'researcher-removed' },
  };
}

function sameWithdrawal(prior: WithdrawalEvent, command: Extract<AccountCommand, { type: 'withdraw' }>): boolean {
  return (
    prior.researcherId === command.actorId &&
    prior.amountCents === command.amountCents &&
    (prior.note ?? undefined) === (command.note ?? undefined)
  );
}

/**
 * A withdrawal: from a current researcher; a repeat of an Idempotency-Key answers as the first
 * time (other body: refused); never after expiry; never below zero. The withdrawal that empties
 * the account closes it in the same step, so the close is as durable as the withdrawal.
 */
function decideWithdrawal(
  state: AccountState,
  command: Extract<AccountCommand, { type: 'withdraw' }>,
  context: DecisionContext,
): Decision {
  const refusal = actorRefusal(state, command.actorId, false);
  if (refusal) return refusal;
  const prior = context.priorWithdrawal(command.idempotencyKey);
  if (prior) {
    return sameWithdrawal(prior, command)
      ? { events: [], answer: { type: 'withdrawal', withdrawal: prior, replayed: true } }
      : refuse('key-reused', 'This Idempotency-Key was already used for a different withdrawal; use a new key.');
  }
  if (isExpired(state, context.nowMs) || state.closed?.reason === 'expired') {
    return refuse('expired', 'The account has expired; no more withdrawals.');
  }
  if (command.amountCents > state.balanceCents) {
    return refuse(
      'insufficient-funds',
      state.balanceCents === 0
        ? 'The account is empty; no more withdrawals.'
        : `Withdrawing ${command.amountCents} cents would overdraw the account (balance ${state.balanceCents} cents).`,
    );
  }
  const at = isoTime(context.nowMs);
  const withdrawal: WithdrawalEvent = {
    type: 'withdrawal',
    id: context.newId(),
    researcherId: command.actorId,
    amountCents: command.amountCents,
    balanceAfterCents: state.balanceCents - command.amountCents,
    at,
    idempotencyKey: command.idempotencyKey,
  };
  if (command.note !== undefined) withdrawal.note = command.note;
  const events: AccountEvent[] = [withdrawal];
  if (withdrawal.balanceAfterCents === 0) events.push({ type: 'closed', returnedCents: 0, closedAt: at, reason: 'depleted' });
  return { events, answer: { type: 'withdrawal', withdrawal, replayed: false } };
}

function decideClose(state: AccountState, context: DecisionContext): Decision {
  if (state.closed) return { events: [], answer: { type: 'closed', returnedCents: state.closed.returnedCents, created: false } };
  if (!hasEnded(state, context.nowMs)) return refuse('not-ended', `Account ${state.accountId} is still running.`);
  return {
    events: [
      {
        type: 'closed',
        returnedCents: state.balanceCents,
        closedAt: new Date(context.nowMs).toISOString(),
        reason: isExpired(state, context.nowMs) ? 'expired' : 'depleted',
      },
    ],
    answer: { type: 'closed', returnedCents: state.balanceCents, created: true },
  };
}

/** The outcome of a batch: the state after it, every event in order, and one decision per command. */
export interface BatchOutcome {
  state: AccountState | undefined;
  events: AccountEvent[];
  decisions: Decision[];
}

/**
 * A batch is a fold over its commands: each is decided against the state the ones before it
 * left, so a group commit obeys exactly the rules a single command does (a key used twice in
 * one batch is a replay the second time).
 */
export function decideBatch(
  state: AccountState | undefined,
  commands: readonly AccountCommand[],
  context: DecisionContext,
): BatchOutcome {
  const decidedKeys = new Map<string, WithdrawalEvent>();
  const batchContext: DecisionContext = {
    nowMs: context.nowMs,
    newId: () => context.newId(),
    priorWithdrawal: (key) => decidedKeys.get(key) ?? context.priorWithdrawal(key),
  };
  const events: AccountEvent[] = [];
  const decisions: Decision[] = [];
  let current = state;
  for (const command of commands) {
    const decision = decide(current, command, batchContext);
    decisions.push(decision);
    if (isRefusal(decision)) continue;
    for (const event of decision.events) {
      current = evolve(current, event);
      events.push(event);
      if (event.type === 'withdrawal') decidedKeys.set(event.idempotencyKey, event);
    }
  }
  return { state: current, events, decisions };
}

/** Replays a ledger: the state its events add up to. */
export function replay(events: Iterable<AccountEvent>, from?: AccountState): AccountState | undefined {
  let state = from;
  for (const event of events) state = evolve(state, event);
  return state;
}
