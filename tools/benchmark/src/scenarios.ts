import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type autocannon from 'autocannon';
import type {
  AcceptedProposal,
  AccountView,
  OpenAccountResponse,
  ProposalRequest,
} from '@grantline/contracts';
import { performance } from 'node:perf_hooks';
import { measureDurableWrites } from './disk';
import { waitFor } from '@grantline/process-kit';
import { cpuSecondsOf, rssBytesOf, startStealMeter } from './processes';
import { fanOut, paceHeartbeats, peakRssBytes } from './registry-scale';
import { appendWithdrawals } from './ledger-writer';
import { storeWithdrawals } from './store-load';
import { forEachLimited, reproduceCommand, requestJson, type Harness } from './harness';
import type { ScenarioId } from './options';
import { BASELINE_OF } from './options';
import { pgbenchWithdrawals, postgresProposals, postgresWithdrawals } from './postgres';
import type { ScenarioResult } from './results';
import { degradation, rssGrowth, summarizeLatencies } from './stats';

/** Enough for every 1-cent withdrawal of a long run at any rate this machine can reach. */
export const ACCOUNT_FUNDING_CENTS = 50_000_000;
export const WITHDRAWAL_CENTS = 1;
/** Long, so no account expires during a run (one day = DAY_MS = 1 s by default). */
export const ACCOUNT_DURATION_DAYS = 3650;
export const REGISTRY_INSTANCES = 1000;
export const SPREAD_TYPES = 100;
export const SPREAD_ACCOUNTS = 100;
export const HEARTBEAT_INSTANCES = 10_000;
/** Seconds over which those instances register, one after another (1,000 a second). */
export const HEARTBEAT_RAMP_PERIODS = 10;
/**
 * How a registry holding that many instances is run (the registry image sets the same): a
 * young generation large enough that the requests in flight die young instead of being
 * promoted, so the old generation is not collected every few seconds. With V8's default (16 MB
 * semi-spaces) those collections held heartbeats for 100-570 ms.
 */
export const REGISTRY_AT_SCALE_NODE_OPTIONS = '--max-semi-space-size=64';
export const WATCHERS = 5_000;
/** Records already in the ledger of the long-history account. */
export const HISTORY_RECORDS = 20_000;
/** The start-up scenario's folder: this many accounts holding this many records in all. */
export const STARTUP_ACCOUNTS = 200;
export const STARTUP_RECORDS = 100_000;
const STARTUP_RESTARTS = 5;

type ScenarioRunner = (harness: Harness) => Promise<ScenarioResult>;

const TITLES: Record<ScenarioId, string> = {
  'disk-durable-write':
    'raw durable writes of 1 KB (write temp + fsync + rename + fsync dir), sequential',
  'node-http-hello': 'bare node:http hello',
  'fastify-hello': 'bare Fastify hello',
  'registry-lookup': `registry GET /services/:type, ${REGISTRY_INSTANCES} instances of that type`,
  'registry-lookup-spread': `registry GET /services/:type, ${REGISTRY_INSTANCES} instances over ${SPREAD_TYPES} types`,
  'registry-lookup-limit1': `registry GET /services/:type?limit=1, one random instance of ${REGISTRY_INSTANCES}`,
  'node-http-heartbeats-10k': `bare node:http server taking the same ${HEARTBEAT_INSTANCES.toLocaleString('en-US')} instances' registrations and heartbeats`,
  'registry-heartbeats-10k': `registry holding ${HEARTBEAT_INSTANCES.toLocaleString('en-US')} instances, each heartbeating once a second`,
  'node-http-wait-5k': `bare node:http server answering ${WATCHERS.toLocaleString('en-US')} held requests at once`,
  'registry-watch-5k': `registry: ${WATCHERS.toLocaleString('en-US')} watchers of one type learn of a registration`,
  'dcu-read': 'DCU GET /accounts/:id with the owner key',
  'dcu-withdraw-hot': `DCU durable withdrawals of ${WITHDRAWAL_CENTS} cent, one hot account, a new Idempotency-Key each`,
  'dcu-withdraw-100': `DCU durable withdrawals of ${WITHDRAWAL_CENTS} cent over ${SPREAD_ACCOUNTS} accounts, a new Idempotency-Key each`,
  'dcu-withdraw-100-from-memory': `the DCU's HTTP path alone: the withdrawals of dcu-withdraw-100, keys checked by the DCU, answered from memory`,
  'dcu-store-withdraw-hot': `the DCU's file store alone, no HTTP: a caller per connection withdrawing ${WITHDRAWAL_CENTS} cent from one account`,
  'dcu-store-withdraw-100': `the DCU's file store alone, no HTTP: a caller per connection withdrawing ${WITHDRAWAL_CENTS} cent over ${SPREAD_ACCOUNTS} accounts`,
  'dcu-read-history': `DCU GET /accounts/:id of an account with ${HISTORY_RECORDS.toLocaleString('en-US')} records`,
  'dcu-withdraw-history': `DCU durable withdrawals from an account with ${HISTORY_RECORDS.toLocaleString('en-US')} records`,
  'dcu-startup': `DCU start: process start to the first answer, ${STARTUP_ACCOUNTS} accounts and ${STARTUP_RECORDS.toLocaleString('en-US')} records in the folder`,
  'agency-proposals': 'agency POST /proposals, accepted (agency -> DCU, a new account each)',
  'pgbench-withdraw-100': `pgbench running the DCU's withdrawal transaction (same SQL) over ${SPREAD_ACCOUNTS} accounts on the run's PostgreSQL`,
  'pg-dcu-withdraw-100': `DCU on PostgreSQL: withdrawals of ${WITHDRAWAL_CENTS} cent over ${SPREAD_ACCOUNTS} accounts, a new Idempotency-Key each`,
  'pg-agency-proposals':
    'agency and DCU on PostgreSQL: POST /proposals, accepted (a new account each)',
  'long-read': 'long run of DCU reads',
  'long-withdraw': 'long run of hot-account DCU withdrawals',
};

export function titleOf(id: ScenarioId): string {
  return TITLES[id];
}

export const SCENARIOS: Record<ScenarioId, ScenarioRunner> = {
  'disk-durable-write': async (harness) => {
    const steal = startStealMeter();
    const outcome = measureDurableWrites(harness.runDir, harness.options.durationSeconds);
    const stolen = steal();
    return {
      id: 'disk-durable-write',
      title: TITLES['disk-durable-write'],
      command: reproduceCommand('disk-durable-write', harness.options),
      status: 'ok',
      rate: outcome.writesPerSecond,
      latency: outcome.latency,
      failures: '',
      durationSeconds: outcome.durationSeconds,
      succeeded: outcome.writes,
      ...stolen,
      notes: [
        `in ${path.relative(harness.root, harness.runDir)} (the folder the DCU's accounts are kept in during this run)`,
      ],
    };
  },

  'node-http-hello': (harness) => helloScenario(harness, 'node-http-hello'),
  'fastify-hello': (harness) => helloScenario(harness, 'fastify-hello'),

  'registry-lookup': (harness) =>
    registryScenario(harness, 'registry-lookup', (index) => ({
      type: 'bench-target',
      port: 20_000 + index,
    })),
  'registry-lookup-spread': (harness) =>
    registryScenario(harness, 'registry-lookup-spread', (index) => ({
      type: index % SPREAD_TYPES === 0 ? 'bench-target' : `bench-other-${index % SPREAD_TYPES}`,
      port: 20_000 + index,
    })),
  'registry-lookup-limit1': (harness) =>
    registryScenario(
      harness,
      'registry-lookup-limit1',
      (index) => ({ type: 'bench-target', port: 20_000 + index }),
      '?limit=1',
    ),
  'node-http-heartbeats-10k': (harness) =>
    heartbeatScenario(harness, 'node-http-heartbeats-10k', (label) =>
      harness.start(
        label,
        path.join(__dirname, 'servers', 'node-http-heartbeat.js'),
        harness.serviceEnv({ NODE_OPTIONS: REGISTRY_AT_SCALE_NODE_OPTIONS }),
      ),
    ),
  'registry-heartbeats-10k': (harness) =>
    heartbeatScenario(harness, 'registry-heartbeats-10k', (label) =>
      harness.startApp(
        'registry',
        {
          HEARTBEAT_INTERVAL_MS: '1000',
          LOG_LEVEL: 'warn',
          NODE_OPTIONS: REGISTRY_AT_SCALE_NODE_OPTIONS,
        },
        label,
      ),
    ),
  'node-http-wait-5k': waitBaselineScenario,
  'registry-watch-5k': watchScenario,

  'dcu-read': async (harness) => {
    const dcu = await startDcu(harness, 'dcu-read');
    try {
      const [account] = await openAccounts(harness, dcu.url, 1);
      const accountPath = `/accounts/${account.accountId}`;
      const check = await requestJson<AccountView>(`${dcu.url}${accountPath}`, {
        headers: bearer(account.ownerKey),
      });
      if (check.status !== 200)
        throw new Error(
          `GET ${accountPath} answered ${check.status}: ${JSON.stringify(check.body)}`,
        );
      const { result } = await harness.measure({
        id: 'dcu-read',
        title: TITLES['dcu-read'],
        load: { url: dcu.url, path: accountPath, headers: bearer(account.ownerKey) },
        watch: [dcu.process],
      });
      return result;
    } finally {
      await harness.stop(dcu.process);
    }
  },

  'dcu-withdraw-hot': (harness) => withdrawScenario(harness, 'dcu-withdraw-hot', 1),
  'dcu-withdraw-100': (harness) => withdrawScenario(harness, 'dcu-withdraw-100', SPREAD_ACCOUNTS),
  'dcu-withdraw-100-from-memory': (harness) =>
    withdrawScenario(harness, 'dcu-withdraw-100-from-memory', SPREAD_ACCOUNTS, {}, [
      'every withdrawal answered from memory: nothing written, no rule checked, no money moved; the ceiling of dcu-withdraw-100 on this machine if storage cost nothing',
    ]),

  'dcu-store-withdraw-hot': (harness) => storeScenario(harness, 'dcu-store-withdraw-hot', 1),
  'dcu-store-withdraw-100': (harness) =>
    storeScenario(harness, 'dcu-store-withdraw-100', SPREAD_ACCOUNTS),

  'dcu-read-history': async (harness) => {
    const { dcu, account } = await dcuWithHistory(harness, 'dcu-read-history');
    try {
      const { result } = await harness.measure({
        id: 'dcu-read-history',
        title: TITLES['dcu-read-history'],
        load: {
          url: dcu.url,
          path: `/accounts/${account.accountId}`,
          headers: bearer(account.ownerKey),
        },
        watch: [dcu.process],
        notes: [
          `compare with dcu-read (a fresh account): the cost of a read must not grow with the history`,
        ],
      });
      return result;
    } finally {
      await harness.stop(dcu.process);
    }
  },

  'dcu-withdraw-history': async (harness) => {
    const { dcu, account } = await dcuWithHistory(harness, 'dcu-withdraw-history');
    try {
      const keys = keySource('dcu-withdraw-history');
      const { result } = await harness.measure({
        id: 'dcu-withdraw-history',
        title: TITLES['dcu-withdraw-history'],
        load: {
          url: dcu.url,
          method: 'POST',
          path: `/accounts/${account.accountId}/withdrawals`,
          headers: { 'content-type': 'application/json', ...bearer(account.ownerKey) },
          body: JSON.stringify({ amountCents: WITHDRAWAL_CENTS }),
          setupRequest: (request: autocannon.RequestData) => {
            request.headers['idempotency-key'] = keys();
            return request;
          },
        },
        watch: [dcu.process],
        diskProbe: true,
        notes: [
          `compare with dcu-withdraw-hot (a fresh account): the cost of a withdrawal must not grow with the history`,
        ],
      });
      return result;
    } finally {
      await harness.stop(dcu.process);
    }
  },

  'dcu-startup': async (harness) => {
    const registryUrl = await harness.systemRegistry();
    const accountDir = harness.accountDir('dcu-startup');
    const env = { REGISTRY_URL: registryUrl, ACCOUNT_DIR: accountDir, DAY_MS: '1000' };
    const seeding = await harness.startApp('dcu', env, 'dcu-startup (seeding)');
    let accounts: OpenAccountResponse[];
    try {
      accounts = await openAccounts(harness, seeding.url, STARTUP_ACCOUNTS);
    } finally {
      await harness.stop(seeding.process);
    }
    const perAccount = Math.floor(STARTUP_RECORDS / STARTUP_ACCOUNTS) - 1; // the opening record counts
    for (const account of accounts)
      await appendWithdrawals(
        path.join(accountDir, `${account.accountId}.ledger.jsonl`),
        perAccount,
      );
    // Alternating with starts on an empty folder: on a shared machine node's own start-up
    // varies a lot, and the difference is what the folder costs.
    const emptyEnv = { ...env, ACCOUNT_DIR: harness.accountDir('dcu-startup-empty') };
    const times: number[] = [];
    const emptyTimes: number[] = [];
    const listenTimes: number[] = [];
    for (let restart = 0; restart < STARTUP_RESTARTS; restart++) {
      const account = accounts[(restart * 37) % accounts.length]!;
      const startedAt = performance.now();
      const dcu = await harness.startApp('dcu', env, `dcu-startup ${restart + 1}`);
      listenTimes.push(performance.now() - startedAt);
      try {
        const answer = await requestJson<AccountView>(`${dcu.url}/accounts/${account.accountId}`, {
          headers: bearer(account.ownerKey),
        });
        if (answer.status !== 200)
          throw new Error(`GET /accounts/${account.accountId} answered ${answer.status}`);
        times.push(performance.now() - startedAt);
      } finally {
        await harness.stop(dcu.process);
      }
      const emptyStartedAt = performance.now();
      const empty = await harness.startApp('dcu', emptyEnv, `dcu-startup empty ${restart + 1}`);
      try {
        await requestJson(`${empty.url}/health`);
        emptyTimes.push(performance.now() - emptyStartedAt);
      } finally {
        await harness.stop(empty.process);
      }
    }
    const meanMs = (values: number[]) =>
      Math.round(values.reduce((sum, value) => sum + value, 0) / values.length);
    return {
      id: 'dcu-startup',
      title: TITLES['dcu-startup'],
      command: reproduceCommand('dcu-startup', harness.options),
      status: 'ok',
      latency: summarizeLatencies(times),
      failures: '',
      succeeded: times.length,
      notes: [
        `${STARTUP_RESTARTS} starts of a DCU process on the same folder; each timed from spawning node to the 200 of its first GET /accounts/:id (an account of ${perAccount + 1} records, loaded on that request); the target is 1 s`,
        `of which spawn to "listening": mean ${meanMs(listenTimes)} ms; the same DCU on an empty folder, spawn to its first answer: mean ${meanMs(emptyTimes)} ms (what the folder adds: ${meanMs(times) - meanMs(emptyTimes)} ms)`,
      ],
    };
  },

  'agency-proposals': (harness) => proposalsScenario(harness, 'agency-proposals'),
  'pgbench-withdraw-100': (harness) => pgbenchWithdrawals(harness),
  'pg-dcu-withdraw-100': (harness) => postgresWithdrawals(harness),
  'pg-agency-proposals': (harness) => postgresProposals(harness),

  'long-read': async (harness) => {
    const dcu = await startDcu(harness, 'long-read');
    try {
      const [account] = await openAccounts(harness, dcu.url, 1);
      const { result } = await harness.measure({
        id: 'long-read',
        title: TITLES['long-read'],
        load: {
          url: dcu.url,
          path: `/accounts/${account.accountId}`,
          headers: bearer(account.ownerKey),
          perSecond: true,
        },
        watch: [dcu.process],
        durationSeconds: harness.options.longDurationSeconds,
      });
      return withTrends(result);
    } finally {
      await harness.stop(dcu.process);
    }
  },

  'long-withdraw': (harness) => withdrawScenario(harness, 'long-withdraw', 1),
};

/**
 * The file store in this process, without HTTP (`store-load.ts`): its withdrawals per second
 * and the CPU each cost, the figure to compare when changing the store.
 */
async function storeScenario(
  harness: Harness,
  id: 'dcu-store-withdraw-hot' | 'dcu-store-withdraw-100',
  accounts: number,
): Promise<ScenarioResult> {
  const steal = startStealMeter();
  const outcome = await storeWithdrawals(harness.runDir, {
    accounts,
    callers: harness.options.connections,
    durationSeconds: harness.options.durationSeconds,
  });
  const stolen = steal();
  const baseline = BASELINE_OF[id];
  return {
    id,
    title: TITLES[id],
    command: reproduceCommand(id, harness.options),
    ...(baseline ? { baseline } : {}),
    status: 'ok',
    rate: outcome.withdrawalsPerSecond,
    latency: outcome.latency,
    failures:
      outcome.wrongBalances > 0
        ? `${outcome.wrongBalances} account(s) ended with a balance other than their withdrawals left`
        : '',
    connections: harness.options.connections,
    durationSeconds: outcome.durationSeconds,
    succeeded: outcome.withdrawals,
    cpu: { 'benchmark process (the store)': outcome.cpuShare },
    ...stolen,
    notes: [
      `${outcome.cpuMicrosPerWithdrawal.toFixed(1)} µs of CPU per withdrawal (this process, its thread pool included), ` +
        'fdatasync included; no warm-up',
    ],
  };
}

/** Runs one scenario; a scenario that throws is reported as failed, and the run goes on. */
export async function runScenario(harness: Harness, id: ScenarioId): Promise<ScenarioResult> {
  const needs = appsNeeded(id);
  const missing = needs.length > 0 ? harness.missingApp(...needs) : undefined;
  if (missing) return skipped(id, harness, missing);
  try {
    return await SCENARIOS[id](harness);
  } catch (error) {
    return {
      id,
      title: TITLES[id],
      command: reproduceCommand(id, harness.options),
      status: 'failed',
      reason: error instanceof Error ? error.message : String(error),
      notes: [],
      ...(BASELINE_OF[id] ? { baseline: BASELINE_OF[id] } : {}),
    };
  }
}

function appsNeeded(id: ScenarioId): ('registry' | 'dcu' | 'agency')[] {
  if (id.startsWith('registry')) return ['registry'];
  if (id.startsWith('dcu-store')) return ['dcu'];
  if (id.startsWith('dcu') || id.startsWith('long')) return ['registry', 'dcu'];
  if (id === 'agency-proposals' || id === 'pg-agency-proposals')
    return ['registry', 'dcu', 'agency'];
  if (id === 'pgbench-withdraw-100' || id === 'pg-dcu-withdraw-100') return ['registry', 'dcu'];
  return [];
}

function skipped(id: ScenarioId, harness: Harness, reason: string): ScenarioResult {
  return {
    id,
    title: TITLES[id],
    command: reproduceCommand(id, harness.options),
    status: 'skipped',
    reason,
    notes: [],
    ...(BASELINE_OF[id] ? { baseline: BASELINE_OF[id] } : {}),
  };
}

async function helloScenario(
  harness: Harness,
  id: 'node-http-hello' | 'fastify-hello',
): Promise<ScenarioResult> {
  const script = path.join(__dirname, 'servers', `${id}.js`);
  const server = await harness.start(id, script, harness.serviceEnv({}));
  try {
    const { result } = await harness.measure({
      id,
      title: TITLES[id],
      load: { url: server.url, path: '/' },
      watch: [server.process],
    });
    return result;
  } finally {
    await harness.stop(server.process);
  }
}

/**
 * A registry of its own holding 1,000 instances. They are registered once and kept listed by
 * a TTL longer than the run instead of by 1,000 heartbeats a second, so the measured traffic
 * is the lookups alone.
 */
async function registryScenario(
  harness: Harness,
  id: 'registry-lookup' | 'registry-lookup-spread' | 'registry-lookup-limit1',
  instance: (index: number) => { type: string; port: number },
  query = '',
): Promise<ScenarioResult> {
  const registry = await harness.startApp('registry', { TTL_MS: '3600000', LOG_LEVEL: 'warn' }, id);
  try {
    const indexes = Array.from({ length: REGISTRY_INSTANCES }, (_, index) => index);
    await forEachLimited(indexes, 16, async (index) => {
      const { type, port } = instance(index);
      const answer = await requestJson(`${registry.url}/register`, {
        method: 'POST',
        headers: bearer(harness.secrets.REGISTRY_TOKEN),
        body: { type, url: `http://127.0.0.1:${port}` },
      });
      if (answer.status !== 201)
        throw new Error(`POST /register answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    });
    const listed = await requestJson<{ instances: unknown[] }>(
      `${registry.url}/services/bench-target${query}`,
    );
    const registered = indexes.filter((index) => instance(index).type === 'bench-target').length;
    const expected = query === '?limit=1' ? 1 : registered;
    if (listed.status !== 200 || listed.body.instances.length !== expected) {
      throw new Error(
        `GET /services/bench-target listed ${listed.body.instances?.length} instances, expected ${expected}`,
      );
    }
    const responseBytes = JSON.stringify(listed.body).length;
    const { result } = await harness.measure({
      id,
      title: TITLES[id],
      load: { url: registry.url, path: `/services/bench-target${query}` },
      watch: [registry.process],
      notes: [
        `each answer lists ${expected} of the type's ${registered} instances (${responseBytes.toLocaleString('en-US')} bytes of JSON)`,
      ],
    });
    return result;
  } finally {
    await harness.stop(registry.process);
  }
}

/**
 * Durable withdrawals of 1 cent, every request with a new Idempotency-Key, over `accountCount`
 * accounts in turn. Afterwards the ledger is checked: the money that left the accounts must
 * cover every withdrawal that was answered 201.
 */
export async function withdrawScenario(
  harness: Harness,
  id:
    | 'dcu-withdraw-hot'
    | 'dcu-withdraw-100'
    | 'dcu-withdraw-100-from-memory'
    | 'long-withdraw'
    | 'pg-dcu-withdraw-100',
  accountCount: number,
  env: Record<string, string> = {},
  notes: string[] = [],
): Promise<ScenarioResult> {
  // Its withdrawals move no money (answers-from-memory.ts), so there is no ledger to check.
  const fromMemory = id === 'dcu-withdraw-100-from-memory';
  const dcu = fromMemory
    ? await startDcuAnsweringFromMemory(harness, id)
    : await startDcu(harness, id, env);
  try {
    const accounts = await openAccounts(harness, dcu.url, accountCount);
    const targets = accounts.map((account) => ({
      path: `/accounts/${account.accountId}/withdrawals`,
      authorization: `Bearer ${account.ownerKey}`,
    }));
    const keys = keySource(id);
    let turn = 0;
    const long = id === 'long-withdraw';
    const first = targets[0] as (typeof targets)[number];
    const { result, warmup, outcome } = await harness.measure({
      id,
      title: TITLES[id],
      load: {
        url: dcu.url,
        method: 'POST',
        path: first.path,
        headers: { 'content-type': 'application/json', authorization: first.authorization },
        body: JSON.stringify({ amountCents: WITHDRAWAL_CENTS }),
        setupRequest: (request: autocannon.RequestData) => {
          const target = targets[turn++ % targets.length] as (typeof targets)[number];
          request.path = target.path;
          request.headers.authorization = target.authorization;
          request.headers['idempotency-key'] = keys();
          return request;
        },
        perSecond: long,
      },
      watch: [dcu.process],
      diskProbe: true,
      ...(long ? { durationSeconds: harness.options.longDurationSeconds } : {}),
      notes: [
        `${accountCount} account(s) funded with ${ACCOUNT_FUNDING_CENTS.toLocaleString('en-US')} cents each; every withdrawal takes ${WITHDRAWAL_CENTS} cent`,
        ...notes,
      ],
    });
    if (fromMemory) return result;
    const answered = (warmup?.succeeded ?? 0) + outcome.succeeded;
    // Each stop of the load (after the warm-up, after the run) may leave one request per connection unanswered.
    const mayBeInFlight = harness.options.connections * (warmup ? 2 : 1);
    const ledger = await ledgerCheck(dcu.url, accounts, answered, mayBeInFlight);
    result.notes.push(ledger.note);
    if (!ledger.consistent)
      result.failures = [result.failures, 'the ledger does not match the answers']
        .filter(Boolean)
        .join('; ');
    return long ? withTrends(result) : result;
  } finally {
    await harness.stop(dcu.process);
  }
}

/** Money that left the accounts vs. withdrawals answered 201 (some may still have been in flight at a stop). */
async function ledgerCheck(
  dcuUrl: string,
  accounts: OpenAccountResponse[],
  answered: number,
  mayBeInFlight: number,
): Promise<{ consistent: boolean; note: string }> {
  await new Promise((resolve) => setTimeout(resolve, 500));
  let movedCents = 0;
  let lowestBalance = Number.POSITIVE_INFINITY;
  for (const account of accounts) {
    const view = await requestJson<AccountView>(`${dcuUrl}/accounts/${account.accountId}`, {
      headers: bearer(account.ownerKey),
    });
    if (view.status !== 200)
      return {
        consistent: false,
        note: `ledger check: GET /accounts/${account.accountId} answered ${view.status}`,
      };
    movedCents += view.body.initialCents - view.body.balanceCents;
    lowestBalance = Math.min(lowestBalance, view.body.balanceCents);
  }
  const moved = movedCents / WITHDRAWAL_CENTS;
  const consistent = moved >= answered && moved - answered <= mayBeInFlight;
  const verdict =
    moved < answered
      ? `MONEY MISSING: fewer withdrawals on the ledger than answered 201`
      : moved - answered <= mayBeInFlight
        ? `consistent (the ${moved - answered} more on the ledger were in flight when the load stopped; at most ${mayBeInFlight} can be)`
        : `MORE withdrawals on the ledger than answered, beyond the ${mayBeInFlight} that could be in flight when the load stopped`;
  return {
    consistent,
    note: `ledger check: ${moved.toLocaleString('en-US')} withdrawals on the ledger, ${answered.toLocaleString('en-US')} answered 201 (warm-up included): ${verdict}; lowest balance left ${lowestBalance.toLocaleString('en-US')} cents`,
  };
}

function withTrends(result: ScenarioResult): ScenarioResult {
  const samples = result.perSecond ?? [];
  const trend = degradation(samples);
  const growth = rssGrowth(samples);
  if (trend) result.degradation = trend;
  if (growth) result.rssGrowth = growth;
  return result;
}

/** A DCU on a folder with one account of HISTORY_RECORDS records, already loaded by one read. */
async function dcuWithHistory(harness: Harness, label: string) {
  const registryUrl = await harness.systemRegistry();
  const accountDir = harness.accountDir(label);
  const env = { REGISTRY_URL: registryUrl, ACCOUNT_DIR: accountDir, DAY_MS: '1000' };
  const seeding = await harness.startApp('dcu', env, `${label} (seeding)`);
  let account: OpenAccountResponse;
  try {
    [account] = await openAccounts(harness, seeding.url, 1);
  } finally {
    await harness.stop(seeding.process);
  }
  await appendWithdrawals(
    path.join(accountDir, `${account.accountId}.ledger.jsonl`),
    HISTORY_RECORDS - 1,
  );
  const dcu = await harness.startApp('dcu', env, label);
  const first = await requestJson<AccountView>(`${dcu.url}/accounts/${account.accountId}`, {
    headers: bearer(account.ownerKey),
  });
  if (
    first.status !== 200 ||
    first.body.balanceCents !== ACCOUNT_FUNDING_CENTS - (HISTORY_RECORDS - 1)
  ) {
    await harness.stop(dcu.process);
    throw new Error(`the long-history account reads ${first.status} ${JSON.stringify(first.body)}`);
  }
  return { dcu, account };
}

/**
 * Accepted proposals: each makes the agency reserve the money and open a new account on the
 * DCU; `env` puts both on a database (DATABASE_URL).
 */
export async function proposalsScenario(
  harness: Harness,
  id: 'agency-proposals' | 'pg-agency-proposals',
  env: Record<string, string> = {},
  notes: string[] = [],
): Promise<ScenarioResult> {
  const missing = harness.missingApp('registry', 'dcu', 'agency');
  if (missing) return skipped(id, harness, missing);
  const registryUrl = await harness.systemRegistry();
  const dcu = await startDcu(harness, `${id}-dcu`, env);
  const agency = await harness
    .startApp(
      'agency',
      { REGISTRY_URL: registryUrl, ...env },
      id === 'agency-proposals' ? 'agency' : `agency (${id})`,
    )
    .catch(async (error: unknown) => {
      await harness.stop(dcu.process);
      throw error;
    });
  try {
    await waitFor(
      'the DCU to be listed in the registry',
      () =>
        requestJson<{ instances: { url: string }[] }>(`${registryUrl}/services/dcu`).then(
          (listed) => listed.body.instances.some((instance) => instance.url === dcu.url),
          () => false, // not answering yet: ask again
        ),
      15_000,
      100,
    );
    const proposal: ProposalRequest = {
      title: 'Benchmark proposal',
      investigator: 'Bench Marker',
      amountCents: 40_000_000,
      durationDays: 365,
    };
    const first = await requestJson<AcceptedProposal>(`${agency.url}/proposals`, {
      method: 'POST',
      headers: { 'idempotency-key': randomUUID() },
      body: proposal,
    });
    if (first.status !== 201 || first.body.status !== 'accepted') {
      throw new Error(`POST /proposals answered ${first.status}: ${JSON.stringify(first.body)}`);
    }
    const keys = keySource('proposal');
    const { result } = await harness.measure({
      id,
      title: TITLES[id],
      load: {
        url: agency.url,
        method: 'POST',
        path: '/proposals',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(proposal),
        setupRequest: (request) => {
          request.headers['idempotency-key'] = keys();
          return request;
        },
        verifyBody: (body) => body.includes('"accepted"'),
      },
      watch: [agency.process, dcu.process],
      diskProbe: true,
      notes: [
        'each proposal opens a new account in the DCU (one durable write there), found through the registry',
        ...notes,
      ],
    });
    return result;
  } finally {
    await harness.stop(agency.process);
    await harness.stop(dcu.process);
  }
}

/** A DCU on a folder of its own, or on the database `env.DATABASE_URL` names. */
export async function startDcu(harness: Harness, label: string, env: Record<string, string> = {}) {
  const registryUrl = await harness.systemRegistry();
  return harness.startApp(
    'dcu',
    { REGISTRY_URL: registryUrl, ACCOUNT_DIR: harness.accountDir(label), DAY_MS: '1000', ...env },
    label.startsWith('dcu') ? label : `dcu (${label})`,
  );
}

/** The DCU's app with its withdrawals answered from memory (servers/dcu-answers-from-memory.ts). */
async function startDcuAnsweringFromMemory(harness: Harness, label: string) {
  const script = path.join(__dirname, 'servers', 'dcu-answers-from-memory.js');
  return harness.start(
    label,
    script,
    harness.serviceEnv({ ACCOUNT_DIR: harness.accountDir(label), DAY_MS: '1000' }),
  );
}

export async function openAccounts(
  harness: Harness,
  dcuUrl: string,
  count: number,
): Promise<[OpenAccountResponse, ...OpenAccountResponse[]]> {
  const accounts: OpenAccountResponse[] = [];
  await forEachLimited(
    Array.from({ length: count }, (_, index) => index),
    8,
    async (index) => {
      const answer = await requestJson<OpenAccountResponse>(`${dcuUrl}/accounts`, {
        method: 'POST',
        headers: bearer(harness.secrets.SERVICE_TOKEN),
        body: {
          proposalId: randomUUID(),
          title: `Benchmark account ${index + 1}`,
          investigator: 'Bench Marker',
          amountCents: ACCOUNT_FUNDING_CENTS,
          durationDays: ACCOUNT_DURATION_DAYS,
        },
      });
      if (answer.status !== 201)
        throw new Error(`POST /accounts answered ${answer.status}: ${JSON.stringify(answer.body)}`);
      accounts[index] = answer.body;
    },
  );
  return accounts as [OpenAccountResponse, ...OpenAccountResponse[]];
}

function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** Unique Idempotency-Keys, cheaply: a random prefix per run and a counter. */
export function keySource(label: string): () => string {
  const prefix = `${label}-${randomUUID().slice(0, 8)}-`;
  let next = 0;
  return () => prefix + String(next++);
}

/**
 * One registry holding 10,000 instances, each heartbeating once a second on its own timer, for
 * the scenario's duration. The instances first register one after another over
 * HEARTBEAT_RAMP_PERIODS seconds, heartbeating from their registration on, as a fleet comes
 * up; the rate and latency judged are those of the heartbeats due once all of them had
 * registered and heartbeated for a second: the rate really reached, counted over the real
 * elapsed time, and latency from when each heartbeat was due. Afterwards every instance must
 * still be listed. The same generator against a bare node:http server
 * (`node-http-heartbeats-10k`) is the reference: what any Node server gets from this machine at
 * that moment.
 */
async function heartbeatScenario(
  harness: Harness,
  id: 'registry-heartbeats-10k' | 'node-http-heartbeats-10k',
  start: (label: string) => ReturnType<Harness['start']>,
): Promise<ScenarioResult> {
  const registry = await start(id);
  try {
    const instances = Array.from({ length: HEARTBEAT_INSTANCES }, (_, index) => ({
      type: `bench-${index % 10}`,
      url: `http://127.0.0.1:${20_000 + index}`,
    }));
    const cpuBefore = cpuSecondsOf(registry.process);
    const outcome = await paceHeartbeats({
      url: registry.url,
      token: harness.secrets.REGISTRY_TOKEN,
      instances,
      periodMs: 1000,
      rampPeriods: HEARTBEAT_RAMP_PERIODS,
      durationSeconds: harness.options.durationSeconds,
      connections: 64,
    });
    const cpuAfter = cpuSecondsOf(registry.process);
    const all = await requestJson<{ services: Record<string, unknown[]> }>(
      `${registry.url}/services`,
    );
    const listed = Object.values(all.body.services ?? {}).reduce(
      (sum, list) => sum + list.length,
      0,
    );
    const notListed = HEARTBEAT_INSTANCES - listed;
    const heartbeats = outcome.sent - outcome.registrations;
    const refused = heartbeats - (outcome.statusCounts['204'] ?? 0) - outcome.errors;
    const failures = [
      outcome.dropped > 0 ? `${outcome.dropped} heartbeats found their instance dropped (404)` : '',
      refused - outcome.dropped > 0
        ? `${refused - outcome.dropped} other non-204 answers (${JSON.stringify(outcome.statusCounts)})`
        : '',
      outcome.errors > 0 ? `${outcome.errors} requests without an answer` : '',
      notListed > 0 ? `${notListed} instances not listed at the end` : '',
    ]
      .filter(Boolean)
      .join('; ');
    const rss = rssBytesOf(registry.process);
    const peak = await peakRssBytes(registry.process.pid);
    return {
      id,
      title: TITLES[id],
      command: reproduceCommand(id, harness.options),
      status: 'ok',
      rate: outcome.steadyPerSecond,
      latency: outcome.steadyLatency,
      failures,
      connections: 64,
      durationSeconds: outcome.durationSeconds,
      succeeded: outcome.statusCounts['204'] ?? 0,
      statusCounts: outcome.statusCounts,
      cpu: {
        ...(cpuBefore !== undefined && cpuAfter !== undefined
          ? { [id]: (cpuAfter - cpuBefore) / outcome.durationSeconds }
          : {}),
        'load generator': outcome.generatorCpuSeconds / outcome.durationSeconds,
      },
      ...(rss !== undefined ? { rssBytes: { [id]: rss } } : {}),
      ...(peak !== undefined ? { peakRssBytes: peak } : {}),
      notes: [
        `rate and latency above: the heartbeats due once all ${HEARTBEAT_INSTANCES.toLocaleString('en-US')} instances had registered ` +
          `and heartbeated for a second, planned ${outcome.plannedPerSecond.toLocaleString('en-US')}/s, reached ` +
          `${Math.round(outcome.steadyPerSecond).toLocaleString('en-US')}/s (answers over the real elapsed time, not autocannon's overallRate)`,
        `before that, ${outcome.registrations.toLocaleString('en-US')} registrations one after another over ${HEARTBEAT_RAMP_PERIODS} s, ` +
          `each instance heartbeating from its own registration on: registrations p50 ${outcome.registrationLatency.p50Ms.toFixed(1)} ms, ` +
          `p99 ${outcome.registrationLatency.p99Ms.toFixed(1)} ms`,
        `every message of the run (ramp included): ${outcome.answered.toLocaleString('en-US')} answered, ` +
          `${Math.round(outcome.achievedPerSecond).toLocaleString('en-US')}/s on average, p50 ${outcome.latency.p50Ms.toFixed(1)} ms, ` +
          `p99 ${outcome.latency.p99Ms.toFixed(1)} ms; the generator sent at most ${outcome.maxBacklog} messages in one of its 2 ms ticks`,
        `${listed.toLocaleString('en-US')} of ${HEARTBEAT_INSTANCES.toLocaleString('en-US')} instances listed afterwards`,
        `worst latency of the messages due in each second: ${outcome.worstBySecond.map((ms) => ms.toFixed(0)).join(', ')} ms`,
        `the load generator's own event loop was late by at most ${outcome.generatorLoopDelay.maxMs.toFixed(1)} ms ` +
          `(p99 ${outcome.generatorLoopDelay.p99Ms.toFixed(1)} ms): at most that much of the latency above is queueing in the generator itself`,
        ...(peak !== undefined ? [`peak RSS ${(peak / 1024 / 1024).toFixed(0)} MB`] : []),
      ],
    };
  } finally {
    await harness.stop(registry.process);
  }
}

/** The baseline of the watch scenario: a bare node:http server holding as many requests. */
async function waitBaselineScenario(harness: Harness): Promise<ScenarioResult> {
  const id = 'node-http-wait-5k';
  const server = await harness.start(
    id,
    path.join(__dirname, 'servers', 'node-http-wait.js'),
    harness.serviceEnv({}),
  );
  try {
    const outcome = await fanOut({
      url: server.url,
      path: '/wait',
      count: WATCHERS,
      held: async () =>
        (await requestJson<{ waiting: number }>(`${server.url}/waiting`)).body.waiting,
      trigger: async () => {
        await requestJson(`${server.url}/release`, { method: 'POST' });
      },
      timeoutMs: 120_000,
    });
    return fanOutResult(harness, id, outcome, [
      `from POST /release until the last of ${WATCHERS} held requests was answered: ${outcome.latency.maxMs.toFixed(0)} ms`,
    ]);
  } finally {
    await harness.stop(server.process);
  }
}

/**
 * 5,000 watchers of one type (`?index=I&wait=60000`, each on its own connection), then one
 * registration: how long until the last of them has the new list. Also times how long a
 * silent (crashed) instance takes to reach a watcher, against ttlMs + heartbeatIntervalMs + 100.
 */
async function watchScenario(harness: Harness): Promise<ScenarioResult> {
  const id = 'registry-watch-5k';
  const heartbeatIntervalMs = 1000;
  const registry = await harness.startApp(
    'registry',
    { HEARTBEAT_INTERVAL_MS: String(heartbeatIntervalMs), LOG_LEVEL: 'warn' },
    id,
  );
  try {
    const register = (type: string, port: number) =>
      requestJson<{ id: string; ttlMs: number }>(`${registry.url}/register`, {
        method: 'POST',
        headers: bearer(harness.secrets.REGISTRY_TOKEN),
        body: { type, url: `http://127.0.0.1:${port}` },
      });
    const indexOf = async (type: string) => {
      const response = await fetch(`${registry.url}/services/${type}`);
      await response.arrayBuffer();
      return response.headers.get('x-registry-index');
    };
    const index = await indexOf('bench-watched');
    const outcome = await fanOut({
      url: registry.url,
      path: `/services/bench-watched?index=${index}&wait=60000`,
      count: WATCHERS,
      held: async () =>
        (await requestJson<{ watchers: number }>(`${registry.url}/dashboard/state`)).body.watchers,
      trigger: async () => {
        const answer = await register('bench-watched', 20_001);
        if (answer.status !== 201) throw new Error(`POST /register answered ${answer.status}`);
      },
      timeoutMs: 120_000,
    });

    // A crash: an instance that never heartbeats; one watcher times its disappearance.
    const crashed = await register('bench-crash', 20_002);
    const registeredAt = performance.now();
    const crashIndex = await indexOf('bench-crash');
    const watch = await fetch(
      `${registry.url}/services/bench-crash?index=${crashIndex}&wait=60000`,
    );
    const body = (await watch.json()) as { instances: unknown[] };
    const crashSeenMs = performance.now() - registeredAt;
    const crashLimitMs = crashed.body.ttlMs + heartbeatIntervalMs + 100;
    return fanOutResult(harness, id, outcome, [
      `from POST /register until the last of ${WATCHERS} watchers had the new list: ${outcome.latency.maxMs.toFixed(0)} ms`,
      `a silent instance left a watcher's list ${crashSeenMs.toFixed(0)} ms after its registration (its last sign of life); ` +
        `the contract allows ttlMs + heartbeatIntervalMs + 100 = ${crashLimitMs} ms` +
        (body.instances.length === 0 ? '' : ' (but the answer still listed it)'),
    ]);
  } finally {
    await harness.stop(registry.process);
  }
}

function fanOutResult(
  harness: Harness,
  id: 'node-http-wait-5k' | 'registry-watch-5k',
  outcome: Awaited<ReturnType<typeof fanOut>>,
  notes: string[],
): ScenarioResult {
  const wrong = WATCHERS - (outcome.statusCounts['200'] ?? 0);
  const result: ScenarioResult = {
    id,
    title: TITLES[id],
    command: reproduceCommand(id, harness.options),
    status: 'ok',
    // Answers per second while fanning out: the watchers over the time the last one took.
    rate: outcome.answered / (outcome.latency.maxMs / 1000),
    latency: outcome.latency,
    failures:
      wrong > 0
        ? `${wrong} of ${WATCHERS} not answered 200 (${JSON.stringify(outcome.statusCounts)}, ${outcome.failed} errors)`
        : '',
    connections: WATCHERS,
    durationSeconds: outcome.latency.maxMs / 1000,
    succeeded: outcome.statusCounts['200'] ?? 0,
    statusCounts: outcome.statusCounts,
    notes,
  };
  const baseline = BASELINE_OF[id];
  if (baseline) result.baseline = baseline;
  return result;
}
