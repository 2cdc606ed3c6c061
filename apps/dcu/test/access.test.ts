import { randomUUID } from 'node:crypto';
import { addStudent, bearer, buildTestDcu, makeAccountDir, openAccount, serviceToken, withdraw, type DcuApp } from './helpers';

jest.setTimeout(30_000);

describe('who may open an account', () => {
  let folder: Awaited<ReturnType<typeof makeAccountDir>>;
  let app: DcuApp;

  beforeAll(async () => {
    folder = await makeAccountDir();
    app = await buildTestDcu(folder.accountDir);
  });
  afterAll(async () => {
    await app.close();
    await folder.cleanup();
  });

  const routes = (accountId: string, researcherId = randomUUID()) => [
    { method: 'GET' as const, url: `/accounts/${accountId}` },
    { method: 'GET' as const, url: `/accounts/${accountId}/transactions` },
    { method: 'POST' as const, url: `/accounts/${accountId}/withdrawals`, payload: { amountCents: 1 }, idempotent: true },
    { method: 'POST' as const, url: `/accounts/${accountId}/researchers`, payload: { name: 'Mallory' } },
    { method: 'DELETE' as const, url: `/accounts/${accountId}/researchers/${researcherId}` },
  ];

  async function expectRefused(accountId: string, key: string | undefined, status: number) {
    const before = (await app.inject({ url: `/accounts/${accountId}`, headers: bearer(ownerKeyOf.get(accountId)!) })).json();
    for (const route of routes(accountId)) {
      const response = await app.inject({
        method: route.method,
        url: route.url,
        headers: {
          ...(key === undefined ? {} : bearer(key)),
          ...(route.idempotent ? { 'idempotency-key': randomUUID() } : {}),
        },
        ...(route.payload ? { payload: route.payload } : {}),
      });
      expect({ route: `${route.method} ${route.url}`, status: response.statusCode }).toEqual({
        route: `${route.method} ${route.url}`,
        status,
      });
      expect(response.json()).toEqual(expect.objectContaining({ statusCode: status, message: expect.any(String) }));
      expect(response.body).not.toContain('balanceCents');
    }
    const after = (await app.inject({ url: `/accounts/${accountId}`, headers: bearer(ownerKeyOf.get(accountId)!) })).json();
    expect(after).toEqual(before);
  }

  const ownerKeyOf = new Map<string, string>();
  async function account() {
    const opened = await openAccount(app);
    ownerKeyOf.set(opened.accountId, opened.ownerKey);
    return opened;
  }

  it('refuses requests without a key (401)', async () => {
    const { accountId } = await account();
    await expectRefused(accountId, undefined, 401);
  });

  it('refuses a wrong key (401)', async () => {
    const { accountId } = await account();
    await expectRefused(accountId, 'not-a-real-key-but-long-enough-to-look-like-one', 401);
  });

  it("refuses another account's owner key and student key (401)", async () => {
    const mine = await account();
    const theirs = await account();
    const theirStudent = await addStudent(app, theirs);
    await expectRefused(mine.accountId, theirs.ownerKey, 401);
    await expectRefused(mine.accountId, theirStudent.key, 401);
  });

  it("refuses a removed student's key (401), and removing twice is harmless", async () => {
    const opened = await account();
    const student = await addStudent(app, opened);
    expect((await withdraw(app, opened.accountId, student.key, 10)).statusCode).toBe(201);
    const removal = { method: 'DELETE' as const, url: `/accounts/${opened.accountId}/researchers/${student.researcherId}`, headers: bearer(opened.ownerKey) };
    expect((await app.inject(removal)).statusCode).toBe(204);
    expect((await app.inject(removal)).statusCode).toBe(204);
    await expectRefused(opened.accountId, student.key, 401);
    const view = (await app.inject({ url: `/accounts/${opened.accountId}`, headers: bearer(opened.ownerKey) })).json();
    expect(view.researchers.map((researcher: { role: string }) => researcher.role)).toEqual(['owner']);
  });

  it('lets a student read and withdraw but not manage researchers (403)', async () => {
    const opened = await account();
    const student = await addStudent(app, opened);
    const other = await addStudent(app, opened, 'Katherine Johnson');
    expect((await app.inject({ url: `/accounts/${opened.accountId}`, headers: bearer(student.key) })).statusCode).toBe(200);
    expect((await withdraw(app, opened.accountId, student.key, 5)).statusCode).toBe(201);
    const add = await app.inject({ method: 'POST', url: `/accounts/${opened.accountId}/researchers`, headers: bearer(student.key), payload: { name: 'Eve' } });
    expect(add.statusCode).toBe(403);
    const remove = await app.inject({ method: 'DELETE', url: `/accounts/${opened.accountId}/researchers/${other.researcherId}`, headers: bearer(student.key) });
    expect(remove.statusCode).toBe(403);
    const view = (await app.inject({ url: `/accounts/${opened.accountId}`, headers: bearer(opened.ownerKey) })).json();
    expect(view.researchers).toHaveLength(3);
  });

  it('refuses to remove the owner', async () => {
    const opened = await account();
    const view = (await app.inject({ url: `/accounts/${opened.accountId}`, headers: bearer(opened.ownerKey) })).json();
    const owner = view.researchers.find((researcher: { role: string }) => researcher.role === 'owner');
    const response = await app.inject({ method: 'DELETE', url: `/accounts/${opened.accountId}/researchers/${owner.researcherId}`, headers: bearer(opened.ownerKey) });
    expect(response.statusCode).toBe(409);
  });

  it('opens accounts only with the service token', async () => {
    const payload = { proposalId: randomUUID(), title: 'T', investigator: 'I', amountCents: 30_000_000, durationDays: 5 };
    for (const headers of [{}, bearer('wrong-service-token-0123456789'), bearer(serviceToken.toUpperCase()), { authorization: serviceToken }]) {
      const response = await app.inject({ method: 'POST', url: '/accounts', headers, payload });
      expect(response.statusCode).toBe(401);
    }
    expect((await app.inject({ method: 'POST', url: '/accounts', headers: bearer(serviceToken), payload })).statusCode).toBe(201);
  });

  it('answers the same proposalId with the same account and owner key, and refuses different terms', async () => {
    const proposalId = randomUUID();
    const first = await openAccount(app, { proposalId });
    const again = await openAccount(app, { proposalId });
    expect(again).toEqual(first);
    const different = await app.inject({
      method: 'POST',
      url: '/accounts',
      headers: bearer(serviceToken),
      payload: { proposalId, title: 'Soil microbes', investigator: 'Ada Lovelace', amountCents: 40_000_001, durationDays: 30 },
    });
    expect(different.statusCode).toBe(409);
  });

  it('adds a student once per Idempotency-Key', async () => {
    const opened = await account();
    const add = () =>
      app.inject({
        method: 'POST',
        url: `/accounts/${opened.accountId}/researchers`,
        headers: { ...bearer(opened.ownerKey), 'idempotency-key': 'add-grace-1' },
        payload: { name: 'Grace Hopper' },
      });
    const [first, second] = await Promise.all([add(), add()]);
    expect(first!.statusCode).toBe(201);
    expect(second!.json()).toEqual(first!.json());
    const view = (await app.inject({ url: `/accounts/${opened.accountId}`, headers: bearer(opened.ownerKey) })).json();
    expect(view.researchers).toHaveLength(2);
  });
});
