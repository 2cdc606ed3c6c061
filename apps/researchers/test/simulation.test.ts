import { RegistryClient, sleep } from '@grantline/registry-client';
import { runSimulation } from '../src/simulation';
import { runFinalCheck } from '../src/final-check';
import { Printer } from '../src/output/printer';
import { createStyle } from '../src/output/style';
import { summaryTable } from '../src/output/summary';
import type { SimulationOptions } from '../src/options';
import { startFakeServices, type FakeFaults } from './fakes';

const options: SimulationOptions = {
  projects: 4,
  studentsPerProject: 2,
  seed: 11,
  seedGiven: true,
  pauseMs: { min: 1, max: 4 },
  durationDays: { min: 5, max: 10 },
  timeoutMs: 20_000,
  quiet: false,
  registryUrl: '',
  sharedAgency: false,
};

async function simulate(faults: FakeFaults = {}) {
  const services = await startFakeServices(20, faults);
  const client = new RegistryClient({ registryUrl: services.url });
  const lines: string[] = [];
  const printer = new Printer(
    { write: (text: string) => lines.push(...text.trimEnd().split('\n')) },
    createStyle(false),
    false,
  );
  try {
    const result = await runSimulation(
      { ...options, registryUrl: services.url },
      { client, printer, sleep },
      new AbortController().signal,
    );
    await runFinalCheck(client, result.reports, sleep);
    return { ...result, lines };
  } finally {
    await client.close();
    await services.close();
  }
}

describe('the simulation against a stand-in agency and DCU', () => {
  it('plays every project to its end and finds the ledgers sound', async () => {
    const { reports, tally, lines } = await simulate();
    expect(tally.failures).toEqual([]);
    expect(reports).toHaveLength(4);
    // Seed 11 draws both kinds of proposal.
    expect(new Set(reports.map((report) => report.decision))).toEqual(
      new Set(['accepted', 'rejected']),
    );
    for (const report of reports) {
      const inRange =
        report.plan.amountCents >= 30_000_000 && report.plan.amountCents <= 50_000_000;
      expect(report.decision).toBe(inRange ? 'accepted' : 'rejected');
      expect(report.problems).toEqual([]);
      if (report.decision === 'accepted') {
        expect(report.studentsAdded).toBe(2);
        expect(report.ending.kind).toBe('spent');
        const withdrawn = report.withdrawals.reduce(
          (total, withdrawal) => total + withdrawal.amountCents,
          0,
        );
        expect(report.finalBalanceCents).toBe(report.plan.amountCents - withdrawn);
      }
    }
    expect(lines.some((line) => /^\[P1 prof\. \w+\] +asks for €/.test(line))).toBe(true);
    const table = summaryTable(reports, createStyle(false));
    expect(table[0]).toMatch(/^project +professor +asked +decision/);
    expect(table).toHaveLength(2 + reports.length);
  });

  it('catches a DCU that records a withdrawal twice', async () => {
    const { reports } = await simulate({ doubleRecordEvery: 1 });
    const problems = reports.flatMap((report) => report.problems);
    expect(problems.join('\n')).toMatch(/in the ledger 2 times/);
  });
});
