import type { RegistryClient } from '@grantline/registry-client';
import { runProject } from './actors/project';
import { FailureTally } from './actors/project-state';
import { drawProfessors, drawProjectPlan } from './domain/draws';
import { streamFor } from './domain/random';
import type { ProjectReport } from './domain/project-report';
import type { SimulationOptions } from './options';
import type { Printer } from './output/printer';
import { projectColour } from './output/style';

export interface SimulationDeps {
  client: RegistryClient;
  printer: Printer;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export interface SimulationResult {
  reports: ProjectReport[];
  tally: FailureTally;
}

/** Plans every project from the seed, then runs them all at once. */
export async function runSimulation(
  options: SimulationOptions,
  deps: SimulationDeps,
  runSignal: AbortSignal,
): Promise<SimulationResult> {
  const professors = drawProfessors(streamFor(options.seed, 'professors'), options.projects);
  const plans = professors.map((professor, index) =>
    drawProjectPlan(streamFor(options.seed, `P${index + 1}/plan`), index, professor, {
      studentsPerProject: options.studentsPerProject,
      durationDays: options.durationDays,
    }),
  );
  for (const plan of plans) {
    deps.printer.registerSpeaker({ project: plan.code, actor: `prof. ${plan.professor}` });
    for (const student of plan.students)
      deps.printer.registerSpeaker({ project: plan.code, actor: student });
  }
  const tally = new FailureTally(deps.printer, runSignal);
  const reports = await Promise.all(
    plans.map((plan, index) =>
      runProject({
        client: deps.client,
        printer: deps.printer,
        tally,
        plan,
        colour: projectColour(index),
        seed: options.seed,
        pauseMs: options.pauseMs,
        runSignal,
        sleep: deps.sleep,
      }),
    ),
  );
  return { reports, tally };
}

/**
 * Waits until the registry lists at least one instance of each type: services announce
 * themselves a moment after they start listening.
 */
export async function waitForServices(
  client: RegistryClient,
  types: string[],
  timeoutMs: number,
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>,
  signal?: AbortSignal,
): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let missing = types;
  while (Date.now() < deadline && !signal?.aborted) {
    const listed = await Promise.all(
      types.map(async (type) => (await client.instances(type)).length > 0),
    );
    missing = types.filter((_, index) => !listed[index]);
    if (missing.length === 0) return [];
    await sleep(200, signal);
  }
  return missing;
}
