import { randomUUID } from 'node:crypto';
import type {
  AddResearcherResponse,
  ProposalResponse,
  WithdrawalResponse,
} from '@grantline/contracts';
import {
  backoffDelay,
  NoInstanceError,
  UncertainOutcomeError,
  type CallRequest,
  type CallResponse,
  type RegistryClient,
} from '@grantline/registry-client';
import { mulberry32, sleep } from '@grantline/process-kit';
import { between, pickFrom } from './random';

/** An account the load opened through an agency, with its two keys. */
export interface LoadAccount {
  accountId: string;
  initialCents: number;
  ownerKey: string;
  studentKey: string;
  shared: boolean;
}

/** A withdrawal the DCU answered 2xx: it must be in the ledger exactly once. */
export interface AcknowledgedWithdrawal {
  accountId: string;
  idempotencyKey: string;
  withdrawalId: string;
  amountCents: number;
  /** Answered as a replay (Idempotent-Replayed: true) of an earlier attempt with the key. */
  replayed: boolean;
}

export interface LoadOptions {
  client: RegistryClient;
  random: () => number;
  actors: number;
  /** Fresh withdrawals in all (replays of acknowledged keys are extra). */
  withdrawals: number;
  /** Accounts every actor withdraws from (the cross-DCU lock gets contended there). */
  sharedAccounts: number;
  /** An actor opens a new account of its own after this many withdrawals from its own. */
  ownWithdrawalsPerAccount: number;
  /** Pause between an actor's withdrawals: uniform in [0, 2 * meanPauseMs]. */
  meanPauseMs: number;
  /** A call is retried (same Idempotency-Key) until this long after its first try. */
  callDeadlineMs?: number;
  /** Called after every fresh withdrawal that got a final answer. */
  onProgress?: (done: number) => void;
  signal?: AbortSignal;
}

export interface CallStats {
  calls: number;
  /** Calls the registry client answered only after trying another instance. */
  failedOver: number;
  /** Tries of the whole call again after the client gave up or the service answered 5xx. */
  retried: number;
  /** Every call's duration (ms), by operation. */
  latencies: Record<string, number[]>;
  /** Durations of the calls that needed a failover or a retry. */
  disturbedLatencies: number[];
  statuses: Record<string, number>;
  /** Why calls were tried again: "NoInstanceError: no dcu instance is registered", "dcu 503", ... */
  retryReasons: Record<string, number>;
}

export interface LoadResult {
  accounts: LoadAccount[];
  acknowledged: Map<string, AcknowledgedWithdrawal>;
  /** Keys the DCU refused (409 overdraw ...): never in the ledger. */
  refused: Map<string, { accountId: string; statusCode: number }>;
  /** Keys whose outcome is unknown (the load gave up on them): may be in the ledger once. */
  unresolved: Map<string, { accountId: string; amountCents: number; error: string }>;
  /** Operations that did not end as the contract says they should. */
  failures: string[];
  stats: CallStats;
  freshWithdrawals: number;
  replays: number;
  durationMs: number;
}

const OVERDRAW_CENTS = 60_000_000; // more than any account ever holds (50,000,000 at most)

/**
 * The equivalent of the researchers simulation, heavier: `actors` concurrent actors, each
 * opening accounts through the agencies (Idempotency-Key), adding a student (Idempotency-Key),
 * and withdrawing from its own accounts and from shared ones, every call through
 * RegistryClient.call with an Idempotency-Key, retried with the same key until it gets a
 * final answer. Also asks for impossible amounts (409) and replays acknowledged keys.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const started = Date.now();
  const result: LoadResult = {
    accounts: [],
    acknowledged: new Map(),
    refused: new Map(),
    unresolved: new Map(),
    failures: [],
    stats: {
      calls: 0,
      failedOver: 0,
      retried: 0,
      latencies: {},
      disturbedLatencies: [],
      statuses: {},
      retryReasons: {},
    },
    freshWithdrawals: 0,
    replays: 0,
    durationMs: 0,
  };
  const caller = new Caller(
    options.client,
    result,
    options.callDeadlineMs ?? 30_000,
    options.signal,
  );
  const random = options.random;

  const shared = (
    await Promise.all(
      Array.from({ length: options.sharedAccounts }, () => openAccount(caller, random, true)),
    )
  ).filter((account): account is LoadAccount => account !== undefined);

  const perActor = Math.ceil(options.withdrawals / options.actors);
  let remaining = options.withdrawals;
  const actor = async (index: number) => {
    // Each actor draws from its own stream, seeded from the shared one before any await.
    const own = streamFrom(random);
    let account: LoadAccount | undefined;
    let ownUsed = 0;
    const mine: AcknowledgedWithdrawal[] = [];
    const keysOf = new Map<string, string>(); // idempotencyKey -> bearer key it was sent with
    for (let done = 0; done < perActor && remaining > 0 && !options.signal?.aborted;) {
      await sleep(between(own, 0, 2 * options.meanPauseMs));
      const roll = own();
      if (roll < 0.06 && mine.length > 0) {
        // Replay an acknowledged withdrawal: same key, same body, same researcher.
        const earlier = pickFrom(own, mine);
        await replay(caller, earlier, keysOf.get(earlier.idempotencyKey)!, result);
        result.replays += 1;
        continue;
      }
      let target: LoadAccount | undefined;
      if (own() < 0.5 && shared.length > 0) {
        target = pickFrom(own, shared);
      } else {
        if (!account || ownUsed >= options.ownWithdrawalsPerAccount) {
          account = await openAccount(caller, own, false);
          ownUsed = 0;
          if (!account) {
            result.failures.push(`actor ${index}: could not open an account`);
            return;
          }
        }
        target = account;
        ownUsed += 1;
      }
      const bearerKey = own() < 0.5 ? target.ownerKey : target.studentKey;
      const amountCents = roll > 0.97 ? OVERDRAW_CENTS : between(own, 100, 150_000);
      const acknowledged = await withdraw(caller, target, bearerKey, amountCents, result);
      if (acknowledged) {
        mine.push(acknowledged);
        keysOf.set(acknowledged.idempotencyKey, bearerKey);
      }
      done += 1;
      remaining -= 1;
      result.freshWithdrawals += 1;
      options.onProgress?.(result.freshWithdrawals);
    }
  };
  await Promise.all(Array.from({ length: options.actors }, (_, index) => actor(index)));
  result.durationMs = Date.now() - started;
  return result;

  async function openAccount(
    call: Caller,
    draw: () => number,
    isShared: boolean,
  ): Promise<LoadAccount | undefined> {
    const initialCents = between(draw, 30_000_000, 50_000_000);
    const proposal = {
      title: isShared ? 'Shared chaos account' : 'Chaos account',
      investigator: 'Ada Lovelace',
      amountCents: initialCents,
      durationDays: 3650,
    };
    const proposalKey = randomUUID();
    const opened = await call.call<ProposalResponse>('propose', 'agency', {
      method: 'POST',
      path: '/proposals',
      body: proposal,
      idempotencyKey: proposalKey,
    });
    if (!opened || opened.statusCode !== 201 || opened.body.status !== 'accepted') {
      result.failures.push(`propose: ${describe(opened)}`);
      return undefined;
    }
    const { accountId, ownerKey } = opened.body;
    const added = await call.call<AddResearcherResponse>('add student', 'dcu', {
      method: 'POST',
      path: `/accounts/${accountId}/researchers`,
      headers: { authorization: `Bearer ${ownerKey}` },
      body: { name: 'Grace Hopper' },
      idempotencyKey: randomUUID(),
    });
    if (!added || added.statusCode !== 201) {
      result.failures.push(`add student to ${accountId}: ${describe(added)}`);
      return undefined;
    }
    const account = {
      accountId,
      initialCents,
      ownerKey,
      studentKey: added.body.key,
      shared: isShared,
    };
    result.accounts.push(account);
    return account;
  }
}

async function withdraw(
  caller: Caller,
  account: LoadAccount,
  bearerKey: string,
  amountCents: number,
  result: LoadResult,
): Promise<AcknowledgedWithdrawal | undefined> {
  const idempotencyKey = randomUUID();
  const response = await caller.call<WithdrawalResponse>('withdraw', 'dcu', {
    method: 'POST',
    path: `/accounts/${account.accountId}/withdrawals`,
    headers: { authorization: `Bearer ${bearerKey}` },
    body: { amountCents, note: 'chaos' },
    idempotencyKey,
  });
  if (!response) {
    result.unresolved.set(idempotencyKey, {
      accountId: account.accountId,
      amountCents,
      error: caller.lastError,
    });
    result.failures.push(`withdraw ${amountCents} from ${account.accountId}: ${caller.lastError}`);
    return undefined;
  }
  if (response.statusCode === 201) {
    const acknowledged: AcknowledgedWithdrawal = {
      accountId: account.accountId,
      idempotencyKey,
      withdrawalId: response.body.withdrawalId,
      amountCents: response.body.amountCents,
      replayed: response.headers['idempotent-replayed'] === 'true',
    };
    if (response.body.amountCents !== amountCents)
      result.failures.push(`withdraw ${amountCents}: answered ${response.body.amountCents}`);
    result.acknowledged.set(idempotencyKey, acknowledged);
    return acknowledged;
  }
  result.refused.set(idempotencyKey, {
    accountId: account.accountId,
    statusCode: response.statusCode,
  });
  if (!(response.statusCode === 409 && amountCents === OVERDRAW_CENTS)) {
    result.failures.push(
      `withdraw ${amountCents} from ${account.accountId}: ${describe(response)}`,
    );
  }
  return undefined;
}

async function replay(
  caller: Caller,
  earlier: AcknowledgedWithdrawal,
  bearerKey: string,
  result: LoadResult,
): Promise<void> {
  const response = await caller.call<WithdrawalResponse>('replay', 'dcu', {
    method: 'POST',
    path: `/accounts/${earlier.accountId}/withdrawals`,
    headers: { authorization: `Bearer ${bearerKey}` },
    body: { amountCents: earlier.amountCents, note: 'chaos' },
    idempotencyKey: earlier.idempotencyKey,
  });
  if (
    response?.statusCode !== 201 ||
    response.body.withdrawalId !== earlier.withdrawalId ||
    response.headers['idempotent-replayed'] !== 'true'
  ) {
    result.failures.push(
      `replay of ${earlier.idempotencyKey} (${earlier.withdrawalId}): ${describe(response)} replayed=${String(response?.headers['idempotent-replayed'])}`,
    );
  }
}

/**
 * RegistryClient.call, repeated with the same Idempotency-Key while no instance answers or the
 * answer is a 5xx, until `deadlineMs` after the first try. Counts failovers and retries.
 */
class Caller {
  lastError = '';

  constructor(
    private readonly client: RegistryClient,
    private readonly result: LoadResult,
    private readonly deadlineMs: number,
    private readonly signal: AbortSignal | undefined,
  ) {}

  private because(reason: string): void {
    const reasons = this.result.stats.retryReasons;
    reasons[reason] = (reasons[reason] ?? 0) + 1;
  }

  async call<T>(
    operation: string,
    type: string,
    request: CallRequest,
  ): Promise<CallResponse<T> | undefined> {
    const stats = this.result.stats;
    const started = Date.now();
    const deadline = started + this.deadlineMs;
    let disturbed = false;
    stats.calls += 1;
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) {
        stats.retried += 1;
        disturbed = true;
        await sleep(backoffDelay(attempt, 50, 1_000));
      }
      try {
        const response = await this.client.call<T>(type, {
          timeoutMs: 5_000,
          deadlineMs: 10_000,
          ...request,
        });
        if (response.attempts > 1) {
          stats.failedOver += 1;
          disturbed = true;
        }
        if (response.statusCode >= 500 && Date.now() < deadline && !this.signal?.aborted) {
          this.lastError = `${type} answered ${response.statusCode}: ${JSON.stringify(response.body)}`;
          this.because(
            `${type} ${response.statusCode} ${(response.body as { code?: string } | undefined)?.code ?? ''}`,
          );
          continue;
        }
        const elapsed = Date.now() - started;
        (stats.latencies[operation] ??= []).push(elapsed);
        if (disturbed) stats.disturbedLatencies.push(elapsed);
        const status = `${operation} ${response.statusCode}`;
        stats.statuses[status] = (stats.statuses[status] ?? 0) + 1;
        return response;
      } catch (error) {
        if (!(error instanceof NoInstanceError) && !(error instanceof UncertainOutcomeError))
          throw error;
        this.lastError = error.message;
        this.because(`${error.name}: ${error.message.replace(/\d+/g, 'N').slice(0, 80)}`);
        if (Date.now() >= deadline || this.signal?.aborted) return undefined;
      }
    }
  }
}

function describe(response: CallResponse | undefined): string {
  if (!response) return 'no answer';
  return `${response.statusCode} ${JSON.stringify(response.body).slice(0, 300)}`;
}

/** A new generator seeded from `random`, so concurrent actors do not depend on each other's timing. */
function streamFrom(random: () => number): () => number {
  return mulberry32(Math.floor(random() * 2 ** 32));
}
