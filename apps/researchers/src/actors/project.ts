import { randomUUID } from 'node:crypto';
import {
  formatEuro,
  type AddResearcherResponse,
  type ProposalRequest,
  type ProposalResponse,
  type ProposalView,
} from '@grantline/contracts';
import type { RegistryClient } from '@grantline/registry-client';
import type { ProjectPlan } from '../domain/draws';
import { streamFor } from '../domain/random';
import type { IntRange } from '../domain/range';
import type { ProjectReport } from '../domain/project-report';
import type { Printer, Speaker } from '../output/printer';
import { callWithRetries, messageOf } from './calls';
import { ProjectState, type FailureTally } from './project-state';
import { spend } from './spender';

export interface ProjectContext {
  client: RegistryClient;
  printer: Printer;
  tally: FailureTally;
  plan: ProjectPlan;
  colour: Speaker['colour'];
  seed: number;
  pauseMs: IntRange;
  /** Aborted on timeout or Ctrl-C. */
  runSignal: AbortSignal;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * One project from proposal to its end: the professor asks the agency; if the grant is
 * accepted, adds the students, then everyone spends concurrently until the account is over.
 */
export async function runProject(context: ProjectContext): Promise<ProjectReport> {
  const { plan, printer } = context;
  const professor = speaker(context, `prof. ${plan.professor}`);
  const report: ProjectReport = {
    plan,
    decision: 'no answer',
    studentsAdded: 0,
    withdrawals: [],
    uncertainWithdrawals: 0,
    ending: { kind: 'failed', reason: 'no answer from the agency' },
    problems: [],
  };

  await printer.event(
    professor,
    `asks for ${formatEuro(plan.amountCents)} over ${plan.durationDays} days: "${plan.title}"`,
  );
  const proposal: ProposalRequest = {
    title: plan.title,
    investigator: `Prof. ${plan.professor}`,
    amountCents: plan.amountCents,
    durationDays: plan.durationDays,
  };
  const outcome = await callWithRetries<ProposalResponse>(
    context.client,
    'agency',
    { method: 'POST', path: '/proposals', body: proposal, idempotencyKey: randomUUID() },
    { retries: 3, sleep: context.sleep, signal: context.runSignal },
  );
  if (!outcome.ok || outcome.response.statusCode !== 201) {
    const error = outcome.ok
      ? `agency answered ${outcome.response.statusCode}: ${messageOf(outcome.response.body)}`
      : outcome.error;
    await context.tally.record(professor, 'submit the proposal', error);
    report.ending = { kind: 'failed', reason: error };
    return report;
  }
  const answer = outcome.response.body;
  report.proposalId = answer.proposalId;
  if (answer.status === 'rejected') {
    report.decision = 'rejected';
    report.ending = { kind: 'rejected', reason: answer.reason };
    // The agency's reasons say which rule turned it down: its range, or its budget.
    report.budgetRefusal = /budget/i.test(answer.reason);
    await printer.event(
      professor,
      report.budgetRefusal ? `proposal turned down, the agency's budget is spent: ${answer.reason}` : `proposal rejected: ${answer.reason}`,
      'bad',
    );
    return report;
  }

  report.decision = 'accepted';
  report.account = { accountId: answer.accountId, ownerKey: answer.ownerKey };
  await printer.event(
    professor,
    `grant accepted by the agency at ${outcome.response.instanceUrl}: account ${answer.accountId.slice(0, 8)}`,
    'good',
  );

  const team = [{ actor: professor, key: answer.ownerKey, role: 'professor' }];
  for (const [index, name] of plan.students.entries()) {
    if (context.runSignal.aborted) break;
    const key = await addStudent(context, professor, answer.accountId, answer.ownerKey, name);
    if (key === undefined) continue;
    report.studentsAdded += 1;
    team.push({ actor: speaker(context, name), key, role: `student-${index + 1}` });
  }

  const project = new ProjectState(context.runSignal);
  await Promise.all(
    team.map((member) =>
      spendAs(context, project, member.actor, member.key, answer.accountId, member.role),
    ),
  );

  report.withdrawals = project.withdrawals;
  report.uncertainWithdrawals = project.uncertainWithdrawals;
  if (project.endReason && !context.runSignal.aborted) await awaitCloseout(context, professor, report, answer.proposalId);
  report.ending = project.endReason
    ? { kind: 'spent', reason: project.endReason }
    : context.runSignal.aborted
      ? { kind: 'stopped', reason: String(context.runSignal.reason ?? 'interrupted') }
      : { kind: 'failed', reason: 'every actor gave up' };
  return report;
}

/** How long the simulation waits for the DCU's closeout to show at the agency (API.md: 3 s, plus lock staleness). */
const CLOSEOUT_WAIT_MS = 15_000;

/**
 * Once the account ended, the DCU closes it and hands the unspent rest back to the agency on
 * its own: the professor watches the proposal until the agency shows it closed.
 */
async function awaitCloseout(context: ProjectContext, professor: Speaker, report: ProjectReport, proposalId: string) {
  const deadline = Date.now() + CLOSEOUT_WAIT_MS;
  while (Date.now() < deadline && !context.runSignal.aborted) {
    const seen = await callWithRetries<ProposalView>(
      context.client,
      'agency',
      { method: 'GET', path: `/proposals/${proposalId}` },
      { retries: 2, sleep: context.sleep, signal: context.runSignal },
    );
    if (seen.ok && seen.response.statusCode === 200 && seen.response.body.status === 'closed') {
      const returnedCents = seen.response.body.returnedCents ?? 0;
      report.closeout = { returnedCents };
      await context.printer.event(
        professor,
        `account closed by the DCU: ${formatEuro(returnedCents)} unspent, handed back to the agency`,
        'good',
      );
      return;
    }
    await context.sleep(250, context.runSignal);
  }
  if (!context.runSignal.aborted) {
    report.problems.push(`the agency did not show the account's closeout within ${CLOSEOUT_WAIT_MS / 1000} s of its end`);
  }
}

async function addStudent(
  context: ProjectContext,
  professor: Speaker,
  accountId: string,
  ownerKey: string,
  name: string,
): Promise<string | undefined> {
  // The DCU answers a repeat of the key with the same student, so a DCU dying mid-call
  // costs a retry on another instance, not a second student or a failed operation.
  const outcome = await callWithRetries<AddResearcherResponse>(
    context.client,
    'dcu',
    {
      method: 'POST',
      path: `/accounts/${accountId}/researchers`,
      headers: { authorization: `Bearer ${ownerKey}` },
      body: { name },
      idempotencyKey: randomUUID(),
    },
    { retries: 2, sleep: context.sleep, signal: context.runSignal },
  );
  if (!outcome.ok || outcome.response.statusCode !== 201) {
    const error = outcome.ok
      ? `DCU answered ${outcome.response.statusCode}: ${messageOf(outcome.response.body)}`
      : outcome.error;
    await context.tally.record(professor, `add student ${name}`, error);
    return undefined;
  }
  await context.printer.event(professor, `adds student ${name} to the account`);
  return outcome.response.body.key;
}

function spendAs(
  context: ProjectContext,
  project: ProjectState,
  actor: Speaker,
  key: string,
  accountId: string,
  role: string,
): Promise<void> {
  return spend({
    client: context.client,
    printer: context.printer,
    tally: context.tally,
    speaker: actor,
    // Each actor has its own stream, so timing never changes what anyone draws.
    random: streamFor(context.seed, `${context.plan.code}/${role}`),
    plan: context.plan,
    accountId,
    key,
    pauseMs: context.pauseMs,
    project,
    sleep: context.sleep,
  });
}

function speaker(context: ProjectContext, actor: string): Speaker {
  return { project: context.plan.code, actor, colour: context.colour };
}
