import { randomUUID } from 'node:crypto';
import { formatEuro, type AccountView, type WithdrawalResponse } from '@grantline/contracts';
import type { RegistryClient } from '@grantline/registry-client';
import {
  endReasonOf,
  judgeWithdrawalAnswer,
  nextWithdrawalCents,
  type WithdrawalVerdict,
} from '../domain/decisions';
import { drawExpense, drawPauseMs, drawWithdrawalCents, type ProjectPlan } from '../domain/draws';
import type { Random } from '../domain/random';
import type { IntRange } from '../domain/range';
import type { Printer, Speaker } from '../output/printer';
import { callWithRetries, messageOf } from './calls';
import type { FailureTally, ProjectState } from './project-state';

export interface SpenderContext {
  client: RegistryClient;
  printer: Printer;
  tally: FailureTally;
  speaker: Speaker;
  random: Random;
  plan: ProjectPlan;
  accountId: string;
  /** The owner key (professor) or the student's own key. */
  key: string;
  pauseMs: IntRange;
  project: ProjectState;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** An actor gives up after this many failed looks in a row rather than loop on a broken service. */
const MAX_CONSECUTIVE_FAILURES = 3;
/** Repeats of a withdrawal whose twin (same key) is still being applied. */
const MAX_IN_FLIGHT_WAITS = 5;

/**
 * One actor's life on an accepted project: look at the account, withdraw a random amount,
 * pause; until the account has expired or is empty, which ends it for everyone.
 * Draws happen in the same order whatever the answers, so the seed fixes every choice.
 */
export async function spend(context: SpenderContext): Promise<void> {
  const { printer, speaker, project } = context;
  let consecutiveFailures = 0;
  while (!project.over) {
    const drawnCents = drawWithdrawalCents(context.random, context.plan);
    const expense = drawExpense(context.random);
    const pauseMs = drawPauseMs(context.random, context.pauseMs);

    const account = await lookAtAccount(context);
    if (project.over) break;
    if (!account) {
      consecutiveFailures += 1;
      if (consecutiveFailures >= MAX_CONSECUTIVE_FAILURES) {
        await printer.event(speaker, 'gives up after repeated failures', 'bad');
        return;
      }
      await context.sleep(pauseMs, project.signal);
      continue;
    }
    consecutiveFailures = 0;

    const endReason = endReasonOf(account);
    if (endReason) {
      await endProject(context, endReason, account.balanceCents);
      return;
    }

    const amountCents = nextWithdrawalCents(drawnCents, account.balanceCents) as number;
    if (amountCents < drawnCents) {
      await printer.event(
        speaker,
        `wanted ${formatEuro(drawnCents)} but only ${formatEuro(account.balanceCents)} is left; asks for that`,
        'quiet',
      );
    }
    const verdict = await withdraw(context, amountCents, expense);
    if (verdict === 'expired') {
      await endProject(context, 'expired', account.balanceCents);
      return;
    }
    if (verdict === 'overdraw') {
      await printer.event(
        speaker,
        `${formatEuro(amountCents)} is more than is left now; will look again`,
        'quiet',
      );
    }
    await context.sleep(pauseMs, project.signal);
  }
}

async function lookAtAccount(context: SpenderContext): Promise<AccountView | undefined> {
  const outcome = await callWithRetries<AccountView>(
    context.client,
    'dcu',
    {
      method: 'GET',
      path: `/accounts/${context.accountId}`,
      headers: { authorization: `Bearer ${context.key}` },
    },
    { retries: 3, sleep: context.sleep, signal: context.project.signal },
  );
  if (!outcome.ok) {
    await context.tally.record(context.speaker, 'look at the account', outcome.error);
    return undefined;
  }
  const { statusCode, body } = outcome.response;
  if (statusCode !== 200) {
    await context.tally.record(
      context.speaker,
      'look at the account',
      `DCU answered ${statusCode}: ${messageOf(body)}`,
    );
    return undefined;
  }
  return body;
}

async function withdraw(
  context: SpenderContext,
  amountCents: number,
  expense: string,
): Promise<WithdrawalVerdict> {
  const { printer, speaker, project } = context;
  // One key per withdrawal, reused on every retry: the DCU applies it at most once.
  const idempotencyKey = randomUUID();
  for (let wait = 0; ; wait++) {
    const outcome = await callWithRetries<WithdrawalResponse>(
      context.client,
      'dcu',
      {
        method: 'POST',
        path: `/accounts/${context.accountId}/withdrawals`,
        headers: { authorization: `Bearer ${context.key}` },
        body: { amountCents, note: expense },
        idempotencyKey,
      },
      { retries: 3, sleep: context.sleep, signal: project.runSignal },
    );
    if (!outcome.ok) {
      if (outcome.uncertain) project.uncertainWithdrawals += 1;
      await context.tally.record(speaker, `withdraw ${formatEuro(amountCents)}`, outcome.error);
      return 'failed';
    }
    const { statusCode, body } = outcome.response;
    const verdict = judgeWithdrawalAnswer(statusCode, body);
    if (verdict === 'in-flight' && wait < MAX_IN_FLIGHT_WAITS) {
      await context.sleep(50);
      continue;
    }
    if (verdict === 'withdrawn') {
      const answer = body as WithdrawalResponse;
      project.withdrawals.push({
        withdrawalId: answer.withdrawalId,
        amountCents: answer.amountCents,
        actor: speaker.actor,
      });
      await printer.event(
        speaker,
        `withdraws ${formatEuro(answer.amountCents)} for ${expense} → balance ${formatEuro(answer.balanceCents)}`,
      );
    } else if (verdict === 'retry' || verdict === 'failed' || verdict === 'in-flight') {
      if (verdict !== 'failed') project.uncertainWithdrawals += 1;
      await context.tally.record(
        speaker,
        `withdraw ${formatEuro(amountCents)}`,
        `DCU answered ${statusCode}: ${messageOf(body)}`,
      );
    }
    return verdict;
  }
}

async function endProject(
  context: SpenderContext,
  reason: 'expired' | 'empty',
  balanceCents: number,
): Promise<void> {
  const first = context.project.endReason === undefined;
  context.project.end(reason);
  if (!first) return;
  const text =
    reason === 'expired'
      ? `the account has expired with ${formatEuro(balanceCents)} unspent; everyone stops`
      : 'the account is empty; everyone stops';
  await context.printer.event(context.speaker, text, reason === 'expired' ? 'plain' : 'good');
}
