import os from 'node:os';
import { buildAgencyApp, type AgencyAppOptions } from '../src/app';
import { proposalIdFor } from '../src/domain/proposal';
import { FileAgencyStore } from '../src/storage/file-store';
import { PostgresAgencyStore } from '../src/storage/postgres-store';
import type { AgencyStore } from '../src/storage/store';
import { serviceToken, startFakeDcu, startFakeRegistry } from './fakes';
import { StorePlaces, type StoreKind } from './store-places';

/**
 * The agency's routes as funder of record, over each store it ships: a folder (AGENCY_DIR) or
 * a PostgreSQL database. "Two instances on one store" share that folder or that database.
 */

jest.setTimeout(30_000);

const proposal = { title: 'Moss memory', investigator: 'Dr. Iris Holm', amountCents: 40_000_000, durationDays: 30 };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const bearer = { authorization: `Bearer ${serviceToken}` };

let registry: Awaited<ReturnType<typeof startFakeRegistry>>;
let dcu: Awaited<ReturnType<typeof startFakeDcu>>;
const cleanups: (() => Promise<unknown>)[] = [];
const places = new StorePlaces('agency-funder-', cleanups);

beforeAll(async () => {
  registry = await startFakeRegistry();
  dcu = await startFakeDcu();
});

beforeEach(() => registry.list('dcu', [dcu.url]));

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await dcu?.close();
  await registry?.close();
  await places.close();
});

/** Where agency instances keep their state: a fresh folder, or a fresh database's URL. */
const freshPlace = (kind: StoreKind) => places.fresh(kind);

/** One instance's store at `place` (closed after the test, after the app that uses it). */
async function openStore(kind: StoreKind, place: string): Promise<AgencyStore> {
  if (kind === 'files') {
    const store = new FileAgencyStore({ directory: place });
    await store.start();
    return store;
  }
  return PostgresAgencyStore.open({ databaseUrl: place, maxConnections: 4 });
}

interface StartOptions extends Partial<Omit<AgencyAppOptions, 'store' | 'agencyDir'>> {
  /** Shared with other instances (freshPlace); default a place of its own. */
  place?: string;
}

/**
 * An agency instance as main.ts makes it: on files the app opens AGENCY_DIR itself (and closes
 * it with the app); on PostgreSQL it is handed a store of its own, closed after the test.
 */
async function startAgency(kind: StoreKind, { place, ...options }: StartOptions = {}) {
  const at = place ?? (await freshPlace(kind));
  let storeOptions: Pick<AgencyAppOptions, 'store' | 'agencyDir'> = { agencyDir: at };
  if (kind === 'postgres') {
    const store = await openStore(kind, at);
    cleanups.push(() => store.close());
    storeOptions = { store };
  }
  const client = registry.client();
  const app = await buildAgencyApp({
    registry: client,
    serviceToken,
    ...storeOptions,
    dcuTimeoutMs: 2_000,
    dcuDeadlineMs: 5_000,
    fastify: process.env.AGENCY_TEST_LOG ? { logger: { level: 'debug', stream: { write: (line: string) => process.stderr.write(line) } } } : { logger: false },
    ...options,
  });
  cleanups.push(() => client.close(), () => app.close());
  await app.ready();
  return app;
}

type Agency = Awaited<ReturnType<typeof startAgency>>;

const submit = (app: Agency, body: object, key?: string) =>
  app.inject({ method: 'POST', url: '/proposals', payload: body, headers: key === undefined ? {} : { 'idempotency-key': key } });
const budgetOf = async (app: Agency) => (await app.inject({ method: 'GET', url: '/budget' })).json();
const closeout = (app: Agency, body: object, headers: Record<string, string> = bearer) =>
  app.inject({ method: 'POST', url: '/closeouts', payload: body, headers });

describe.each(['files', 'postgres'] as const)('on %s', (kind) => {
  describe('decisions on record', () => {
    it('shows an accepted proposal by its id, never a key', async () => {
      const app = await startAgency(kind);
      const accepted = (await submit(app, proposal, 'shown-key')).json();
      const response = await app.inject({ method: 'GET', url: `/proposals/${accepted.proposalId}` });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({
        proposalId: accepted.proposalId,
        ...proposal,
        status: 'accepted',
        accountId: accepted.accountId,
        decidedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      });
      expect(response.body).not.toContain(accepted.ownerKey);
      expect(response.body).not.toContain('shown-key');
    });

    it('shows a rejected proposal with its reason', async () => {
      const app = await startAgency(kind);
      const rejected = (await submit(app, { ...proposal, amountCents: 1 })).json();
      const shown = (await app.inject({ method: 'GET', url: `/proposals/${rejected.proposalId}` })).json();
      expect(shown).toMatchObject({ status: 'rejected', reason: rejected.reason, amountCents: 1 });
      expect(shown.accountId).toBeUndefined();
    });

    it('answers 404 for an unknown proposal and 400 for an id that is not a UUID', async () => {
      const app = await startAgency(kind);
      const unknown = await app.inject({ method: 'GET', url: '/proposals/6713b17b-babd-5b11-8a13-7418f14cdc6f' });
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json()).toMatchObject({ statusCode: 404, error: 'Not Found', message: expect.stringContaining('no proposal') });
      for (const bad of ['not-a-uuid', '123', '6713b17b-babd-5b11-8a13-7418f14cdc6', '%00']) {
        const response = await app.inject({ method: 'GET', url: `/proposals/${bad}` });
        expect(response.statusCode).toBe(400);
        expect(response.json().statusCode).toBe(400);
      }
    });

    it('keeps a key once rejected rejected, even on another instance with money free, and after a restart', async () => {
      const dir = await freshPlace(kind);
      const small = await startAgency(kind, { place: dir, budgetCents: 10_000_000 });
      const first = (await submit(small, proposal, 'turned-down')).json();
      expect(first).toMatchObject({ status: 'rejected', reason: expect.stringContaining('budget') });
      await small.close();
      const rich = await startAgency(kind, { place: dir, budgetCents: 1_000_000_000 });
      const again = await submit(rich, proposal, 'turned-down');
      expect(again.statusCode).toBe(201);
      expect(again.json()).toEqual(first);
      expect(dcu.received.filter((call) => call.body.proposalId === first.proposalId)).toHaveLength(0);
    });

    it('answers 422 for the same key with another proposal, also when it was rejected', async () => {
      const app = await startAgency(kind);
      await submit(app, { ...proposal, amountCents: 1 }, 'other-terms');
      const response = await submit(app, proposal, 'other-terms');
      expect(response.statusCode).toBe(422);
      expect(response.json()).toMatchObject({ statusCode: 422, code: 'key-reused' });
    });
  });

  describe('the budget', () => {
    it('reports an unlimited budget as null totals', async () => {
      const app = await startAgency(kind);
      await submit(app, proposal);
      expect(await budgetOf(app)).toEqual({ totalCents: null, committedCents: 40_000_000, returnedCents: 0, availableCents: null });
    });

    it('accepts while a proposal fits, then rejects saying so, and opens no account for it', async () => {
      const app = await startAgency(kind, { budgetCents: 100_000_000 });
      const answers: { status: string; reason?: string; proposalId: string }[] = [];
      for (let index = 0; index < 3; index++) answers.push((await submit(app, proposal, `fit-${index}`)).json());
      expect(answers.map((answer) => answer.status)).toEqual(['accepted', 'accepted', 'rejected']);
      expect(answers[2]?.reason).toMatch(/budget has €200,000.00 left/);
      expect(dcu.received.filter((call) => call.body.proposalId === answers[2]?.proposalId)).toHaveLength(0);
      expect(await budgetOf(app)).toEqual({
        totalCents: 100_000_000,
        committedCents: 80_000_000,
        returnedCents: 0,
        availableCents: 20_000_000,
      });
    });

    it('is shared by two instances on one store: concurrent proposals never overcommit it', async () => {
      const dir = await freshPlace(kind);
      const [a, b] = [await startAgency(kind, { place: dir, budgetCents: 200_000_000 }), await startAgency(kind, { place: dir, budgetCents: 200_000_000 })];
      const answers = await Promise.all(
        Array.from({ length: 12 }, (_, index) => submit(index % 2 === 0 ? a : b, proposal, `race-${index}`)),
      );
      const statuses = answers.map((answer) => answer.json().status);
      expect(statuses.filter((status) => status === 'accepted')).toHaveLength(5);
      expect(statuses.filter((status) => status === 'rejected')).toHaveLength(7);
      expect(await budgetOf(a)).toEqual(await budgetOf(b));
      expect((await budgetOf(a)).committedCents).toBe(200_000_000);
    });
  });

  describe('POST /closeouts', () => {
    async function funded(app: Agency, key: string) {
      return (await submit(app, proposal, key)).json() as { proposalId: string; accountId: string };
    }

    it('closes the proposal and counts the returned money once: 201, then 200 for a repeat', async () => {
      const app = await startAgency(kind, { budgetCents: 100_000_000 });
      const { proposalId, accountId } = await funded(app, 'to-close');
      const body = { proposalId, accountId, returnedCents: 12_345 };
      const first = await closeout(app, body);
      expect(first.statusCode).toBe(201);
      expect(first.json()).toEqual({ ...body, closedAt: expect.stringMatching(/^\d{4}-/) });
      const repeat = await closeout(app, body);
      expect(repeat.statusCode).toBe(200);
      expect(repeat.json()).toEqual(first.json());
      expect(await budgetOf(app)).toEqual({ totalCents: 100_000_000, committedCents: 40_000_000, returnedCents: 12_345, availableCents: 60_012_345 });
      const shown = (await app.inject({ method: 'GET', url: `/proposals/${proposalId}` })).json();
      expect(shown).toMatchObject({ status: 'closed', returnedCents: 12_345, accountId });
    });

    it('lets returned money fund a new proposal', async () => {
      const app = await startAgency(kind, { budgetCents: 40_000_000 });
      const { proposalId, accountId } = await funded(app, 'first-grant');
      expect((await submit(app, proposal, 'second-grant')).json().status).toBe('rejected');
      await closeout(app, { proposalId, accountId, returnedCents: 40_000_000 });
      expect((await submit(app, proposal, 'third-grant')).json().status).toBe('accepted');
    });

    it.each([
      ['no token', {}, 401],
      ['a wrong token', { authorization: 'Bearer not-the-service-token' }, 401],
    ])('answers %s with 401 and changes nothing', async (_what, headers, status) => {
      const app = await startAgency(kind);
      const { proposalId, accountId } = await funded(app, 'auth');
      const response = await closeout(app, { proposalId, accountId, returnedCents: 1 }, headers as Record<string, string>);
      expect(response.statusCode).toBe(status);
      expect((await budgetOf(app)).returnedCents).toBe(0);
    });

    it('refuses an unknown proposal, another account, more than the grant, a rejected proposal and a changed amount', async () => {
      const app = await startAgency(kind);
      const { proposalId, accountId } = await funded(app, 'refusals');
      const rejected = (await submit(app, { ...proposal, amountCents: 1 }, 'refused')).json();
      const cases: [object, number, string][] = [
        [{ proposalId: proposalIdFor('never-sent'), accountId, returnedCents: 1 }, 404, 'proposal-not-found'],
        [{ proposalId, accountId: proposalIdFor('other-account'), returnedCents: 1 }, 409, 'account-mismatch'],
        [{ proposalId, accountId, returnedCents: 40_000_001 }, 422, 'returned-exceeds-grant'],
        [{ proposalId: rejected.proposalId, accountId, returnedCents: 0 }, 409, 'not-funded'],
      ];
      for (const [body, status, code] of cases) {
        const response = await closeout(app, body);
        expect([response.statusCode, response.json().code]).toEqual([status, code]);
      }
      expect((await budgetOf(app)).returnedCents).toBe(0);
      await closeout(app, { proposalId, accountId, returnedCents: 5 });
      const changed = await closeout(app, { proposalId, accountId, returnedCents: 6 });
      expect([changed.statusCode, changed.json().code]).toEqual([409, 'closeout-differs']);
      expect((await budgetOf(app)).returnedCents).toBe(5);
    });

    it('counts a closeout once when it reaches two instances at the same time', async () => {
      const dir = await freshPlace(kind);
      const [a, b] = [await startAgency(kind, { place: dir }), await startAgency(kind, { place: dir })];
      const { proposalId, accountId } = await funded(a, 'twice');
      const body = { proposalId, accountId, returnedCents: 777 };
      const answers = await Promise.all([closeout(a, body), closeout(b, body), closeout(a, body), closeout(b, body)]);
      expect(answers.map((answer) => answer.statusCode).sort()).toEqual([200, 200, 200, 201]);
      expect((await budgetOf(b)).returnedCents).toBe(777);
    });
  });

  describe('recovery: the agency finishes reservations by itself', () => {
    it('opens and confirms the account of a reservation whose owner died, without any client', async () => {
      const dir = await freshPlace(kind);
      // A reservation made by a process that no longer runs (pid 2^22+1 is above Linux's pid_max default).
      const store = await openStore(kind, dir);
      const proposalId = proposalIdFor('orphaned');
      await store.execute({
        type: 'submit',
        proposalId,
        terms: proposal,
        totalCents: 100_000_000,
        owner: `${os.hostname()}:4194305:dead`,
        now: new Date().toISOString(),
      });
      await store.close();

      // Stale after 1 s: should the first attempt not reach the DCU (a loaded machine), the next one comes soon.
      const app = await startAgency(kind, { place: dir, budgetCents: 100_000_000, recoveryIntervalMs: 20, reservationStaleAfterMs: 1_000 });
      let shown = (await app.inject({ method: 'GET', url: `/proposals/${proposalId}` })).json();
      while (shown.accountId === undefined) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        shown = (await app.inject({ method: 'GET', url: `/proposals/${proposalId}` })).json();
      }
      expect(shown).toMatchObject({ status: 'accepted', accountId: expect.stringMatching(UUID) });
      expect(dcu.received.filter((call) => call.body.proposalId === proposalId).length).toBeGreaterThanOrEqual(1);
      expect((await budgetOf(app)).committedCents).toBe(40_000_000);
    });

    it('keeps the money reserved while the DCU may have opened the account, and finishes it when a DCU answers', async () => {
      const broken = await startFakeDcu('broken');
      cleanups.push(() => broken.close());
      registry.list('dcu', [broken.url]);
      const app = await startAgency(kind, { budgetCents: 40_000_000, recoveryIntervalMs: 20, reservationStaleAfterMs: 50 });
      const failed = await submit(app, proposal, 'finish-later');
      expect(failed.statusCode).toBe(502);
      expect(failed.json().message).toMatch(/keeps the amount reserved/);
      expect(await budgetOf(app)).toMatchObject({ committedCents: 40_000_000, availableCents: 0 });

      registry.list('dcu', [dcu.url]);
      const proposalId = proposalIdFor('finish-later');
      while ((await app.inject({ method: 'GET', url: `/proposals/${proposalId}` })).json().accountId === undefined) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const again = await submit(app, proposal, 'finish-later');
      expect(again.json()).toMatchObject({ status: 'accepted', proposalId, dcuUrl: dcu.url });
    });

    it('gives the money back at once when no DCU can have opened the account', async () => {
      registry.list('dcu', []);
      const app = await startAgency(kind, { budgetCents: 40_000_000 });
      const response = await submit(app, proposal, 'nobody-home');
      expect(response.statusCode).toBe(503);
      expect(response.json().message).toMatch(/nothing was created/);
      expect(await budgetOf(app)).toMatchObject({ committedCents: 0, availableCents: 40_000_000 });
      expect((await app.inject({ method: 'GET', url: `/proposals/${proposalIdFor('nobody-home')}` })).statusCode).toBe(404);
      registry.list('dcu', [dcu.url]);
      let again = await submit(app, proposal, 'nobody-home');
      // The agency's registry client sees the new list at its next refresh.
      while (again.statusCode === 503) again = await submit(app, proposal, 'nobody-home');
      expect(again.json().status).toBe('accepted');
    });
  });

  describe('the live page', () => {
    it('serves a self-contained page and the state it polls', async () => {
      const app = await startAgency(kind, { budgetCents: 100_000_000 });
      await submit(app, proposal, 'page');
      const page = await app.inject({ method: 'GET', url: '/' });
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.body).not.toMatch(/(src|href)="https?:/);
      const state = (await app.inject({ method: 'GET', url: '/dashboard/state' })).json();
      expect(state.budget).toEqual({ totalCents: 100_000_000, committedCents: 40_000_000, returnedCents: 0, availableCents: 60_000_000 });
      expect(state.latest).toHaveLength(1);
      expect(state.latest[0]).toMatchObject({ title: proposal.title, status: 'accepted' });
    });
  });
});
