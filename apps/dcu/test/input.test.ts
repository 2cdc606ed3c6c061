import { randomUUID } from 'node:crypto';
import { bearer, buildTestDcu, filesUnder, makeAccountDir, openAccount, serviceToken, type DcuApp } from './helpers';

jest.setTimeout(30_000);

describe('bad input', () => {
  let folder: Awaited<ReturnType<typeof makeAccountDir>>;
  let app: DcuApp;
  let account: { accountId: string; ownerKey: string };
  let filesBefore: string[];

  beforeAll(async () => {
    folder = await makeAccountDir();
    app = await buildTestDcu(folder.accountDir);
    account = await openAccount(app);
    filesBefore = await filesUnder(folder.root);
  });
  afterAll(async () => {
    await app.close();
    await folder.cleanup();
  });
  afterEach(async () => {
    // Nothing a bad request does may create a file, inside the folder or out of it.
    expect(await filesUnder(folder.root)).toEqual(filesBefore);
  });

  const traversals = ['..%2F..%2Fetc%2Fpasswd', '%2e%2e%2f%2e%2e%2fetc%2fpasswd', '..', '%2e%2e', 'not-a-uuid', '00000000-0000-0000-0000-00000000000g', `${randomUUID()}%00`, `${randomUUID()}.json`];

  it.each(traversals)('answers 400 to the account id %s on every route', async (accountId) => {
    for (const [method, suffix] of [['GET', ''], ['GET', '/transactions'], ['POST', '/withdrawals'], ['POST', '/researchers']] as const) {
      const response = await app.inject({
        method,
        url: `/accounts/${accountId}${suffix}`,
        headers: { ...bearer(account.ownerKey), 'idempotency-key': randomUUID() },
        ...(method === 'POST' ? { payload: suffix === '/withdrawals' ? { amountCents: 1 } : { name: 'x' } } : {}),
      });
      expect([400, 404]).toContain(response.statusCode);
      expect(response.json().message).toEqual(expect.any(String));
    }
  });

  it('answers 404 to a well-formed id of no account', async () => {
    const response = await app.inject({ url: `/accounts/${randomUUID()}`, headers: bearer(account.ownerKey) });
    expect(response.statusCode).toBe(404);
  });

  it.each([
    ['a string amount', { amountCents: '100' }],
    ['a boolean amount', { amountCents: true }],
    ['a fractional amount', { amountCents: 10.5 }],
    ['a negative amount', { amountCents: -1 }],
    ['a zero amount', { amountCents: 0 }],
    ['a huge amount', { amountCents: 1e13 }],
    ['an amount beyond 2^53', { amountCents: 2 ** 60 }],
    ['no amount', {}],
    ['an extra field', { amountCents: 1, balanceCents: 1e9 }],
    ['a null body', null],
    ['an array body', [1]],
    ['a long note', { amountCents: 1, note: 'x'.repeat(501) }],
  ])('refuses a withdrawal with %s (400)', async (_name, payload) => {
    const response = await app.inject({
      method: 'POST',
      url: `/accounts/${account.accountId}/withdrawals`,
      headers: { ...bearer(account.ownerKey), 'idempotency-key': randomUUID(), 'content-type': 'application/json' },
      payload: JSON.stringify(payload),
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual(expect.objectContaining({ statusCode: 400, error: 'Bad Request', message: expect.any(String) }));
  });

  it('refuses a note or a researcher name holding a NUL character, and says so (400)', async () => {
    const note = await app.inject({
      method: 'POST',
      url: `/accounts/${account.accountId}/withdrawals`,
      headers: { ...bearer(account.ownerKey), 'idempotency-key': randomUUID() },
      payload: { amountCents: 1, note: 'lab\u0000coat' },
    });
    expect(note.statusCode).toBe(400);
    expect(note.json().message).toBe('body.note must not contain the NUL character (\\u0000)');
    const name = await app.inject({
      method: 'POST',
      url: `/accounts/${account.accountId}/researchers`,
      headers: bearer(account.ownerKey),
      payload: { name: '\u0000' },
    });
    expect(name.statusCode).toBe(400);
    expect(name.json().message).toBe('body.name must not contain the NUL character (\\u0000)');
  });

  it('names the unknown field it refuses', async () => {
    const response = await app.inject({
      method: 'POST',
      url: `/accounts/${account.accountId}/withdrawals`,
      headers: { ...bearer(account.ownerKey), 'idempotency-key': randomUUID() },
      payload: { amountCents: 1, balanceCents: 1e9 },
    });
    expect(response.json().message).toBe('body must not have the property "balanceCents"');
  });

  it('refuses a withdrawal without an Idempotency-Key, or with a malformed one (400)', async () => {
    for (const headers of [{}, { 'idempotency-key': '' }, { 'idempotency-key': 'x'.repeat(256) }, { 'idempotency-key': 'tab\there' }]) {
      const response = await app.inject({
        method: 'POST',
        url: `/accounts/${account.accountId}/withdrawals`,
        headers: { ...bearer(account.ownerKey), ...headers },
        payload: { amountCents: 1 },
      });
      expect(response.statusCode).toBe(400);
    }
  });

  it('refuses malformed JSON, a wrong content type and a 2 MB body (4xx)', async () => {
    const url = `/accounts/${account.accountId}/withdrawals`;
    const headers = { ...bearer(account.ownerKey), 'idempotency-key': randomUUID() };
    const malformed = await app.inject({ method: 'POST', url, headers: { ...headers, 'content-type': 'application/json' }, payload: '{"amountCents": 1' });
    expect(malformed.statusCode).toBe(400);
    const text = await app.inject({ method: 'POST', url, headers: { ...headers, 'content-type': 'text/plain' }, payload: 'amountCents=1' });
    expect(text.statusCode).toBe(415);
    const huge = await app.inject({ method: 'POST', url, headers: { ...headers, 'content-type': 'application/json' }, payload: JSON.stringify({ amountCents: 1, note: 'x'.repeat(2 * 1024 * 1024) }) });
    expect(huge.statusCode).toBe(413);
    const view = (await app.inject({ url: `/accounts/${account.accountId}`, headers: bearer(account.ownerKey) })).json();
    expect(view.balanceCents).toBe(view.initialCents);
  });

  it.each([
    ['no proposalId', { title: 't', investigator: 'i', amountCents: 1, durationDays: 1 }],
    ['a proposalId that is a path', { proposalId: '../../etc/passwd', title: 't', investigator: 'i', amountCents: 1, durationDays: 1 }],
    ['durationDays 0', { proposalId: randomUUID(), title: 't', investigator: 'i', amountCents: 1, durationDays: 0 }],
    ['an empty title', { proposalId: randomUUID(), title: '', investigator: 'i', amountCents: 1, durationDays: 1 }],
    ['a string amount', { proposalId: randomUUID(), title: 't', investigator: 'i', amountCents: '1', durationDays: 1 }],
  ])('refuses to open an account with %s (400)', async (_name, payload) => {
    const response = await app.inject({ method: 'POST', url: '/accounts', headers: bearer(serviceToken), payload });
    expect(response.statusCode).toBe(400);
  });

  // Defence in depth: even the holder of SERVICE_TOKEN opens only what the agency may grant.
  it.each([
    ['an amount below what the agency grants', { amountCents: 29_999_999 }, /amountCents must be >= 30000000/],
    ['an amount above what the agency grants', { amountCents: 50_000_001 }, /amountCents must be <= 50000000/],
    ['a trillion cents', { amountCents: 1_000_000_000_000 }, /amountCents must be <= 50000000/],
    ['a duration over 3650 days', { durationDays: 3651 }, /durationDays must be <= 3650/],
  ])('refuses to open an account with %s (400, nothing opened)', async (_name, terms, message) => {
    const proposalId = randomUUID();
    const payload = { proposalId, title: 't', investigator: 'i', amountCents: 40_000_000, durationDays: 30, ...terms };
    const response = await app.inject({ method: 'POST', url: '/accounts', headers: bearer(serviceToken), payload });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ statusCode: 400, message: expect.stringMatching(message) });
    // Nothing was opened: the suite checks that no file appeared.
  });

  it('refuses a researcher id that is not a UUID (400)', async () => {
    const response = await app.inject({ method: 'DELETE', url: `/accounts/${account.accountId}/researchers/..%2F..%2Fx`, headers: bearer(account.ownerKey) });
    expect(response.statusCode).toBe(400);
  });
});
