import { RegistryClient } from '@grantline/registry-client';
import { buildAgencyApp, type AgencyAppOptions } from '../src/app';
import { PostgresAgencyStore } from '../src/storage/postgres-store';
import {
  deadUrl,
  serviceToken,
  startFakeDcu,
  startFakeRegistry,
  type DcuBehaviour,
} from './fakes';
import { StorePlaces, type StoreKind } from './store-places';

jest.setTimeout(30_000);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const proposal = {
  title: 'Quantum sheep counting',
  investigator: 'Dr. Ada Byrne',
  amountCents: 40_000_000,
  durationDays: 365,
};

let registry: Awaited<ReturnType<typeof startFakeRegistry>>;
let dcu: Awaited<ReturnType<typeof startFakeDcu>>;
const cleanups: (() => Promise<unknown>)[] = [];
const places = new StorePlaces('agency-routes-', cleanups);

beforeAll(async () => {
  registry = await startFakeRegistry();
  dcu = await startFakeDcu();
});

beforeEach(() => {
  registry.list('dcu', [dcu.url]);
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await dcu?.close();
  await registry?.close();
  await places.close();
});

/** Where agency instances keep their decisions: a fresh folder, or a fresh database's URL. */
const freshPlace = (kind: StoreKind) => places.fresh(kind);

/**
 * An agency with its own registry client, as a separate agency process would have; its own
 * place unless given one. On files the app opens AGENCY_DIR itself; on PostgreSQL it is
 * handed a store (its own pool) of its own, closed after the test.
 */
async function startAgency(kind: StoreKind, client: RegistryClient = registry.client(), logLines?: string[], place?: string) {
  const at = place ?? (await freshPlace(kind));
  let storeOptions: Pick<AgencyAppOptions, 'store' | 'agencyDir'> = { agencyDir: at };
  if (kind === 'postgres') {
    const store = await PostgresAgencyStore.open({ databaseUrl: at, maxConnections: 4 });
    cleanups.push(() => store.close());
    storeOptions = { store };
  }
  const app = await buildAgencyApp({
    registry: client,
    serviceToken,
    ...storeOptions,
    dcuTimeoutMs: 2_000,
    dcuDeadlineMs: 5_000,
    fastify: {
      logger: logLines ? { level: 'info', stream: { write: (line: string) => logLines.push(line) } } : false,
    },
  });
  cleanups.push(() => client.close(), () => app.close());
  return app;
}

async function startDcu(behaviour: DcuBehaviour) {
  const standIn = await startFakeDcu(behaviour);
  cleanups.push(() => standIn.close());
  return standIn;
}

type Agency = Awaited<ReturnType<typeof startAgency>>;

function submit(app: Agency, body: unknown, idempotencyKey?: string) {
  return app.inject({
    method: 'POST',
    url: '/proposals',
    headers: idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey },
    payload: body as object,
  });
}

// Each store's run uses keys of its own: the fake DCU keeps the accounts of the run before.
describe.each(['files', 'postgres'] as const)('on %s', (kind) => {
  describe('POST /proposals: the funding range', () => {
    it.each([29_999_999, 50_000_001, 1, 1_000_000_000_000])(
      'rejects %d cents at once, naming the range in euro, and never calls the DCU',
      async (amountCents) => {
        const app = await startAgency(kind);
        const before = dcu.received.length;
        const response = await submit(app, { ...proposal, amountCents });
        expect(response.statusCode).toBe(201);
        const body = response.json();
        expect(body).toEqual({ proposalId: expect.stringMatching(UUID), status: 'rejected', reason: expect.any(String) });
        expect(body.reason).toContain('€300,000.00');
        expect(body.reason).toContain('€500,000.00');
        expect(dcu.received.length).toBe(before);
      },
    );

    it.each([30_000_000, 50_000_000])('accepts %d cents and opens exactly one account', async (amountCents) => {
      const app = await startAgency(kind);
      const opened = dcu.accountsOpened;
      const response = await submit(app, { ...proposal, amountCents });
      expect(response.statusCode).toBe(201);
      const body = response.json();
      expect(body).toEqual({
        proposalId: expect.stringMatching(UUID),
        status: 'accepted',
        accountId: expect.stringMatching(UUID),
        ownerKey: expect.stringMatching(/^owner-/),
        dcuUrl: dcu.url,
      });
      expect(dcu.accountsOpened).toBe(opened + 1);
      // What went over the wire: the proposal's terms, keyed by its id.
      expect(dcu.received.at(-1)).toEqual({
        idempotencyKey: body.proposalId,
        body: { proposalId: body.proposalId, ...proposal, amountCents },
      });
    });

    it.each([1, 3650])('accepts a duration of %d days', async (durationDays) => {
      const app = await startAgency(kind);
      const response = await submit(app, { ...proposal, durationDays });
      expect(response.statusCode).toBe(201);
      expect(response.json().status).toBe('accepted');
    });
  });

  describe('POST /proposals: the Idempotency-Key', () => {
    it('answers the same key twice with the same proposal and account, opening one account', async () => {
      const app = await startAgency(kind);
      const opened = dcu.accountsOpened;
      const first = await submit(app, proposal, `${kind}-same-key-twice`);
      const second = await submit(app, proposal, `${kind}-same-key-twice`);
      expect(first.statusCode).toBe(201);
      expect(second.statusCode).toBe(201);
      expect(second.json()).toEqual(first.json());
      expect(first.json().status).toBe('accepted');
      expect(dcu.accountsOpened).toBe(opened + 1);
    });

    it('opens one account when the same key goes to two agency instances, also at the same time', async () => {
      const shared = await freshPlace(kind);
      const [agencyA, agencyB] = [await startAgency(kind, registry.client(), undefined, shared), await startAgency(kind, registry.client(), undefined, shared)];
      const opened = dcu.accountsOpened;
      const answers = await Promise.all([
        submit(agencyA, proposal, `${kind}-two-agencies`),
        submit(agencyB, proposal, `${kind}-two-agencies`),
        submit(agencyA, proposal, `${kind}-two-agencies`),
        submit(agencyB, proposal, `${kind}-two-agencies`),
      ]);
      const bodies = answers.map((answer) => answer.json());
      expect(answers.map((answer) => answer.statusCode)).toEqual([201, 201, 201, 201]);
      expect(new Set(bodies.map((body) => body.accountId)).size).toBe(1);
      expect(new Set(bodies.map((body) => body.proposalId)).size).toBe(1);
      expect(bodies[0].status).toBe('accepted');
      expect(dcu.accountsOpened).toBe(opened + 1);
    });

    it('gives every proposal without a key its own id and account', async () => {
      const app = await startAgency(kind);
      const opened = dcu.accountsOpened;
      const first = (await submit(app, proposal)).json();
      const second = (await submit(app, proposal)).json();
      expect(first.proposalId).not.toBe(second.proposalId);
      expect(first.accountId).not.toBe(second.accountId);
      expect(dcu.accountsOpened).toBe(opened + 2);
    });

    it('answers 422 when a key already opened a different proposal, and opens nothing', async () => {
      const app = await startAgency(kind);
      const first = await submit(app, proposal, `${kind}-reused-key`);
      expect(first.statusCode).toBe(201);
      const opened = dcu.accountsOpened;
      const second = await submit(app, { ...proposal, amountCents: 45_000_000 }, `${kind}-reused-key`);
      expect(second.statusCode).toBe(422);
      expect(second.json()).toMatchObject({ statusCode: 422, error: 'Unprocessable Entity' });
      expect(second.json().message).toMatch(/Idempotency-Key was already used for a different proposal/);
      expect(dcu.accountsOpened).toBe(opened);
    });

    it.each([
      ['empty', ''],
      ['too long', 'k'.repeat(256)],
      ['non-ASCII', 'clé'],
      ['a control character', 'a\tb'],
    ])('refuses an Idempotency-Key that is %s with 400', async (_what, key) => {
      const app = await startAgency(kind);
      const before = dcu.received.length;
      const response = await submit(app, proposal, key);
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ statusCode: 400, error: 'Bad Request' });
      expect(dcu.received.length).toBe(before);
    });
  });

  describe('POST /proposals: when the DCU cannot help', () => {
    it('answers 503, saying nothing was created, when no DCU is registered', async () => {
      registry.list('dcu', []);
      const app = await startAgency(kind);
      const response = await submit(app, proposal, `${kind}-no-dcu`);
      expect(response.statusCode).toBe(503);
      expect(response.json()).toEqual({
        statusCode: 503,
        error: 'Service Unavailable',
        message: 'No DCU instance can be reached right now; nothing was created. Retry with the same Idempotency-Key.',
      });
    });

    it('answers 503 when the only registered DCU is down', async () => {
      registry.list('dcu', [await deadUrl()]);
      const app = await startAgency(kind);
      const response = await submit(app, proposal);
      expect(response.statusCode).toBe(503);
      expect(response.json().message).toMatch(/^No DCU instance can be reached right now; nothing was created\./);
    });

    it('answers 503 when the registry itself is down', async () => {
      const app = await startAgency(kind, new RegistryClient({ registryUrl: await deadUrl() }));
      const response = await submit(app, proposal, `${kind}-registry-down`);
      expect(response.statusCode).toBe(503);
    });

    it('fails over to a live DCU when another registered one is down', async () => {
      registry.list('dcu', [await deadUrl(), dcu.url]);
      const app = await startAgency(kind);
      const response = await submit(app, proposal, `${kind}-failover`);
      expect(response.statusCode).toBe(201);
      expect(response.json()).toMatchObject({ status: 'accepted', dcuUrl: dcu.url });
    });

    it('answers 503 when the DCU says its storage cannot take a write', async () => {
      const standIn = await startDcu('storage-down');
      registry.list('dcu', [standIn.url]);
      const app = await startAgency(kind);
      const response = await submit(app, proposal, `${kind}-dcu-storage-down`);
      expect(response.statusCode).toBe(503);
      expect(response.json().message).toMatch(/nothing was created/);
      expect(standIn.received.length).toBeGreaterThanOrEqual(1);
    });

    it.each([
      ['answers with something that is not an account', 'garbage', /not an account/],
      ['answers with an account id that is not a UUID', 'almost', /not an account/],
      ['fails with 500', 'broken', /failed to open the account/],
      ['refuses the service token', 'refusing', /refused the agency's credentials/],
    ] as const)('answers 502 when the DCU %s, without its internals', async (_what, behaviour, message) => {
      const standIn = await startDcu(behaviour);
      registry.list('dcu', [standIn.url]);
      const app = await startAgency(kind);
      const response = await submit(app, proposal, `${kind}-dcu-${behaviour}`);
      expect(response.statusCode).toBe(502);
      expect(response.json()).toMatchObject({ statusCode: 502, error: 'Bad Gateway', message });
      expect(response.body).not.toContain('disk on fire');
      expect(response.body).not.toContain('hello');
      // An answer against the contract fails the instance like a broken connection: the
      // registry client asks again (at most its 4 attempts); a refusal or a 500 is final.
      if (behaviour === 'garbage' || behaviour === 'almost') {
        expect(standIn.received.length).toBeGreaterThanOrEqual(1);
        expect(standIn.received.length).toBeLessThanOrEqual(4);
      } else {
        expect(standIn.received).toHaveLength(1);
      }
    });

    it('logs what the DCU did wrong, but never an owner key from its answer', async () => {
      const standIn = await startDcu('almost');
      registry.list('dcu', [standIn.url]);
      const logLines: string[] = [];
      const app = await startAgency(kind, registry.client(), logLines);
      const response = await submit(app, proposal, `${kind}-dcu-almost-logged`);
      expect(response.statusCode).toBe(502);
      const failure = logLines.map((line) => JSON.parse(line)).find((entry) => entry.msg === 'opening the account failed');
      expect(failure).toMatchObject({
        level: 50,
        problem: 'bad-answer',
        instanceUrl: standIn.url,
        reason: expect.stringMatching(/answered 201 against the contract: not an account \(\/accountId/),
      });
      expect(logLines.join('')).not.toContain('owner-key-that-must-not-be-logged');
      expect(response.body).not.toContain('owner-key-that-must-not-be-logged');
    });
  });
});

// Not the store's behaviour (nothing here reaches it; the fuzz suite shows that on both
// stores): on the default store only.
describe('POST /proposals: bad input is a 4xx, never a 5xx, and never reaches the DCU', () => {
  const { title: _title, ...withoutTitle } = proposal;
  const { amountCents: _amount, ...withoutAmount } = proposal;
  const json = { 'content-type': 'application/json' };
  const cases: [string, number, string | object, Record<string, string>][] = [
    ['an amount as a string', 400, { ...proposal, amountCents: '40000000' }, {}],
    ['a fractional amount', 400, { ...proposal, amountCents: 40_000_000.5 }, {}],
    ['a negative amount', 400, { ...proposal, amountCents: -40_000_000 }, {}],
    ['a zero amount', 400, { ...proposal, amountCents: 0 }, {}],
    ['an amount above 10^12 cents', 400, { ...proposal, amountCents: 1_000_000_000_001 }, {}],
    ['an amount beyond any float', 400, JSON.stringify(proposal).replace('40000000', '1e400'), json],
    ['a boolean amount', 400, { ...proposal, amountCents: true }, {}],
    ['a null amount', 400, { ...proposal, amountCents: null }, {}],
    ['a missing amount', 400, withoutAmount, {}],
    ['a missing title', 400, withoutTitle, {}],
    ['an empty title', 400, { ...proposal, title: '' }, {}],
    ['a 201-character title', 400, { ...proposal, title: 't'.repeat(201) }, {}],
    ['a numeric investigator', 400, { ...proposal, investigator: 7 }, {}],
    ['an extra field', 400, { ...proposal, approved: true }, {}],
    ['a __proto__ field', 400, JSON.stringify(proposal).replace('{', '{"__proto__":{"amountCents":1},'), json],
    ['0 days', 400, { ...proposal, durationDays: 0 }, {}],
    ['3651 days', 400, { ...proposal, durationDays: 3651 }, {}],
    ['fractional days', 400, { ...proposal, durationDays: 1.5 }, {}],
    ['days as a string', 400, { ...proposal, durationDays: '365' }, {}],
    ['an array body', 400, [proposal], {}],
    ['a JSON null body', 400, 'null', json],
    ['malformed JSON', 400, '{"title": "x",', json],
    ['an empty JSON body', 400, '', json],
    ['no body at all', 400, '', {}],
    ['a plain-text body', 415, JSON.stringify(proposal), { 'content-type': 'text/plain' }],
    ['a form body', 415, 'title=x&amountCents=40000000', { 'content-type': 'application/x-www-form-urlencoded' }],
    ['a 2 MB body', 413, JSON.stringify({ ...proposal, title: 'x'.repeat(2 * 1024 * 1024) }), json],
  ];

  it.each(cases)('answers %s with the right 4xx', async (_what, statusCode, payload, headers) => {
    const app = await startAgency('files');
    const before = dcu.received.length;
    const response = await app.inject({ method: 'POST', url: '/proposals', payload, headers });
    expect(response.statusCode).toBe(statusCode);
    expect(response.json()).toEqual({
      statusCode,
      error: expect.any(String),
      message: expect.any(String),
      ...(response.json().code === undefined ? {} : { code: expect.any(String) }),
    });
    expect(response.json().message.length).toBeGreaterThan(10);
    expect(dcu.received.length).toBe(before);
  });
});

describe('the rest of the agency', () => {
  it('answers GET /health', async () => {
    const app = await startAgency('files');
    const response = await app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });

  it('publishes an OpenAPI document naming every answer of POST /proposals', async () => {
    const app = await startAgency('files');
    const response = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    const document = response.json();
    expect(document.openapi).toBe('3.0.3');
    const operation = document.paths['/proposals'].post;
    expect(operation.tags).toEqual(['proposals']);
    expect(operation.summary).toEqual(expect.any(String));
    expect(Object.keys(operation.responses).sort()).toEqual(['201', '400', '413', '415', '422', '502', '503']);
    expect(operation.parameters).toEqual(
      expect.arrayContaining([expect.objectContaining({ in: 'header', name: 'idempotency-key', required: false })]),
    );
    expect(document.paths['/health'].get.responses['200']).toBeDefined();
  });
});
