import { Type, type Static } from '@sinclair/typebox';
import { AmountCents, BalanceCents, Text, Timestamp, Uuid } from './common';
import { DurationDays, GrantCents, PersonName, Title } from './agency';

export const OpenAccountRequest = Type.Object(
  {
    proposalId: Uuid,
    title: Title,
    investigator: PersonName,
    // Only what the agency may grant (defence in depth: the agency checks it first).
    amountCents: GrantCents,
    durationDays: DurationDays,
  },
  { additionalProperties: false },
);
export type OpenAccountRequest = Static<typeof OpenAccountRequest>;

export const OpenAccountResponse = Type.Object(
  { accountId: Uuid, ownerKey: Type.String() },
  { additionalProperties: false },
);
export type OpenAccountResponse = Static<typeof OpenAccountResponse>;

export const AccountParams = Type.Object({ accountId: Uuid });
export type AccountParams = Static<typeof AccountParams>;

export const ResearcherParams = Type.Object({ accountId: Uuid, researcherId: Uuid });
export type ResearcherParams = Static<typeof ResearcherParams>;

export const ResearcherRole = Type.Union([Type.Literal('owner'), Type.Literal('member')]);
export type ResearcherRole = Static<typeof ResearcherRole>;

export const Researcher = Type.Object(
  { researcherId: Uuid, name: Type.String(), role: ResearcherRole },
  { additionalProperties: false },
);
export type Researcher = Static<typeof Researcher>;

export const AccountStatus = Type.Union([
  Type.Literal('active'),
  Type.Literal('expired'),
  Type.Literal('depleted'),
]);
export type AccountStatus = Static<typeof AccountStatus>;

export const AccountView = Type.Object(
  {
    accountId: Uuid,
    title: Type.String(),
    investigator: Type.String(),
    researchers: Type.Array(Researcher),
    initialCents: BalanceCents,
    balanceCents: BalanceCents,
    durationDays: Type.Integer(),
    daysRemaining: Type.Integer({ minimum: 0 }),
    createdAt: Timestamp,
    expiresAt: Timestamp,
    status: AccountStatus,
    /** Set once the account has closed: what went back to the agency, and when. */
    returnedCents: Type.Optional(BalanceCents),
    closedAt: Type.Optional(Timestamp),
  },
  { additionalProperties: false },
);
export type AccountView = Static<typeof AccountView>;

export const AddResearcherRequest = Type.Object(
  { name: PersonName },
  { additionalProperties: false },
);
export type AddResearcherRequest = Static<typeof AddResearcherRequest>;

export const AddResearcherResponse = Type.Object(
  { researcherId: Uuid, key: Type.String() },
  { additionalProperties: false },
);
export type AddResearcherResponse = Static<typeof AddResearcherResponse>;

export const WithdrawalRequest = Type.Object(
  {
    amountCents: AmountCents,
    note: Type.Optional(Text({ maxLength: 500 })),
  },
  { additionalProperties: false },
);
export type WithdrawalRequest = Static<typeof WithdrawalRequest>;

export const WithdrawalResponse = Type.Object(
  { withdrawalId: Uuid, amountCents: AmountCents, balanceCents: BalanceCents },
  { additionalProperties: false },
);
export type WithdrawalResponse = Static<typeof WithdrawalResponse>;

export const TransactionType = Type.Union([Type.Literal('deposit'), Type.Literal('withdrawal')]);
export type TransactionType = Static<typeof TransactionType>;

export const Transaction = Type.Object(
  {
    id: Uuid,
    type: TransactionType,
    amountCents: AmountCents,
    researcherId: Uuid,
    at: Timestamp,
    balanceAfterCents: BalanceCents,
  },
  { additionalProperties: false },
);
export type Transaction = Static<typeof Transaction>;

/** Cursors are opaque to clients: pass `next` back as `after` for the following page. */
export const TransactionsCursor = Type.String({ minLength: 1, maxLength: 64 });

export const MAX_TRANSACTIONS_PAGE = 1000;
export const DEFAULT_TRANSACTIONS_PAGE = 100;

export const TransactionsQuery = Type.Object(
  {
    // A query string is text and services do not coerce types: the pattern is exactly 1 to 1000.
    limit: Type.Optional(
      Type.String({
        pattern: '^(1000|[1-9][0-9]{0,2})$',
        description: `Page size, 1 to ${MAX_TRANSACTIONS_PAGE} (default ${DEFAULT_TRANSACTIONS_PAGE}).`,
      }),
    ),
    after: Type.Optional(TransactionsCursor),
  },
  { additionalProperties: false },
);
export type TransactionsQuery = Static<typeof TransactionsQuery>;

export const TransactionsResponse = Type.Object(
  {
    transactions: Type.Array(Transaction),
    /** The cursor of the following page; null on the last page. */
    next: Type.Union([TransactionsCursor, Type.Null()]),
  },
  { additionalProperties: false },
);
export type TransactionsResponse = Static<typeof TransactionsResponse>;
