import { Type, type Static } from '@sinclair/typebox';
import { AmountCents, BalanceCents, Text, Timestamp, Uuid } from './common';

/** The range the agency funds, inclusive: 300,000 to 500,000 euro. */
export const MIN_GRANT_CENTS = 30_000_000;
export const MAX_GRANT_CENTS = 50_000_000;
export const MAX_DURATION_DAYS = 3650;

const Title = Text({ minLength: 1, maxLength: 200 });
const PersonName = Text({ minLength: 1, maxLength: 120 });
export const DurationDays = Type.Integer({ minimum: 1, maximum: MAX_DURATION_DAYS });

/**
 * An amount the agency may grant. The DCU opens accounts only within it, so even a stolen
 * SERVICE_TOKEN cannot open an account for more than the agency would ever fund.
 */
export const GrantCents = Type.Integer({
  minimum: MIN_GRANT_CENTS,
  maximum: MAX_GRANT_CENTS,
  description: `What the agency may grant: ${MIN_GRANT_CENTS} to ${MAX_GRANT_CENTS} cents.`,
});

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

/** `GET /proposals/:proposalId`. */
export const ProposalParams = Type.Object({ proposalId: Uuid }, { additionalProperties: false });
export type ProposalParams = Static<typeof ProposalParams>;

export const ProposalStatus = Type.Union([
  Type.Literal('accepted'),
  Type.Literal('rejected'),
  Type.Literal('closed'),
]);
export type ProposalStatus = Static<typeof ProposalStatus>;

/**
 * A decision on record, as anyone may read it: never a key. `accountId` is absent while an
 * accepted proposal's account is still being opened; `returnedCents` appears once it is closed.
 */
export const ProposalView = Type.Object(
  {
    proposalId: Uuid,
    title: Type.String(),
    investigator: Type.String(),
    amountCents: AmountCents,
    durationDays: Type.Integer(),
    status: ProposalStatus,
    reason: Type.Optional(Type.String()),
    accountId: Type.Optional(Uuid),
    decidedAt: Timestamp,
    returnedCents: Type.Optional(BalanceCents),
  },
  { additionalProperties: false },
);
export type ProposalView = Static<typeof ProposalView>;

/**
 * `GET /budget`. null totals mean an unlimited budget. `availableCents` is
 * `totalCents - committedCents + returnedCents`; closed proposals stay in `committedCents`.
 */
export const BudgetView = Type.Object(
  {
    totalCents: Type.Union([BalanceCents, Type.Null()]),
    committedCents: Type.Integer({ minimum: 0 }),
    returnedCents: Type.Integer({ minimum: 0 }),
    availableCents: Type.Union([Type.Integer(), Type.Null()]),
  },
  { additionalProperties: false },
);
export type BudgetView = Static<typeof BudgetView>;

/**
 * `POST /closeouts` (the DCU, with `Authorization: Bearer SERVICE_TOKEN`): the account of a
 * funded proposal has ended and `returnedCents` of its grant were not spent. Repeat it until
 * acknowledged: 201 the first time, 200 for a repeat of the same closeout; the money is
 * counted once. 404 for an unknown proposal; 409 when the account is not the proposal's, the
 * proposal was never funded, or it was already closed with another amount; 422 when
 * `returnedCents` exceeds the grant. Nothing changes on an error.
 */
export const CloseoutRequest = Type.Object(
  {
    proposalId: Uuid,
    accountId: Uuid,
    returnedCents: Type.Integer({ minimum: 0, maximum: MAX_GRANT_CENTS }),
  },
  { additionalProperties: false },
);
export type CloseoutRequest = Static<typeof CloseoutRequest>;

/** The answer to a closeout, first time or repeat: what the agency has on record. */
export const CloseoutReceipt = Type.Object(
  {
    proposalId: Uuid,
    accountId: Uuid,
    returnedCents: BalanceCents,
    closedAt: Timestamp,
  },
  { additionalProperties: false },
);
export type CloseoutReceipt = Static<typeof CloseoutReceipt>;

/** What the agency's live page at `/` polls: the budget and the newest decisions, newest first. */
export const AgencyDashboardState = Type.Object(
  {
    now: Timestamp,
    budget: BudgetView,
    latest: Type.Array(ProposalView),
  },
  { additionalProperties: false },
);
export type AgencyDashboardState = Static<typeof AgencyDashboardState>;
