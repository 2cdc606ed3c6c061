import { Type, type Static } from '@sinclair/typebox';
import { AmountCents, Uuid } from './common';

/** The range the agency funds, inclusive: 300,000 to 500,000 euro. */
export const MIN_GRANT_CENTS = 30_000_000;
export const MAX_GRANT_CENTS = 50_000_000;
export const MAX_DURATION_DAYS = 3650;

const Title = Type.String({ minLength: 1, maxLength: 200 });
const PersonName = Type.String({ minLength: 1, maxLength: 120 });
export const DurationDays = Type.Integer({ minimum: 1, maximum: MAX_DURATION_DAYS });

export const ProposalRequest = Type.Object(
  {
    title: Title,
    investigator: PersonName,
    amountCents: AmountCents,
    durationDays: DurationDays,
  },
  { additionalProperties: false },
);
export type ProposalRequest = Static<typeof ProposalRequest>;

export const AcceptedProposal = Type.Object(
  {
    proposalId: Uuid,
    status: Type.Literal('accepted'),
    accountId: Uuid,
    ownerKey: Type.String(),
    dcuUrl: Type.String(),
  },
  { additionalProperties: false },
);
export type AcceptedProposal = Static<typeof AcceptedProposal>;

export const RejectedProposal = Type.Object(
  {
    proposalId: Uuid,
    status: Type.Literal('rejected'),
    reason: Type.String(),
  },
  { additionalProperties: false },
);
export type RejectedProposal = Static<typeof RejectedProposal>;

export const ProposalResponse = Type.Union([AcceptedProposal, RejectedProposal]);
export type ProposalResponse = Static<typeof ProposalResponse>;

export { Title, PersonName };
