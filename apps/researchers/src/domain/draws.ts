import { pickOne, randomInt, type Random } from './random';
import type { IntRange } from './range';

/**
 * What a project asks for. Amounts are drawn a little wider than the agency funds
 * (300,000-500,000 euro), so that about a third of the proposals are rejected.
 */
export const PROPOSAL_MIN_CENTS = 25_000_000;
export const PROPOSAL_MAX_CENTS = 55_000_000;

/**
 * How hungry a project is: the average withdrawal, in basis points of the grant. Low spenders
 * are still spending when their account expires; high spenders run it dry first.
 */
export const SPENDING_MIN_BASIS_POINTS = 20;
export const SPENDING_MAX_BASIS_POINTS = 200;

const PROFESSORS = [
  'Byrne',
  'Okafor',
  'Lindqvist',
  'Moreau',
  'Tanaka',
  'Ferreira',
  'Novak',
  'Haddad',
  'Kowalski',
  'Oyelaran',
  'Walsh',
  'Castellano',
  'Ivanova',
  'Mensah',
  'Brennan',
  'Sato',
] as const;
const STUDENTS = [
  'Aoife',
  'Bram',
  'Chiara',
  'Dmitri',
  'Esra',
  'Finn',
  'Grace',
  'Hugo',
  'Ines',
  'Jonas',
  'Kemi',
  'Liam',
  'Maya',
  'Niamh',
  'Omar',
  'Priya',
  'Ruairi',
  'Sofia',
  'Tomas',
  'Yusuf',
] as const;
const TOPICS = [
  'Soil microbes under drought',
  'Quantum dots for solar glass',
  'Early Irish manuscripts',
  'Wave energy in the Atlantic',
  'Protein folding at speed',
  'Urban heat islands',
  'Low-power sensor networks',
  'Bog carbon accounting',
  'Gene drives in mosquitoes',
  'Medieval trade routes',
  'Graphene water filters',
  'Seabird migration',
] as const;
const EXPENSES = [
  'lab supplies',
  'conference travel',
  'a field trip',
  'cluster time',
  'reagents',
  'a new microscope lens',
  'survey incentives',
  'open-access fees',
  'sample shipping',
  'a workshop',
  'books',
  'sensor hardware',
] as const;

export interface ProjectPlan {
  /** Short label for output, e.g. "P3". */
  code: string;
  professor: string;
  title: string;
  amountCents: number;
  durationDays: number;
  /** Average withdrawal as basis points of the amount asked. */
  spendingBasisPoints: number;
  students: string[];
}

export interface PlanSettings {
  studentsPerProject: number;
  durationDays: IntRange;
}

/** Distinct professors for the run's projects (from the run's own stream). */
export function drawProfessors(random: Random, count: number): string[] {
  return drawDistinct(random, PROFESSORS, count);
}

/** Everything a project decides up front, from its own random stream. */
export function drawProjectPlan(
  random: Random,
  index: number,
  professor: string,
  settings: PlanSettings,
): ProjectPlan {
  const code = `P${index + 1}`;
  const title = `${pickOne(random, TOPICS)} (${code})`;
  const amountCents = randomInt(random, PROPOSAL_MIN_CENTS, PROPOSAL_MAX_CENTS);
  const durationDays = randomInt(random, settings.durationDays.min, settings.durationDays.max);
  const spendingBasisPoints = randomInt(
    random,
    SPENDING_MIN_BASIS_POINTS,
    SPENDING_MAX_BASIS_POINTS,
  );
  const students = drawDistinct(random, STUDENTS, settings.studentsPerProject);
  return { code, professor, title, amountCents, durationDays, spendingBasisPoints, students };
}

/** Names without repeats while the list lasts, then numbered ("Aoife 2"). */
function drawDistinct(random: Random, names: readonly string[], count: number): string[] {
  const pool = [...names];
  const chosen: string[] = [];
  for (let index = 0; index < count; index++) {
    if (pool.length > 0)
      chosen.push(pool.splice(randomInt(random, 0, pool.length - 1), 1)[0] as string);
    else chosen.push(`${pickOne(random, names)} ${index + 1}`);
  }
  return chosen;
}

/**
 * A withdrawal the actor would like to make: half to one and a half times the project's
 * average, in whole cents, at least one euro.
 */
export function drawWithdrawalCents(
  random: Random,
  plan: Pick<ProjectPlan, 'amountCents' | 'spendingBasisPoints'>,
): number {
  const averageCents = Math.floor((plan.amountCents * plan.spendingBasisPoints) / 10_000);
  const low = Math.max(100, Math.floor(averageCents / 2));
  const high = Math.max(low, averageCents + Math.floor(averageCents / 2));
  return randomInt(random, low, high);
}

export function drawExpense(random: Random): string {
  return pickOne(random, EXPENSES);
}

export function drawPauseMs(random: Random, range: IntRange): number {
  return randomInt(random, range.min, range.max);
}
