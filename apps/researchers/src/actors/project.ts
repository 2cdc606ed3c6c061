import { randomUUID } from 'node:crypto';
import {
  formatEuro,
  type AddResearcherResponse,
  type ProposalRequest,
  type ProposalResponse,
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
  if (answer.status === 'rejected') {
    report.decision = 'rejected';
    report.ending = { kind: 'rejected', reason: answer.reason };
    await printer.event(professor, `proposal rejected: ${answer.reason}`, 'bad');
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
  report.ending = project.endReason
    ? { kind: 'spent', reason: project.endReason }
    : context.runSignal.aborted
      ? { kind: 'stopped', reason: String(context.runSignal.reason ?? 'interrupted') }
      : { kind: 'failed', reason: 'every actor gave up' };
  return report;
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
