import type { AccountStatus, AccountView, Transaction } from '@grantline/contracts';
import { isExpired, type AccountEvent, type AccountState } from './account';
import { depositIdFor } from './ids';

/** Whole days left, counted up: any part of a day still open counts as one. */
export function daysRemaining(state: AccountState, nowMs: number): number {
  const leftMs = state.expiresAtMs - nowMs;
  return leftMs <= 0 ? 0 : Math.ceil(leftMs / state.dayMs);
}

export function accountStatus(state: AccountState, nowMs: number): AccountStatus {
  if (isExpired(state, nowMs) || state.closed?.reason === 'expired') return 'expired';
  return state.balanceCents === 0 ? 'depleted' : 'active';
}

/** The account as GET /accounts/:id shows it (plain data, a copy). */
export function accountView(state: AccountState, nowMs: number): AccountView {
  return {
    accountId: state.accountId,
    title: state.title,
    investigator: state.investigator,
    researchers: [...state.researchers.values()].map((member) => ({ ...member })),
    initialCents: state.initialCents,
    balanceCents: state.balanceCents,
    durationDays: state.durationDays,
    daysRemaining: daysRemaining(state, nowMs),
    createdAt: state.createdAt,
    expiresAt: state.expiresAt,
    status: accountStatus(state, nowMs),
    ...(state.closed ? { returnedCents: state.closed.returnedCents, closedAt: state.closed.closedAt } : {}),
  };
}

interface SharedView {
  view: AccountView;
  /** What the view was made from, besides the state's identity (see `sharedAccountView`). */
  balanceCents: number;
  researchers: AccountState['researchers'];
  closed: AccountState['closed'];
}

const sharedViews = new WeakMap<AccountState, SharedView>();

/**
 * `accountView`, frozen and shared: while the account's state is the same object (`evolve`
 * makes a new one for every change) and its days remaining and status have not moved, every
 * read gets this same view. Reads are the hot path: building a fresh view, and serializing it
 * again, was a measurable share of a read's CPU, and a shared view lets the HTTP layer keep its
 * serialized answer (see routes/accounts.ts). Frozen, so no reader can change what the others
 * see. The balance, researchers and closing are compared too, so a state changed in place (which
 * `evolve` never does) would still not be answered from an old view.
 */
export function sharedAccountView(state: AccountState, nowMs: number): AccountView {
  const shared = sharedViews.get(state);
  if (
    shared !== undefined &&
    shared.balanceCents === state.balanceCents &&
    shared.researchers === state.researchers &&
    shared.closed === state.closed &&
    shared.view.daysRemaining === daysRemaining(state, nowMs) &&
    shared.view.status === accountStatus(state, nowMs)
  ) {
    return shared.view;
  }
  const view = accountView(state, nowMs);
  for (const researcher of view.researchers) Object.freeze(researcher);
  Object.freeze(view.researchers);
  Object.freeze(view);
  sharedViews.set(state, { view, balanceCents: state.balanceCents, researchers: state.researchers, closed: state.closed });
  return view;
}

/** The line of the account's history an event makes, if it moves money. */
export function transactionOf(accountId: string, event: AccountEvent): Transaction | undefined {
  if (event.type === 'opened') {
    return {
      id: depositIdFor(accountId),
      type: 'deposit',
      amountCents: event.initialCents,
      researcherId: event.ownerId,
      at: event.createdAt,
      balanceAfterCents: event.initialCents,
    };
  }
  if (event.type === 'withdrawal') {
    return {
      id: event.id,
      type: 'withdrawal',
      amountCents: event.amountCents,
      researcherId: event.researcherId,
      at: event.at,
      balanceAfterCents: event.balanceAfterCents,
    };
  }
  return undefined;
}
