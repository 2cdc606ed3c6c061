import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import type { ProposalResponse } from '@grantline/contracts';
import { PostgresServer } from '@grantline/postgres/embedded';
import { freshSecrets, mulberry32 as seededRandom } from '@grantline/process-kit';
import { RegistryClient } from '@grantline/registry-client';
import {
  baseEnvironment,
  buildApps,
  checkStoreAgainstLoad,
  listedUrls,
  NetworkLab,
  readDatabaseLedgers,
  runLoad,
  seedFrom,
  ServiceProcess,
  startApp,
  sleep,
  waitFor,
  type AppName,
  type LoadResult,
} from '../src';

/**
 * Issue 13, across hosts: PostgreSQL, the registry, two agencies and two DCUs each on a host
 * of its own (a Linux network namespace with its own address, joined by a bridge; nothing
 * shared but the network, no folder). Under a load of withdrawals and proposals: one DCU's
 * host is cut off the network and plugged back in, the PostgreSQL server is SIGKILLed and
 * started again, an agency is SIGKILLed and started again; then proposals race the budget
 * while the other agency is SIGKILLed. Afterwards the database is read directly: every
 * acknowledged withdrawal is there once, no balance below zero, one account per proposal,
 * the budget never overcommitted, and no client operation failed beyond its retries.
 *
 * Needs root (network namespaces); where they cannot be made the test fails and says why.
 * PG_HOSTS_WITHDRAWALS (default 500) sizes the load; PG_HOSTS_SEED replays a run.
 */
const WITHDRAWALS = Number(process.env.PG_HOSTS_WITHDRAWALS ?? 500);
const ACTORS = 10;
const HEARTBEAT_INTERVAL_MS = 300;
const PROPOSAL_CENTS = 40_000_000;
/**
 * Room for every account the load could open (each actor a new one every 10 withdrawals, none
 * shared, 50,000,000 cents each) and for about ten racing proposals after it.
 */
const BUDGET_CENTS =
  (3 + ACTORS * Math.ceil(Math.ceil(WITHDRAWALS / ACTORS) / 10)) * 50_000_000 + 10 * PROPOSAL_CENTS;
/** More than the budget can hold, so the race ends even if the budget were never enforced. */
const MAX_RACING_PROPOSALS = BUDGET_CENTS / PROPOSAL_CENTS + 20;
const SEED = seedFrom(process.env, 'PG_HOSTS_SEED');
const HOSTS = ['postgres', 'registry', 'agency-1', 'agency-2', 'dcu-1', 'dcu-2'] as const;
type Host = (typeof HOSTS)[number];
const PORTS: Record<AppName, number> = { registry: 9000, agency: 9001, dcu: 9002, researchers: 0 };

let lab: NetworkLab | undefined;
let postgres: PostgresServer | undefined;
let registry: RegistryClient | undefined;
let logDir: string | undefined;
const services = new Map<Host, ServiceProcess>();
let failed = true;
/** What happened when, printed with the report (and when the test fails). */
const faultLog: string[] = [];
const note = (text: string) => faultLog.push(`${new Date().toISOString()} ${text}`);

beforeAll(() => buildApps('registry', 'agency', 'dcu'), 120_000);

afterAll(async () => {
  await registry?.close();
  if (failed) {
    console.log(`--- what happened:\n${faultLog.join('\n')}`);
    for (const [host, service] of services) {
      console.log(`--- last lines of ${host}:\n${service.lines.slice(-20).join('\n')}`);
    }
    if (postgres) console.log(`--- last lines of postgres:\n${postgres.lastLog()}`);
  }
  await ServiceProcess.killAll();
  await postgres?.stop().catch(() => undefined);
  lab?.destroy();
  if (logDir) rmSync(logDir, { recursive: true, force: true });
}, 60_000);

describe('PostgreSQL across hosts', () => {
  it('loses, doubles and overcommits nothing while a DCU host is cut off, PostgreSQL is SIGKILLed and agencies are SIGKILLed', async () => {
    console.log(
      `postgres-hosts seed ${SEED} (replay with PG_HOSTS_SEED=${SEED}), ${WITHDRAWALS} withdrawals`,
    );
    note('start');
    lab = NetworkLab.create([...HOSTS]);
    const network = lab;
    logDir = mkdtempSync(path.join(tmpdir(), 'grantline-pg-hosts-'));

    postgres = new PostgresServer({
      host: network.address('postgres'),
      port: 5432,
      allowFrom: `${network.subnet}.0/24`,
      wrap: network.wrap('postgres'),
    });
    await postgres.start();
    const database = postgres;
    const databaseUrl = await database.createDatabase('grantline');

    const secrets = freshSecrets();
    const registryUrl = `http://${network.address('registry')}:${PORTS.registry}`;
    const start = (host: Host, app: AppName): ServiceProcess => {
      const service = startApp({
        label: host,
        app,
        wrap: network.wrap(host),
        env: {
          ...baseEnvironment(),
          ...secrets,
          HOST: network.address(host),
          PORT: String(PORTS[app]),
          LOG_LEVEL: 'warn',
          HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_INTERVAL_MS),
          ...(app === 'registry' ? {} : { REGISTRY_URL: registryUrl, DATABASE_URL: databaseUrl }),
          ...(app === 'agency' ? { AGENCY_BUDGET_CENTS: String(BUDGET_CENTS) } : {}),
          ...(app === 'dcu' ? { DAY_MS: '1000' } : {}),
          // A folder of the host's own, so a store that wrongly used files could share nothing.
          ACCOUNT_DIR: path.join(logDir!, `${host}-accounts`),
          AGENCY_DIR: path.join(logDir!, `${host}-agency`),
        },
        logFile: path.join(logDir!, `${host}.log`),
      });
      services.set(host, service);
      return service;
    };
    await start('registry', 'registry').waitForListening();
    await Promise.all(
      (['agency-1', 'agency-2', 'dcu-1', 'dcu-2'] as const).map((host) =>
        start(host, host.startsWith('dcu') ? 'dcu' : 'agency').waitForListening(),
      ),
    );
    const urlOf = (host: Host) =>
      `http://${network.address(host)}:${host.startsWith('dcu') ? PORTS.dcu : PORTS.agency}`;
    await waitUntilListed(registryUrl, {
      agency: [urlOf('agency-1'), urlOf('agency-2')],
      dcu: [urlOf('dcu-1'), urlOf('dcu-2')],
    });
    registry = new RegistryClient({ registryUrl });

    // The load, and the faults at points of its progress (not of the clock: the machine may be slow).
    const random = seededRandom(SEED);
    const faults = new FaultSchedule();
    const load = runLoad({
      client: registry,
      random: seededRandom(SEED ^ 0x5eed),
      actors: ACTORS,
      withdrawals: WITHDRAWALS,
      sharedAccounts: 3,
      ownWithdrawalsPerAccount: 10,
      meanPauseMs: 40,
      callDeadlineMs: 60_000,
      onProgress: (done) => faults.progress(done / WITHDRAWALS),
    });
    const faultsDone = (async () => {
      await faults.at(0.15 + 0.1 * random());
      note('cutting dcu-1 off the network');
      network.cut('dcu-1');
      await sleep(3 * HEARTBEAT_INTERVAL_MS + 3_000);
      network.restore('dcu-1');
      note('dcu-1 back on the network');

      await faults.at(0.4 + 0.1 * random());
      note('SIGKILL PostgreSQL');
      await database.kill('SIGKILL');
      await sleep(1_000 + Math.round(1_000 * random()));
      await database.start();
      note('PostgreSQL started again');

      await faults.at(0.65 + 0.1 * random());
      note('SIGKILL agency-1');
      await services.get('agency-1')!.kill('SIGKILL');
      await sleep(500);
      await start('agency-1', 'agency').waitForListening();
      note('agency-1 started again');
    })();
    const [loadResult] = await Promise.all([load.finally(() => faults.finish()), faultsDone]);
    note(
      `load done: ${loadResult.acknowledged.size} acknowledged, ${loadResult.failures.length} failures`,
    );

    // Proposals race for what is left of the budget while agency-2 is SIGKILLed.
    const race = await raceTheBudget(registry, random, note, async () => {
      note('SIGKILL agency-2 during the budget race');
      await services.get('agency-2')!.kill('SIGKILL');
      await sleep(300);
      await start('agency-2', 'agency').waitForListening();
    });

    note('checking the database');
    const admin = new Client({ connectionString: database.url('grantline') });
    await admin.connect();
    try {
      // A reservation whose account was not confirmed when an agency died is finished by the agencies themselves.
      await waitFor(
        'no reservation left pending',
        async () =>
          (
            await admin.query(
              "SELECT count(*)::int AS n FROM agency_proposals WHERE status = 'pending'",
            )
          ).rows[0].n === 0,
        30_000,
        200,
      );
      const problems = await verify(admin, database.url('grantline'), loadResult);
      const report = {
        seed: SEED,
        faults: faultLog,
        loadMs: loadResult.durationMs,
        acknowledged: loadResult.acknowledged.size,
        refused: loadResult.refused.size,
        unresolved: loadResult.unresolved.size,
        accounts: loadResult.accounts.length,
        retried: loadResult.stats.retried,
        failedOver: loadResult.stats.failedOver,
        retryReasons: loadResult.stats.retryReasons,
        race,
      };
      console.log(JSON.stringify(report, null, 2));
      expect(loadResult.failures).toEqual([]);
      expect(loadResult.unresolved.size).toBe(0);
      expect(loadResult.freshWithdrawals).toBe(WITHDRAWALS);
      expect(race.failures).toEqual([]);
      expect(race.rejectedForBudget).toBeGreaterThan(0);
      expect(problems).toEqual([]);
    } finally {
      await admin.end();
    }
    failed = false;
  }, 420_000);
});

/** Resolves `at(fraction)` when the load has done that fraction of its withdrawals. */
class FaultSchedule {
  private done = 0;
  private readonly waiting: { fraction: number; resolve: () => void }[] = [];

  progress(fraction: number): void {
    this.done = fraction;
    for (const waiter of [...this.waiting]) {
      if (waiter.fraction <= fraction) {
        this.waiting.splice(this.waiting.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  }

  at(fraction: number): Promise<void> {
    if (this.done >= fraction) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push({ fraction, resolve }));
  }

  /** The load ended: whatever still waits runs now. */
  finish(): void {
    this.progress(1);
  }
}

async function waitUntilListed(
  registryUrl: string,
  expected: Record<string, string[]>,
): Promise<void> {
  await waitFor(
    `the registry to list ${JSON.stringify(expected)}`,
    async () => {
      const listed = await listedUrls(registryUrl);
      return (
        listed !== undefined &&
        Object.entries(expected).every(([type, urls]) =>
          urls.every((url) => listed[type]?.includes(url)),
        )
      );
    },
    20_000,
  );
}

/**
 * Eight racers submit in-range proposals (new key each) through any agency until each has been
 * turned away for the budget twice; `midway` runs once a dozen have been decided. A 5xx or no
 * answer is retried with the same key, as a client should.
 */
async function raceTheBudget(
  client: RegistryClient,
  random: () => number,
  note: (text: string) => void,
  midway: () => Promise<void>,
) {
  const failures: string[] = [];
  let accepted = 0;
  let rejectedForBudget = 0;
  let decided = 0;
  let fault: Promise<void> | undefined;
  const propose = async (): Promise<ProposalResponse | undefined> => {
    const idempotencyKey = randomUUID();
    const deadline = Date.now() + 60_000;
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      if (attempt > 0) await sleep(Math.min(1_000, 50 * 2 ** attempt));
      try {
        const answer = await client.call<ProposalResponse>('agency', {
          method: 'POST',
          path: '/proposals',
          body: {
            title: 'Budget race',
            investigator: 'Ada',
            amountCents: PROPOSAL_CENTS,
            durationDays: 3650,
          },
          idempotencyKey,
          timeoutMs: 5_000,
          deadlineMs: 10_000,
        });
        if (answer.statusCode >= 500) continue;
        if (answer.statusCode !== 201) {
          failures.push(`proposal answered ${answer.statusCode}: ${JSON.stringify(answer.body)}`);
          return undefined;
        }
        return answer.body;
      } catch {
        // no instance answered: try again with the same key
      }
    }
    failures.push(`a proposal got no answer within 60 s (key ${idempotencyKey})`);
    return undefined;
  };
  const racer = async () => {
    let turnedAway = 0;
    while (turnedAway < 2 && failures.length === 0) {
      if (decided >= MAX_RACING_PROPOSALS) {
        failures.push(`${decided} proposals decided and the budget never turned one away`);
        return;
      }
      await sleep(Math.round(20 * random()));
      const answer = await propose();
      if (!answer) return;
      decided += 1;
      if (decided === 12) fault = midway();
      if (answer.status === 'accepted') accepted += 1;
      else if (/budget/i.test(answer.reason)) {
        rejectedForBudget += 1;
        turnedAway += 1;
      } else failures.push(`rejected for another reason: ${answer.reason}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, racer));
  await fault;
  note(`budget race done: ${accepted} accepted, ${rejectedForBudget} turned away for the budget`);
  return { accepted, rejectedForBudget, failures };
}

/**
 * What the database holds against what the clients were told: the withdrawals as every
 * whole-system test checks them on any store (readDatabaseLedgers, checkStoreAgainstLoad: each
 * acknowledged one there once with its id, amount and key digest, none refused applied, every
 * account's balance and numbering sound), then the agency's side.
 */
async function verify(db: Client, databaseUrl: string, load: LoadResult): Promise<string[]> {
  const stored = await readDatabaseLedgers(databaseUrl, []);
  const againstLoad = checkStoreAgainstLoad(stored, load);
  const problems = [...stored.problems, ...againstLoad.problems];

  // One account per proposal, and the agency and the DCUs agree on which.
  const mismatched = await db.query(
    `SELECT p.proposal_id, p.status, p.account_id, a.account_id AS dcu_account
       FROM agency_proposals p FULL JOIN dcu_accounts a ON a.proposal_id = p.proposal_id
      WHERE (p.status IN ('accepted', 'closed') AND (a.account_id IS NULL OR a.account_id <> p.account_id))
         OR (a.account_id IS NOT NULL AND (p.proposal_id IS NULL OR p.status NOT IN ('accepted', 'closed')))`,
  );
  for (const row of mismatched.rows)
    problems.push(`proposal and account disagree: ${JSON.stringify(row)}`);
  const perProposal = await db.query(
    'SELECT proposal_id FROM dcu_accounts GROUP BY 1 HAVING count(*) > 1',
  );
  for (const row of perProposal.rows) problems.push(`two accounts for proposal ${row.proposal_id}`);

  const budget = await db.query(
    `SELECT b.total_cents, b.committed_cents, b.returned_cents,
            (SELECT coalesce(sum(amount_cents), 0) FROM agency_proposals WHERE status IN ('pending', 'accepted', 'closed')) AS reserved,
            (SELECT coalesce(sum(returned_cents), 0) FROM agency_proposals) AS handed_back
       FROM agency_budget b`,
  );
  const totals = budget.rows[0];
  if (Number(totals.committed_cents) - Number(totals.returned_cents) > BUDGET_CENTS)
    problems.push(`budget overcommitted: ${JSON.stringify(totals)}`);
  if (totals.committed_cents !== totals.reserved || totals.returned_cents !== totals.handed_back)
    problems.push(`budget totals differ from the proposals on record: ${JSON.stringify(totals)}`);
  return problems;
}
