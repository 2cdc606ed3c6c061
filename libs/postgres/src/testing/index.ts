import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { PostgresServer } from '../embedded';

/**
 * PostgreSQL for a test suite: the server named by DATABASE_URL when it is set (its role must
 * be allowed to create databases), else a throw-away embedded server on a free port. Every
 * createDatabase() is a new, empty database, so suites and tests never see each other's rows.
 * There is no "skip when missing": when no server can be had, the suite fails and says why.
 */
export interface TestPostgres {
  /** A new empty database and the URL to reach it (as a role that owns it, not a superuser). */
  createDatabase(): Promise<string>;
  /** The embedded server, for fault tests (kill, restart); undefined with DATABASE_URL. */
  readonly server: PostgresServer | undefined;
  /** Drops what it made and stops the embedded server. */
  close(): Promise<void>;
}

export async function startTestPostgres(): Promise<TestPostgres> {
  const external = process.env['DATABASE_URL'];
  if (external) return externalPostgres(external);
  const server = new PostgresServer({ durable: false });
  await server.start();
  return {
    server,
    createDatabase: () => server.createDatabase(newName()),
    close: () => server.stop(),
  };
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
  return {
    server: undefined,
    async createDatabase() {
      const name = newName();
      await admin(`CREATE DATABASE "${name}"`);
      created.push(name);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      return url.toString();
    },
    async close() {
      for (const name of created.splice(0))
        await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

function newName(): string {
  return `test_${randomBytes(6).toString('hex')}`;
}
