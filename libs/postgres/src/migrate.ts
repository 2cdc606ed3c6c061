import type { Queryable } from './database';

/** One step of a component's schema. Steps are applied in `version` order, each once. */
export interface Migration {
  version: number;
  description: string;
  sql: string;
}

interface Transactional {
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
}

/** Any fixed 64-bit number: every Grantline process migrating this database takes the same lock. */
const MIGRATION_LOCK = 0x4752_4e54_4c4e; // "GRNTLN"

/**
 * Creates or upgrades a component's tables. Everything runs in one transaction that first
 * takes a transaction-scoped advisory lock, so instances starting together apply each step
 * exactly once and none sees a half-made schema; a crash mid-way leaves the old schema.
 * Needs only a role that may create tables in the database (its owner), no superuser.
 */
export async function migrate(
  database: Transactional,
  component: string,
  steps: readonly Migration[],
): Promise<number[]> {
  const ordered = [...steps].sort((a, b) => a.version - b.version);
  return database.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await tx.query(`CREATE TABLE IF NOT EXISTS grantline_migrations (
      component text NOT NULL,
      version integer NOT NULL,
      description text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (component, version)
    )`);
    const { rows } = await tx.query<{ version: number }>(
      'SELECT version FROM grantline_migrations WHERE component = $1',
      [component],
    );
    const applied = new Set(rows.map((row) => row.version));
    const newest = ordered.at(-1)?.version ?? 0;
    const unknown = [...applied].filter((version) => version > newest);
    if (unknown.length > 0) {
      throw new Error(
        `The ${component} tables are at version ${Math.max(...unknown)}, newer than this build knows (${newest}); run a newer build.`,
      );
    }
    const done: number[] = [];
    for (const step of ordered) {
      if (applied.has(step.version)) continue;
      await tx.query(step.sql);
      await tx.query(
        'INSERT INTO grantline_migrations (component, version, description) VALUES ($1, $2, $3)',
        [component, step.version, step.description],
      );
      done.push(step.version);
    }
    return done;
  });
}
