import {
  Database,
  isRetryableConflict,
  isUnavailable,
  StorageUnavailableError,
  type Migration,
} from '@grantline/postgres';
import { freePort } from '@grantline/postgres/embedded';
import { startTestPostgres, type TestPostgres } from '@grantline/postgres/testing';

const steps: Migration[] = [
  {
    version: 1,
    description: 'counters',
    sql: 'CREATE TABLE counters (id text PRIMARY KEY, value bigint NOT NULL CHECK (value >= 0))',
  },
  {
    version: 2,
    description: 'a note per counter',
    sql: "ALTER TABLE counters ADD COLUMN note text NOT NULL DEFAULT ''",
  },
];

let postgres: TestPostgres;
const opened: Database[] = [];

beforeAll(async () => {
  postgres = await startTestPostgres();
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((database) => database.close()));
});
afterAll(async () => {
  await postgres?.close();
});

async function open(url: string, extra: Partial<Parameters<typeof Database.connect>[0]> = {}) {
  const database = await Database.connect({
    connectionString: url,
    migrations: { component: 'test', steps },
    ...extra,
  });
  opened.push(database);
  return database;
}

describe('migrations', () => {
  it('applies each step once when several instances start together, as a role that only owns the database', async () => {
    const url = await postgres.createDatabase();
    const instances = await Promise.all(Array.from({ length: 6 }, () => open(url)));
    const { rows } = await instances[0]!.query<{ version: number }>(
      "SELECT version FROM grantline_migrations WHERE component = 'test' ORDER BY version",
    );
    expect(rows.map((row) => row.version)).toEqual([1, 2]);
    const superuser = await instances[0]!.query<{ rolsuper: boolean }>(
      'SELECT rolsuper FROM pg_roles WHERE rolname = current_user',
    );
    expect(superuser.rows[0]!.rolsuper).toBe(postgres.server ? false : superuser.rows[0]!.rolsuper);
    await instances[1]!.query("INSERT INTO counters (id, value) VALUES ('a', 1)");
    expect((await instances[2]!.query('SELECT note FROM counters')).rows).toEqual([{ note: '' }]);
  });

  it('refuses to start on tables newer than this build knows', async () => {
    const url = await postgres.createDatabase();
    await open(url);
    await expect(
      Database.connect({
        connectionString: url,
        migrations: { component: 'test', steps: steps.slice(0, 1) },
      }),
    ).rejects.toThrow(/newer than this build knows/);
  });

  it('keeps the series of different components apart', async () => {
    const url = await postgres.createDatabase();
    await open(url);
    const other = await Database.connect({
      connectionString: url,
      migrations: {
        component: 'other',
        steps: [{ version: 1, description: 'x', sql: 'CREATE TABLE other_things (id int)' }],
      },
    });
    opened.push(other);
    const { rows } = await other.query(
      'SELECT component, version FROM grantline_migrations ORDER BY component, version',
    );
    expect(rows).toEqual([
      { component: 'other', version: 1 },
      { component: 'test', version: 1 },
      { component: 'test', version: 2 },
    ]);
  });
});

describe('test databases', () => {
  it('hands a released database out again empty, ready to be migrated anew', async () => {
    const url = await postgres.createDatabase();
    const first = await open(url);
    await first.query("INSERT INTO counters (id, value) VALUES ('a', 1)");
    await first.close();
    await postgres.release(url);
    expect(await postgres.createDatabase()).toBe(url);
    const again = await open(url);
    expect((await again.query('SELECT count(*)::int AS n FROM counters')).rows).toEqual([{ n: 0 }]);
  });
});

describe('transactions', () => {
  it('commits the work of a transaction together', async () => {
    const database = await open(await postgres.createDatabase());
    await database.transaction(async (tx) => {
      await tx.query("INSERT INTO counters (id, value) VALUES ('a', 5)");
      await tx.query("INSERT INTO counters (id, value) VALUES ('b', 7)");
    });
    expect((await database.query('SELECT sum(value)::int AS total FROM counters')).rows[0]).toEqual(
      { total: 12 },
    );
  });

  it('rolls back everything and rethrows the error unchanged when the work fails', async () => {
    const database = await open(await postgres.createDatabase());
    class Refusal extends Error {}
    await expect(
      database.transaction(async (tx) => {
        await tx.query("INSERT INTO counters (id, value) VALUES ('a', 5)");
        throw new Refusal('no');
      }),
    ).rejects.toBeInstanceOf(Refusal);
    const violation = database.transaction(async (tx) => {
      await tx.query("INSERT INTO counters (id, value) VALUES ('b', 5)");
      await tx.query("UPDATE counters SET value = value - 6 WHERE id = 'b'");
    });
    await expect(violation).rejects.toMatchObject({ code: '23514' });
    expect((await database.query('SELECT count(*)::int AS n FROM counters')).rows[0]).toEqual({
      n: 0,
    });
  });

  it('retries serialization failures until every increment is counted', async () => {
    const database = await open(await postgres.createDatabase(), { maxConnections: 4 });
    await database.query("INSERT INTO counters (id, value) VALUES ('c', 0)");
    const increments = 24;
    await Promise.all(
      Array.from({ length: increments }, () =>
        database.transaction(
          async (tx) => {
            const { rows } = await tx.query<{ value: string }>(
              "SELECT value FROM counters WHERE id = 'c'",
            );
            await tx.query("UPDATE counters SET value = $1 WHERE id = 'c'", [
              Number(rows[0]!.value) + 1,
            ]);
          },
          { isolation: 'serializable' },
        ),
      ),
    );
    expect(
      (await database.query("SELECT value::int AS value FROM counters WHERE id = 'c'")).rows[0],
    ).toEqual({ value: increments });
  });
});

describe('when the database is unreachable', () => {
  it('answers StorageUnavailableError (a 503) when nothing listens, after trying for startupTimeoutMs', async () => {
    const port = await freePort();
    const attempt = Database.connect({
      connectionString: `postgres://nobody:x@127.0.0.1:${port}/none`,
      startupTimeoutMs: 300,
    });
    await expect(attempt).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(attempt).rejects.toMatchObject({ statusCode: 503 });
  });

  it('turns a connection ended by the server (57P01) into StorageUnavailableError, then reconnects', async () => {
    const url = await postgres.createDatabase();
    const database = await open(url, { maxConnections: 1 });
    const { rows } = await database.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const killer = await open(url);
    const outcome = database.transaction(async (tx) => {
      await tx.query("INSERT INTO counters (id, value) VALUES ('z', 1)");
      await killer.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
      await tx.query('SELECT 1');
    });
    await expect(outcome).rejects.toBeInstanceOf(StorageUnavailableError);
    expect((await database.query('SELECT count(*)::int AS n FROM counters')).rows[0]).toEqual({
      n: 0,
    });
  });

  it('answers 503 while the server is down and works again once it is back, with no restart of the client', async () => {
    const server = postgres.server;
    if (!server) {
      // With DATABASE_URL the suite does not own the server, so it cannot stop it.
      expect(process.env['DATABASE_URL']).toBeTruthy();
      return;
    }
    const database = await open(await postgres.createDatabase(), { connectTimeoutMs: 2_000 });
    await database.query("INSERT INTO counters (id, value) VALUES ('k', 1)");
    await server.kill('SIGKILL');
    const whileDown = await database.query('SELECT 1').catch((error: unknown) => error);
    expect(whileDown).toBeInstanceOf(StorageUnavailableError);
    await server.start();
    expect(
      (await database.query("SELECT value::int AS value FROM counters WHERE id = 'k'")).rows,
    ).toEqual([{ value: 1 }]);
  });
});

describe('error classes', () => {
  it.each([
    ['ECONNREFUSED', true, { code: 'ECONNREFUSED' }],
    ['57P01 admin shutdown', true, { code: '57P01' }],
    ['08006 connection failure', true, { code: '08006' }],
    ['57P03 starting up', true, { code: '57P03' }],
    ['a pool connect timeout', true, new Error('timeout exceeded when trying to connect')],
    ['a connection that ended', true, new Error('Connection terminated unexpectedly')],
    ['a unique violation', false, { code: '23505' }],
    ['a check violation', false, { code: '23514' }],
    ['any other error', false, new Error('something else')],
  ])('%s counts as unavailable: %s', (_name, expected, error) => {
    expect(isUnavailable(error)).toBe(expected);
  });

  it('retries only serialization failures and deadlocks', () => {
    expect(isRetryableConflict({ code: '40001' })).toBe(true);
    expect(isRetryableConflict({ code: '40P01' })).toBe(true);
    expect(isRetryableConflict({ code: '23505' })).toBe(false);
  });
});
