import { setTimeout as sleep } from 'node:timers/promises';
import { Pool, type PoolClient, type QueryResultRow } from 'pg';
import {
  isRetryableConflict,
  isUnavailable,
  StorageUnavailableError,
  toStorageError,
} from './errors';
import { migrate, type Migration } from './migrate';

/** The part of a pg client a store's statements need, inside or outside a transaction. */
export interface Queryable {
  query<Row extends QueryResultRow = QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<{ rows: Row[]; rowCount: number | null }>;
}

export type Isolation = 'read committed' | 'repeatable read' | 'serializable';

export interface Logger {
  warn(details: object, message: string): void;
  info?(details: object, message: string): void;
}

export interface DatabaseOptions {
  /** postgres://user:password@host:port/database */
  connectionString: string;
  /** Pool size of this process. */
  maxConnections?: number;
  applicationName?: string;
  /** How long to wait for a connection (new or from the pool) before answering 503. */
  connectTimeoutMs?: number;
  /**
   * Server-side bounds, so a client that vanished (its host cut off) cannot hold row locks
   * for the kernel's keepalive time, and a request never waits on a lock without end.
   */
  lockTimeoutMs?: number;
  statementTimeoutMs?: number;
  idleInTransactionTimeoutMs?: number;
  /** Client-side bound on one statement: a partitioned server never answers at all. */
  queryTimeoutMs?: number;
  /** How often a serialization failure or deadlock is retried before it is reported. */
  conflictRetries?: number;
  logger?: Logger;
}

export interface ConnectOptions extends DatabaseOptions {
  /** Migrations to run at start, under an advisory lock; `component` names their series. */
  migrations?: { component: string; steps: readonly Migration[] };
  /** How long to keep trying to reach the database at start before giving up. */
  startupTimeoutMs?: number;
}

/** Pooled connections tried for one statement before the database is called unavailable. */
const STALE_CONNECTION_ATTEMPTS = 3;

const silent: Logger = { warn: () => undefined };

/**
 * A pg pool with the rules every Grantline store follows: a database that cannot be reached
 * becomes StorageUnavailableError (503), transaction conflicts are retried a bounded number
 * of times, and a connection that broke is thrown away instead of going back to the pool.
 */
export class Database {
  readonly pool: Pool;
  private readonly conflictRetries: number;
  private readonly logger: Logger;
  private closed = false;

  constructor(options: DatabaseOptions) {
    this.logger = options.logger ?? silent;
    this.conflictRetries = options.conflictRetries ?? 8;
    const settings = [
      `lock_timeout=${options.lockTimeoutMs ?? 5_000}`,
      `statement_timeout=${options.statementTimeoutMs ?? 10_000}`,
      `idle_in_transaction_session_timeout=${options.idleInTransactionTimeoutMs ?? 10_000}`,
    ];
    this.pool = new Pool({
      connectionString: options.connectionString,
      max: options.maxConnections ?? 10,
      application_name: options.applicationName ?? 'grantline',
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      query_timeout: options.queryTimeoutMs ?? 15_000,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      options: settings.map((setting) => `-c ${setting}`).join(' '),
    });
    // An idle connection that breaks (server restarted, host cut off) is removed by the pool;
    // without a listener the 'error' event would end the process.
    this.pool.on('error', (error) => {
      if (!this.closed)
        this.logger.warn({ err: error }, 'an idle database connection broke; the pool drops it');
    });
    // A connection that breaks while checked out also emits 'error' on its client (besides
    // failing the statement in flight, which is where we handle it); unheard, that event
    // would end the process.
    this.pool.on('connect', (client) => {
      client.on('error', () => undefined);
    });
  }

  /** Opens the pool, waits for the database (up to startupTimeoutMs) and runs the migrations. */
  static async connect(options: ConnectOptions): Promise<Database> {
    const database = new Database(options);
    const deadline = Date.now() + (options.startupTimeoutMs ?? 30_000);
    for (let attempt = 1; ; attempt++) {
      try {
        if (options.migrations) {
          await migrate(database, options.migrations.component, options.migrations.steps);
        } else {
          await database.query('SELECT 1');
        }
        return database;
      } catch (error) {
        if (!isUnavailable(error) || Date.now() >= deadline) {
          await database.close();
          throw error;
        }
        database.logger.warn({ err: error, attempt }, 'database not reachable yet; retrying');
        await sleep(Math.min(2_000, 100 * attempt));
      }
    }
  }

  /**
   * One statement outside a transaction, for reads and statements safe to repeat: a
   * connection that broke while it sat in the pool (the server restarted, the network was
   * cut) is thrown away and the statement is sent again on another.
   *
   * `prepare` names the statement: each connection parses and plans it once, then only binds
   * and runs it (node-postgres named statements); one name must always go with one text.
   */
  async query<Row extends QueryResultRow = QueryResultRow>(
    text: string,
    values?: unknown[],
    options: { prepare?: string } = {},
  ) {
    const config =
      options.prepare === undefined
        ? undefined
        : { name: options.prepare, text, values: values ?? [] };
    for (let attempt = 1; ; attempt++) {
      const client = await this.checkout();
      let broken: unknown;
      try {
        return await (config ? client.query<Row>(config) : client.query<Row>(text, values));
      } catch (error) {
        if (isUnavailable(error)) broken = error;
        if (broken === undefined || attempt >= STALE_CONNECTION_ATTEMPTS)
          throw toStorageError(error);
      } finally {
        client.release(broken as Error | undefined);
      }
    }
  }

  /**
   * Runs `work` in one transaction and commits it. A serialization failure or deadlock runs
   * it again (PostgreSQL rolled the whole attempt back), and so does a connection found broken
   * at BEGIN (nothing was sent yet); any other error rolls back and is rethrown, unavailability
   * as StorageUnavailableError (the outcome of a COMMIT that lost its connection is unknown,
   * so it is never retried here). `work` must not keep state outside the transaction that a
   * second attempt would find changed.
   */
  async transaction<T>(
    work: (tx: Queryable) => Promise<T>,
    options: { isolation?: Isolation } = {},
  ): Promise<T> {
    const begin = options.isolation
      ? `BEGIN ISOLATION LEVEL ${options.isolation.toUpperCase()}`
      : 'BEGIN';
    let staleConnections = 0;
    for (let attempt = 0; ; attempt++) {
      const client = await this.checkout();
      let broken: unknown;
      try {
        try {
          await client.query(begin);
        } catch (error) {
          if (isUnavailable(error)) broken = error;
          staleConnections += 1;
          if (broken !== undefined && staleConnections < STALE_CONNECTION_ATTEMPTS) continue;
          throw error;
        }
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        if (broken !== undefined || isUnavailable(error)) {
          broken ??= error;
        } else {
          await client.query('ROLLBACK').catch((rollbackError: unknown) => {
            broken = rollbackError;
          });
        }
        if (isRetryableConflict(error) && attempt < this.conflictRetries) {
          await sleep(Math.floor(Math.random() * 2 ** Math.min(attempt, 6)));
          continue;
        }
        throw toStorageError(error);
      } finally {
        client.release(broken as Error | undefined);
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  private async checkout(): Promise<PoolClient> {
    if (this.closed)
      throw new StorageUnavailableError('The database connection is closed (shutting down).');
    try {
      return await this.pool.connect();
    } catch (error) {
      throw toStorageError(error);
    }
  }
}
