import { Database, type Logger, type Migration, type Queryable } from '@grantline/postgres';
import {
  apply,
  type AgencyCommand,
  type BudgetTotals,
  type ProposalRecord,
  type RecordStatus,
} from '../domain/funding';
import type { AgencyStore, CommandResult } from './store';

/**
 * The agency's state in PostgreSQL, for any number of agency instances on any number of
 * hosts. The tables hold the rules' invariants themselves, so even a faulty instance cannot
 * write a wrong state: one budget row whose committed amount never exceeds its total, an
 * account given to one proposal only, a closeout that never returns more than the grant.
 */
export const AGENCY_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'proposals and the budget',
    sql: `
      CREATE TABLE agency_budget (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        -- The total in force when the last reservation was made (NULL: unlimited).
        total_cents bigint CHECK (total_cents >= 0),
        committed_cents bigint NOT NULL DEFAULT 0 CHECK (committed_cents >= 0),
        returned_cents bigint NOT NULL DEFAULT 0 CHECK (returned_cents >= 0),
        CHECK (returned_cents <= committed_cents),
        CHECK (total_cents IS NULL OR committed_cents - returned_cents <= total_cents)
      );
      INSERT INTO agency_budget DEFAULT VALUES;

      CREATE TABLE agency_proposals (
        proposal_id uuid PRIMARY KEY,
        -- Order of first decision, for the latest decisions and the recovery's work list.
        seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        title text NOT NULL,
        investigator text NOT NULL,
        amount_cents bigint NOT NULL CHECK (amount_cents > 0),
        duration_days integer NOT NULL CHECK (duration_days > 0),
        status text NOT NULL CHECK (status IN ('pending', 'accepted', 'rejected', 'closed', 'released')),
        decided_at timestamptz NOT NULL,
        reason text,
        account_id uuid UNIQUE,
        dcu_url text,
        returned_cents bigint CHECK (returned_cents >= 0 AND returned_cents <= amount_cents),
        closed_at timestamptz,
        CHECK ((status IN ('accepted', 'closed')) = (account_id IS NOT NULL)),
        CHECK ((status = 'closed') = (returned_cents IS NOT NULL AND closed_at IS NOT NULL))
      );
      CREATE INDEX agency_proposals_pending ON agency_proposals (seq) WHERE status = 'pending';
    `,
  },
  {
    version: 2,
    description: 'who is opening a pending account, how often it was tried, and when last',
    sql: `
      ALTER TABLE agency_proposals
        ADD COLUMN attempts integer CHECK (attempts > 0),
        ADD COLUMN owner text,
        ADD COLUMN last_attempt_at timestamptz;
    `,
  },
];

interface ProposalRow {
  proposal_id: string;
  title: string;
  investigator: string;
  amount_cents: string;
  duration_days: number;
  status: RecordStatus;
  decided_at: Date;
  reason: string | null;
  account_id: string | null;
  dcu_url: string | null;
  returned_cents: string | null;
  closed_at: Date | null;
  attempts: number | null;
  owner: string | null;
  last_attempt_at: Date | null;
}

interface BudgetRow {
  committed_cents: string;
  returned_cents: string;
}

const PROPOSAL_COLUMNS =
  'proposal_id, title, investigator, amount_cents, duration_days, status, decided_at, reason, account_id, dcu_url, returned_cents, closed_at, attempts, owner, last_attempt_at';

export interface PostgresAgencyStoreOptions {
  databaseUrl: string;
  logger?: Logger;
  maxConnections?: number;
}

export class PostgresAgencyStore implements AgencyStore {
  private constructor(private readonly database: Database) {}

  /** Connects (waiting a while for the database at start) and creates or upgrades the tables. */
  static async open(options: PostgresAgencyStoreOptions): Promise<PostgresAgencyStore> {
    const database = await Database.connect({
      connectionString: options.databaseUrl,
      applicationName: 'grantline-agency',
      maxConnections: options.maxConnections ?? 10,
      migrations: { component: 'agency', steps: AGENCY_MIGRATIONS },
      ...(options.logger ? { logger: options.logger } : {}),
    });
    return new PostgresAgencyStore(database);
  }

  /**
   * One transaction: lock the budget row when the command may move money (so two instances
   * can never both fit a proposal into the same remaining budget), lock the proposal, let the
   * pure rules decide, write the result. A refusal rolls back and passes through unchanged.
   */
  execute(command: AgencyCommand): Promise<CommandResult> {
    return this.database.transaction(async (tx) => {
      const movesMoney = command.type !== 'confirm' && command.type !== 'claim';
      const budget = movesMoney ? await readBudget(tx, true) : undefined;
      const before = await readProposal(tx, command.proposalId, true);
      const slice = { proposal: before, budget: budget ?? { committedCents: 0, returnedCents: 0 } };
      const { slice: after, decision } = apply(slice, command);
      const proposal = after.proposal;
      if (proposal === undefined) throw new Error('a command always leaves its proposal on record');
      if (decision.outcome === 'created') {
        await writeProposal(tx, proposal);
        if (budget !== undefined && !sameBudget(budget, after.budget)) {
          const reserved = decision.events.some((event) => event.type === 'reserved');
          await writeBudget(
            tx,
            after.budget,
            reserved && command.type === 'submit' ? command.totalCents : undefined,
          );
        }
      }
      return {
        outcome: decision.outcome,
        proposal,
        budget: budget ? after.budget : await readBudget(tx, false),
      };
    });
  }

  async proposal(proposalId: string): Promise<ProposalRecord | undefined> {
    return readProposal(this.database, proposalId, false);
  }

  async budget(): Promise<BudgetTotals> {
    return readBudget(this.database, false);
  }

  async latest(limit: number): Promise<ProposalRecord[]> {
    const { rows } = await this.database.query<ProposalRow>(
      `SELECT ${PROPOSAL_COLUMNS} FROM agency_proposals WHERE status <> 'released' ORDER BY seq DESC LIMIT $1`,
      [limit],
    );
    return rows.map(toRecord);
  }

  async unconfirmed(): Promise<ProposalRecord[]> {
    const { rows } = await this.database.query<ProposalRow>(
      `SELECT ${PROPOSAL_COLUMNS} FROM agency_proposals WHERE status = 'pending' ORDER BY seq`,
    );
    return rows.map(toRecord);
  }

  async close(): Promise<void> {
    await this.database.close();
  }
}

async function readBudget(db: Queryable, forUpdate: boolean): Promise<BudgetTotals> {
  const { rows } = await db.query<BudgetRow>(
    `SELECT committed_cents, returned_cents FROM agency_budget${forUpdate ? ' FOR UPDATE' : ''}`,
  );
  const row = rows[0];
  if (!row) throw new Error('the agency_budget row is missing; the migration makes it');
  return { committedCents: Number(row.committed_cents), returnedCents: Number(row.returned_cents) };
}

/** `totalCents`: written with a reservation, so the row's CHECK holds the total that decision used. */
async function writeBudget(
  db: Queryable,
  budget: BudgetTotals,
  totalCents: number | null | undefined,
): Promise<void> {
  if (totalCents === undefined) {
    await db.query('UPDATE agency_budget SET committed_cents = $1, returned_cents = $2', [
      budget.committedCents,
      budget.returnedCents,
    ]);
  } else {
    await db.query(
      'UPDATE agency_budget SET committed_cents = $1, returned_cents = $2, total_cents = $3',
      [budget.committedCents, budget.returnedCents, totalCents],
    );
  }
}

async function readProposal(
  db: Queryable,
  proposalId: string,
  forUpdate: boolean,
): Promise<ProposalRecord | undefined> {
  const { rows } = await db.query<ProposalRow>(
    `SELECT ${PROPOSAL_COLUMNS} FROM agency_proposals WHERE proposal_id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
    [proposalId],
  );
  return rows[0] ? toRecord(rows[0]) : undefined;
}

async function writeProposal(db: Queryable, record: ProposalRecord): Promise<void> {
  await db.query(
    `INSERT INTO agency_proposals (${PROPOSAL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
     ON CONFLICT (proposal_id) DO UPDATE SET
       title = EXCLUDED.title, investigator = EXCLUDED.investigator, amount_cents = EXCLUDED.amount_cents,
       duration_days = EXCLUDED.duration_days, status = EXCLUDED.status, decided_at = EXCLUDED.decided_at,
       reason = EXCLUDED.reason, account_id = EXCLUDED.account_id, dcu_url = EXCLUDED.dcu_url,
       returned_cents = EXCLUDED.returned_cents, closed_at = EXCLUDED.closed_at, attempts = EXCLUDED.attempts,
       owner = EXCLUDED.owner, last_attempt_at = EXCLUDED.last_attempt_at`,
    [
      record.proposalId,
      record.terms.title,
      record.terms.investigator,
      record.terms.amountCents,
      record.terms.durationDays,
      record.status,
      record.decidedAt,
      record.reason ?? null,
      record.accountId ?? null,
      record.dcuUrl ?? null,
      record.returnedCents ?? null,
      record.closedAt ?? null,
      record.attempts ?? null,
      record.owner ?? null,
      record.lastAttemptAt ?? null,
    ],
  );
}

function toRecord(row: ProposalRow): ProposalRecord {
  return {
    proposalId: row.proposal_id,
    terms: {
      title: row.title,
      investigator: row.investigator,
      amountCents: Number(row.amount_cents),
      durationDays: row.duration_days,
    },
    status: row.status,
    decidedAt: row.decided_at.toISOString(),
    ...(row.reason === null ? {} : { reason: row.reason }),
    ...(row.account_id === null ? {} : { accountId: row.account_id }),
    ...(row.dcu_url === null ? {} : { dcuUrl: row.dcu_url }),
    ...(row.returned_cents === null ? {} : { returnedCents: Number(row.returned_cents) }),
    ...(row.closed_at === null ? {} : { closedAt: row.closed_at.toISOString() }),
    ...(row.attempts === null ? {} : { attempts: row.attempts }),
    ...(row.owner === null ? {} : { owner: row.owner }),
    ...(row.last_attempt_at === null ? {} : { lastAttemptAt: row.last_attempt_at.toISOString() }),
  };
}

function sameBudget(a: BudgetTotals, b: BudgetTotals): boolean {
  return a.committedCents === b.committedCents && a.returnedCents === b.returnedCents;
}
