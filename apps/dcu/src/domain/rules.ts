import type { AccountStatus, AccountView } from '@grantline/contracts';
import type { AccountState } from './ledger';

/** Whole days left, counted up: any part of a day still open counts as one. */
export function daysRemaining(state: AccountState, nowMs: number): number {
  const leftMs = state.expiresAtMs - nowMs;
  return leftMs <= 0 ? 0 : Math.ceil(leftMs / state.dayMs);
}

export function isExpired(state: Pick<AccountState, 'expiresAtMs'>, nowMs: number): boolean {
  return nowMs >= state.expiresAtMs;
}

export function accountStatus(state: AccountState, nowMs: number): AccountStatus {
  if (isExpired(state, nowMs)) return 'expired';
  return state.balanceCents === 0 ? 'depleted' : 'active';
}

export type WithdrawalDecision =
  | { allowed: true; balanceAfterCents: number }
  | { allowed: false; reason: 'expired' | 'insufficient-funds' };

/** May `amountCents` leave the account now? The caller holds the account's lock. */
export function decideWithdrawal(
  state: Pick<AccountState, 'balanceCents' | 'expiresAtMs'>,
  amountCents: number,
  nowMs: number,
): WithdrawalDecision {
  if (isExpired(state, nowMs)) return { allowed: false, reason: 'expired' };
  if (amountCents > state.balanceCents) return { allowed: false, reason: 'insufficient-funds' };
  return { allowed: true, balanceAfterCents: state.balanceCents - amountCents };
}

export function expiresAtMs(createdAtMs: number, durationDays: number, dayMs: number): number {
  return createdAtMs + durationDays * dayMs;
}

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
  };
}
