import { randomUUID } from 'node:crypto';
import { formatEuro, MAX_GRANT_CENTS, MIN_GRANT_CENTS } from '@grantline/contracts';
import { uuidV5 } from '@grantline/service-kit';

/**
 * The namespace of proposal ids derived from an Idempotency-Key. Fixed forever: changing it
 * would let a retry made across the change open a second account.
 */
export const PROPOSAL_ID_NAMESPACE = 'bbf6dc8f-cdbb-431a-80fb-aa6e79684e5a';

/**
 * The same Idempotency-Key gives the same proposalId on every agency instance, so the DCU
 * can recognise a repeat; without a key every proposal is new.
 */
export function proposalIdFor(idempotencyKey: string | undefined): string {
  return idempotencyKey === undefined ? randomUUID() : uuidV5(idempotencyKey, PROPOSAL_ID_NAMESPACE);
}

export type FundingDecision = { funded: true } | { funded: false; reason: string };

/** The agency funds 300,000 to 500,000 euro, both bounds included. */
export function fundingDecision(amountCents: number): FundingDecision {
  if (amountCents >= MIN_GRANT_CENTS && amountCents <= MAX_GRANT_CENTS) return { funded: true };
  const side = amountCents < MIN_GRANT_CENTS ? 'below' : 'above';
  return {
    funded: false,
    reason:
      `The agency funds proposals from ${formatEuro(MIN_GRANT_CENTS)} to ${formatEuro(MAX_GRANT_CENTS)}; ` +
      `this one asks for ${formatEuro(amountCents)}, ${side} that range, so no account was opened.`,
  };
}
