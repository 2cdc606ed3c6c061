import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { PostgresServer } from '../embedded';

/**
 * PostgreSQL for a test suite: the server named by DATABASE_URL when it is set (its role must
 * be allowed to create databases), else a throw-away embedded server on a free port. Every
 * createDatabase() answers an empty database of its own, so suites and tests never see each
 * other's rows. There is no "skip when missing": when no server can be had, the suite fails
 * and says why.
 */
export interface TestPostgres {
  /** An empty database and the URL to reach it (as a role that owns it, not a superuser). */
  createDatabase(): Promise<string>;
  /**
   * Gives a database back once nothing uses it any more: its tables are dropped and it is
   * handed out again, empty, which costs a fraction of making a new one.
   */
  release(url: string): Promise<void>;
  /** The embedded server, for fault tests (kill, restart); undefined with DATABASE_URL. */
  readonly server: PostgresServer | undefined;
  /** Drops what it made and stops the embedded server. */
  close(): Promise<void>;
}

export async function startTestPostgres(): Promise<TestPostgres> {
  const external = process.env['DATABASE_URL'];
  if (external) return externalPostgres(external);
  const server = new PostgresServer({ durable: false, auth: 'trust' });
  await server.start();
  return recycling(
    server,
    // One owner role for every database of the suite: a role per database doubled the cost.
    () => server.createDatabase(newName(), 'test_owner'),
    () => server.stop(),
  );
}

function externalPostgres(adminUrl: string): TestPostgres {
  const created: string[] = [];
  const admin = async (sql: string) => {
    const client = new Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  return recycling(
    undefined,
    async () => {
      const name = newName();
      await admin(`CREATE DATABASE "${name}"`);
      created.push(name);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      return url.toString();
    },
    async () => {
      for (const name of created.splice(0))
        await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  );
}

function recycling(
  server: PostgresServer | undefined,
  create: () => Promise<string>,
  close: () => Promise<void>,
): TestPostgres {
  const free: string[] = [];
  return {
    server,
    createDatabase: async () => free.pop() ?? create(),
    async release(url) {
      const client = new Client({ connectionString: url });
      await client.connect();
      try {
        const { rows } = await client.query<{ name: string }>(
          "SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = 'public'",
        );
        if (rows.length > 0)
          await client.query(`DROP TABLE ${rows.map((row) => row.name).join(', ')} CASCADE`);
      } finally {
        await client.end();
      }
      free.push(url);
    },
    close,
  };
}

function newName(): string {
  return `test_${randomBytes(6).toString('hex')}`;
}
