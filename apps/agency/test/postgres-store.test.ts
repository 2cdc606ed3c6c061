import { randomUUID } from 'node:crypto';
import { Database } from '@grantline/postgres';
import { startTestPostgres, type TestPostgres } from '@grantline/postgres/testing';
import type { AgencyCommand } from '../src/domain/funding';
import { PostgresAgencyStore } from '../src/storage/postgres-store';

/**
 * What only a shared database adds to the store contract: several agency instances (each its
 * own pool, as on different hosts) racing on one budget, and tables that refuse a wrong state
 * by themselves.
 */
let postgres: TestPostgres;
const opened: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  postgres = await startTestPostgres();
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
});
afterAll(async () => {
  await postgres?.close();
});

async function instances(count: number, url?: string): Promise<PostgresAgencyStore[]> {
  const databaseUrl = url ?? (await postgres.createDatabase());
  const stores = await Promise.all(
    Array.from({ length: count }, () =>
      PostgresAgencyStore.open({ databaseUrl, maxConnections: 4 }),
    ),
  );
  opened.push(...stores);
  return stores;
}

const NOW = '2026-01-01T00:00:00.000Z';
const terms = (amountCents: number) => ({
  title: 'Soil',
  investigator: 'Ada',
  amountCents,
  durationDays: 30,
});
const submit = (
  proposalId: string,
  amountCents: number,
  totalCents: number | null,
): AgencyCommand => ({
  type: 'submit',
  proposalId,
  terms: terms(amountCents),
  totalCents,
  owner: 'postgres-test',
  now: NOW,
});

describe('the agency on PostgreSQL, several instances', () => {
  it('never overcommits the budget when instances race proposals against it', async () => {
    const stores = await instances(3);
    const proposals = Array.from({ length: 24 }, () => randomUUID());
    const results = await Promise.all(
      proposals.map((proposalId, index) =>
        stores[index % stores.length]!.execute(submit(proposalId, 40_000_000, 200_000_000)),
      ),
    );
    const reserved = results.filter((result) => result.proposal.status === 'pending');
    expect(reserved).toHaveLength(5);
    expect(await stores[1]!.budget()).toEqual({ committedCents: 200_000_000, returnedCents: 0 });
    expect((await stores[2]!.unconfirmed()).map((record) => record.proposalId).sort()).toEqual(
      reserved.map((result) => result.proposal.proposalId).sort(),
    );
  });

  it('decides a proposal sent to every instance at once exactly once', async () => {
    const stores = await instances(3);
    const proposalId = randomUUID();
    const results = await Promise.all(
      stores.flatMap((store) =>
        [store, store].map((s) => s.execute(submit(proposalId, 40_000_000, null))),
      ),
    );
    expect(results.map((result) => result.outcome).sort()).toEqual([
      'created',
      'repeat',
      'repeat',
      'repeat',
      'repeat',
      'repeat',
    ]);
    expect(await stores[0]!.budget()).toEqual({ committedCents: 40_000_000, returnedCents: 0 });
  });

  it('counts a closeout repeated on every instance once', async () => {
    const stores = await instances(2);
    const proposalId = randomUUID();
    const accountId = randomUUID();
    await stores[0]!.execute(submit(proposalId, 40_000_000, null));
    await stores[1]!.execute({ type: 'confirm', proposalId, accountId, now: NOW });
    const closeout: AgencyCommand = {
      type: 'closeout',
      proposalId,
      accountId,
      returnedCents: 1_234,
      now: NOW,
    };
    const outcomes = await Promise.all(
      [...stores, ...stores].map((store) => store.execute(closeout)),
    );
    expect(outcomes.filter((result) => result.outcome === 'created')).toHaveLength(1);
    expect(await stores[0]!.budget()).toEqual({ committedCents: 40_000_000, returnedCents: 1_234 });
    expect(await stores[1]!.proposal(proposalId)).toMatchObject({
      status: 'closed',
      returnedCents: 1_234,
      accountId,
    });
  });

  it('keeps every decision across a restart of every instance', async () => {
    const url = await postgres.createDatabase();
    const [first] = await instances(1, url);
    const accepted = randomUUID();
    const rejected = randomUUID();
    await first!.execute(submit(accepted, 40_000_000, null));
    await first!.execute(submit(rejected, 1_000, null));
    await first!.close();
    const [again] = await instances(1, url);
    expect(await again!.proposal(accepted)).toEqual({
      proposalId: accepted,
      terms: terms(40_000_000),
      status: 'pending',
      decidedAt: NOW,
      attempts: 1,
      owner: 'postgres-test',
      lastAttemptAt: NOW,
    });
    expect(await again!.proposal(rejected)).toMatchObject({
      status: 'rejected',
      reason: expect.stringMatching(/.+/),
    });
    expect((await again!.latest(10)).map((record) => record.proposalId)).toEqual([
      rejected,
      accepted,
    ]);
  });
});

describe('the agency tables refuse a wrong state by themselves', () => {
  let database: Database;
  beforeEach(async () => {
    const url = await postgres.createDatabase();
    await instances(1, url);
    database = new Database({ connectionString: url });
    opened.push(database);
  });

  it('refuses a committed amount beyond the total', async () => {
    await database.query('UPDATE agency_budget SET total_cents = 100, committed_cents = 100');
    await expect(
      database.query('UPDATE agency_budget SET committed_cents = 101'),
    ).rejects.toMatchObject({ code: '23514' });
  });

  it('refuses one account for two proposals, and a closeout above the grant', async () => {
    const account = randomUUID();
    const insert = (id: string, status: string, returned: number | null) =>
      database.query(
        `INSERT INTO agency_proposals (proposal_id, title, investigator, amount_cents, duration_days, status, decided_at,
           account_id, returned_cents, closed_at)
         VALUES ($1, 't', 'i', 100, 1, $2, now(), $3, $4, CASE WHEN $4::bigint IS NULL THEN NULL ELSE now() END)`,
        [id, status, account, returned],
      );
    await insert(randomUUID(), 'accepted', null);
    await expect(insert(randomUUID(), 'accepted', null)).rejects.toMatchObject({ code: '23505' });
    await expect(
      database.query(
        `INSERT INTO agency_proposals (proposal_id, title, investigator, amount_cents, duration_days, status, decided_at,
           account_id, returned_cents, closed_at) VALUES ($1, 't', 'i', 100, 1, 'closed', now(), $2, 101, now())`,
        [randomUUID(), randomUUID()],
      ),
    ).rejects.toMatchObject({ code: '23514' });
  });
});
