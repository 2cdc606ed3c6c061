import type { Migration } from '@grantline/postgres';

/**
 * The DCU's tables. They hold the money rules' invariants themselves, so a wrong state is
 * refused by the database even if a faulty instance tried to write one: a balance never
 * below zero nor above the grant, one account per proposal, one withdrawal per (account,
 * Idempotency-Key), withdrawals numbered 1, 2, 3... per account with no gap or twin, a
 * closed account returning exactly its balance. Idempotency keys are kept only as SHA-256
 * digests, researcher keys only as digests of the key.
 */
export const DCU_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'accounts, researchers, withdrawals',
    sql: `
      CREATE TABLE dcu_accounts (
        account_id uuid PRIMARY KEY,
        proposal_id uuid NOT NULL UNIQUE,
        title text NOT NULL,
        investigator text NOT NULL,
        owner_id uuid NOT NULL,
        initial_cents bigint NOT NULL CHECK (initial_cents > 0),
        balance_cents bigint NOT NULL,
        duration_days integer NOT NULL CHECK (duration_days > 0),
        day_ms bigint NOT NULL CHECK (day_ms > 0),
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        withdrawal_count integer NOT NULL DEFAULT 0 CHECK (withdrawal_count >= 0),
        closed_reason text CHECK (closed_reason IN ('expired', 'depleted')),
        returned_cents bigint,
        closed_at timestamptz,
        closeout_acknowledged boolean NOT NULL DEFAULT false,
        -- Grows with every change of the account, its researchers or its withdrawals.
        version bigint NOT NULL DEFAULT 0,
        CHECK (balance_cents >= 0 AND balance_cents <= initial_cents),
        CHECK (expires_at > created_at),
        CHECK ((closed_reason IS NULL) = (returned_cents IS NULL) AND (closed_reason IS NULL) = (closed_at IS NULL)),
        CHECK (returned_cents IS NULL OR returned_cents = balance_cents),
        CHECK (closed_reason IS NOT NULL OR NOT closeout_acknowledged)
      );
      -- The closer's two questions, cheap whatever the number of accounts.
      CREATE INDEX dcu_accounts_running_by_expiry ON dcu_accounts (expires_at) WHERE closed_reason IS NULL;
      CREATE INDEX dcu_accounts_closeout_due ON dcu_accounts (closed_at)
        WHERE closed_reason IS NOT NULL AND NOT closeout_acknowledged;

      CREATE TABLE dcu_researchers (
        account_id uuid NOT NULL REFERENCES dcu_accounts,
        researcher_id uuid NOT NULL,
        -- Order of joining, as the account lists its researchers.
        position integer NOT NULL,
        name text NOT NULL,
        role text NOT NULL CHECK (role IN ('owner', 'member')),
        key_digest bytea NOT NULL,
        added_at timestamptz NOT NULL,
        removed_at timestamptz,
        PRIMARY KEY (account_id, researcher_id),
        UNIQUE (account_id, position),
        CHECK (role = 'member' OR removed_at IS NULL)
      );
      CREATE UNIQUE INDEX dcu_researchers_one_owner ON dcu_researchers (account_id) WHERE role = 'owner';
      CREATE INDEX dcu_researchers_by_key ON dcu_researchers (key_digest);

      CREATE TABLE dcu_withdrawals (
        account_id uuid NOT NULL REFERENCES dcu_accounts,
        seq integer NOT NULL CHECK (seq > 0),
        withdrawal_id uuid NOT NULL UNIQUE,
        idempotency_key_hash bytea NOT NULL,
        researcher_id uuid NOT NULL,
        amount_cents bigint NOT NULL CHECK (amount_cents > 0),
        balance_after_cents bigint NOT NULL CHECK (balance_after_cents >= 0),
        note text,
        at timestamptz NOT NULL,
        PRIMARY KEY (account_id, seq),
        UNIQUE (account_id, idempotency_key_hash)
      );
    `,
  },
];
