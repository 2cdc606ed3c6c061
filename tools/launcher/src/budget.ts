/** The agencies' budget in a run of `npm start`: 1,000,000 euro unless told otherwise. */
export const DEFAULT_BUDGET_EURO = 1_000_000;

/**
 * Takes `--budget <euro|unlimited>` out of the arguments (the rest go to the simulation):
 * the AGENCY_BUDGET_CENTS the run's agencies get, undefined for unlimited. Whole euro only.
 */
export function takeBudgetOption(args: string[]): { budgetCents: number | undefined; rest: string[] } {
  const rest: string[] = [];
  let value = String(DEFAULT_BUDGET_EURO);
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index] as string;
    if (arg === '--budget') {
      value = args[index + 1] ?? '';
      index += 1;
    } else if (arg.startsWith('--budget=')) {
      value = arg.slice('--budget='.length);
    } else {
      rest.push(arg);
    }
  }
  if (value === 'unlimited') return { budgetCents: undefined, rest };
  if (!/^\d{1,10}$/.test(value)) throw new Error(`--budget must be a whole number of euro or "unlimited", not "${value}"`);
  return { budgetCents: Number(value) * 100, rest };
}
