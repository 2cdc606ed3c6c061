import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type autocannon from 'autocannon';
import type {
  AcceptedProposal,
  AccountView,
  OpenAccountResponse,
  ProposalRequest,
} from '@grantline/contracts';
import { measureDurableWrites } from './disk';
import { forEachLimited, reproduceCommand, requestJson, waitUntil, type Harness } from './harness';
import type { ScenarioId } from './options';
import { BASELINE_OF } from './options';
import type { ScenarioResult } from './results';
import { degradation, rssGrowth } from './stats';

/** Enough for every 1-cent withdrawal of a long run at any rate this machine can reach. */
export const ACCOUNT_FUNDING_CENTS = 50_000_000;
export const WITHDRAWAL_CENTS = 1;
/** Long, so no account expires during a run (one day = DAY_MS = 1 s by default). */
export const ACCOUNT_DURATION_DAYS = 3650;
export const REGISTRY_INSTANCES = 1000;
export const SPREAD_TYPES = 100;
export const SPREAD_ACCOUNTS = 100;

type ScenarioRunner = (harness: Harness) => Promise<ScenarioResult>;

const TITLES: Record<ScenarioId, string> = {
  'disk-durable-write':
    'raw durable writes of 1 KB (write temp + fsync + rename + fsync dir), sequential',
  'node-http-hello': 'bare node:http hello',
  'fastify-hello': 'bare Fastify hello',
  'registry-lookup': `registry GET /services/:type, ${REGISTRY_INSTANCES} instances of that type`,
  'registry-lookup-spread': `registry GET /services/:type, ${REGISTRY_INSTANCES} instances over ${SPREAD_TYPES} types`,
  'dcu-read': 'DCU GET /accounts/:id with the owner key',
  'dcu-withdraw-hot': `DCU durable withdrawals of ${WITHDRAWAL_CENTS} cent, one hot account, a new Idempotency-Key each`,
  'dcu-withdraw-100': `DCU durable withdrawals of ${WITHDRAWAL_CENTS} cent over ${SPREAD_ACCOUNTS} accounts, a new Idempotency-Key each`,
  'agency-proposals': 'agency POST /proposals, accepted (agency -> DCU, a new account each)',
  'long-read': 'long run of DCU reads',
  'long-withdraw': 'long run of hot-account DCU withdrawals',
};

export function titleOf(id: ScenarioId): string {
  return TITLES[id];
}

export const SCENARIOS: Record<ScenarioId, ScenarioRunner> = {
  'disk-durable-write': async (harness) => {
    const outcome = measureDurableWrites(harness.runDir, harness.options.durationSeconds);
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
      notes: [`in ${harness.runDir} (the folder the DCU's accounts are kept in during this run)`],
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

  'agency-proposals': async (harness) => {
    const missing = harness.missingApp('registry', 'dcu', 'agency');
    if (missing) return skipped('agency-proposals', harness, missing);
    const registryUrl = await harness.systemRegistry();
    const dcu = await startDcu(harness, 'agency-dcu');
    const agency = await harness
      .startApp('agency', { REGISTRY_URL: registryUrl }, 'agency')
      .catch(async (error: unknown) => {
        await harness.stop(dcu.process);
        throw error;
      });
    try {
      await waitUntil('the DCU to be listed in the registry', async () => {
        const listed = await requestJson<{ instances: { url: string }[] }>(
          `${registryUrl}/services/dcu`,
        );
        return listed.body.instances.some((instance) => instance.url === dcu.url);
      });
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
        id: 'agency-proposals',
        title: TITLES['agency-proposals'],
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
        ],
      });
      return result;
    } finally {
      await harness.stop(agency.process);
      await harness.stop(dcu.process);
    }
  },

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
  if (id.startsWith('dcu') || id.startsWith('long')) return ['registry', 'dcu'];
  if (id === 'agency-proposals') return ['registry', 'dcu', 'agency'];
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
  id: 'registry-lookup' | 'registry-lookup-spread',
  instance: (index: number) => { type: string; port: number },
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
      `${registry.url}/services/bench-target`,
    );
    const expected = indexes.filter((index) => instance(index).type === 'bench-target').length;
    if (listed.status !== 200 || listed.body.instances.length !== expected) {
      throw new Error(
        `GET /services/bench-target listed ${listed.body.instances?.length} instances, expected ${expected}`,
      );
    }
    const responseBytes = JSON.stringify(listed.body).length;
    const { result } = await harness.measure({
      id,
      title: TITLES[id],
      load: { url: registry.url, path: '/services/bench-target' },
      watch: [registry.process],
      notes: [
        `each answer lists ${expected} instances (${responseBytes.toLocaleString('en-US')} bytes of JSON)`,
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
async function withdrawScenario(
  harness: Harness,
  id: 'dcu-withdraw-hot' | 'dcu-withdraw-100' | 'long-withdraw',
  accountCount: number,
): Promise<ScenarioResult> {
  const dcu = await startDcu(harness, id);
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
      ],
    });
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

async function startDcu(harness: Harness, label: string) {
  const registryUrl = await harness.systemRegistry();
  return harness.startApp(
    'dcu',
    { REGISTRY_URL: registryUrl, ACCOUNT_DIR: harness.accountDir(label), DAY_MS: '1000' },
    label.startsWith('dcu') ? label : `dcu (${label})`,
  );
}

async function openAccounts(
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
