import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import fc from 'fast-check';
import {
  contentTypeHeader,
  FuzzProbe,
  headerSafe,
  hostileText,
  hugeNumbers,
  notQuiteJson,
  pathParameter,
} from '@grantline/service-kit/testing';
import type { InjectOptions } from 'fastify';
import {
  allTransactions,
  addStudent,
  bearer,
  buildTestDcu,
  filesUnder,
  makeAccountDir,
  openAccount,
  serviceToken,
  STORES,
  type DcuApp,
  type OpenedAccount,
} from './helpers';

/**
 * Bad input at volume: well over 10,000 generated malformed requests (bad JSON, wrong types,
 * huge values, unicode, path tricks in every parameter, raw and encoded, wrong content types,
 * missing and duplicated headers). Every answer is below 500 and, for 4xx, the JSON error
 * shape; the DCU still answers /health; no file appears outside ACCOUNT_DIR, and the real
 * accounts still add up.
 */
jest.setTimeout(120_000);

const RUNS_PER_PROPERTY = Number(process.env.FUZZ_RUNS ?? 4_000);

let folder: Awaited<ReturnType<typeof makeAccountDir>>;
let app: DcuApp;
let account: OpenedAccount;
let student: { researcherId: string; key: string };
const probe = new FuzzProbe(() => app);

/** The probe's checks (no 5xx, every 4xx in the contract's error shape), on each request. */
async function send(options: InjectOptions): Promise<void> {
  await probe.check(options);
}

/** What POST /accounts/:id/withdrawals may answer (its schema declares exactly these). */
const WITHDRAWAL_STATUSES = new Set([201, 400, 401, 404, 409, 410, 413, 415, 422]);

/** A withdrawal with a real key: the probe's checks, a status the route declares, and a 201 that adds up. */
async function sendWithdrawal(options: InjectOptions): Promise<void> {
  const balanceBefore = (
    await app.inject({ url: `/accounts/${account.accountId}`, headers: bearer(account.ownerKey) })
  ).json<{ balanceCents: number }>().balanceCents;
  const status = await probe.check(options);
  if (status === undefined) return; // refused before reaching the server (an invalid URL)
  if (!WITHDRAWAL_STATUSES.has(status))
    throw new Error(
      `${options.method} ${options.url} answered ${status}, which the route does not declare`,
    );
  const balanceAfter = (
    await app.inject({ url: `/accounts/${account.accountId}`, headers: bearer(account.ownerKey) })
  ).json<{ balanceCents: number }>().balanceCents;
  // Money moves only with a 201 (a replay moves none), and never below zero.
  if (status !== 201 && balanceAfter !== balanceBefore) {
    throw new Error(
      `${options.method} ${options.url}: the balance moved from ${balanceBefore} to ${balanceAfter} with a ${status}`,
    );
  }
  if (balanceAfter < 0 || balanceAfter > balanceBefore)
    throw new Error(`the balance went from ${balanceBefore} to ${balanceAfter}`);
}

// ---- building blocks -------------------------------------------------------------------

const weirdText = hostileText([
  'é',
  'ｅ',
  'undefined',
  'NaN',
  '-0',
  '1e309',
  "'; DROP TABLE accounts; --",
  '%s%s%s%n',
  '__proto__',
  'constructor',
  'prototype',
  'hasOwnProperty',
  'toString',
]);

/** Things that try to leave the account folder or to name a file in it. */
function pathTricks(): fc.Arbitrary<string> {
  const real = account.accountId;
  return fc.constantFrom(
    '..',
    '.',
    '...',
    '../..',
    '../../../../etc/passwd',
    '..\\..\\windows\\win.ini',
    '%2e%2e',
    '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    '%252e%252e%252f',
    '..%2f..%2f..%2f',
    '..%5c..%5c',
    '%c0%ae%c0%ae%c0%af',
    '%00',
    `${real}%00`,
    `${real}%00.json`,
    `${real}.json`,
    `${real}.ledger.jsonl`,
    `${real}.lock`,
    `.${real}`,
    `${real}/..`,
    `${real}/../${real}`,
    `${real.toUpperCase()}`,
    ` ${real}`,
    `${real} `,
    `${real}?x=1`,
    `${real}#x`,
    `${real};x`,
    `${real}%2F..%2F..%2Fescape`,
    `/tmp/${real}`,
    '~',
    '~root',
    '$HOME',
    'CON',
    'aux.json',
    'accounts',
    '00000000-0000-0000-0000-000000000000',
    'ffffffff-ffff-ffff-ffff-ffffffffffff',
    'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz',
    `{${real}}`,
    '*',
    '?',
    '%',
    '%%',
    '%zz',
    '\u2215',
    '\u2044..\u2044',
  );
}

/** One path parameter: real or random ids, tricks, text; sent raw, encoded or double encoded. */
function parameter(): fc.Arbitrary<string> {
  const value = fc.oneof(
    { weight: 3, arbitrary: fc.constant(account.accountId) },
    { weight: 2, arbitrary: fc.uuid().map(String) },
    { weight: 4, arbitrary: pathTricks() },
    { weight: 3, arbitrary: weirdText },
  );
  return pathParameter(value);
}

function url(): fc.Arbitrary<string> {
  const p = parameter();
  const real = account.accountId;
  const researcher = fc.oneof(fc.constant(student.researcherId), p);
  const path = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.constantFrom(
        `/accounts/${real}`,
        `/accounts/${real}/withdrawals`,
        `/accounts/${real}/transactions`,
        `/accounts/${real}/researchers`,
        '/accounts',
      ),
    },
    {
      weight: 5,
      arbitrary: fc.oneof(
        p.map((id) => `/accounts/${id}`),
        p.map((id) => `/accounts/${id}/withdrawals`),
        p.map((id) => `/accounts/${id}/transactions`),
        p.map((id) => `/accounts/${id}/researchers`),
        fc.tuple(p, researcher).map(([id, r]) => `/accounts/${id}/researchers/${r}`),
        researcher.map((r) => `/accounts/${real}/researchers/${r}`),
      ),
    },
    {
      weight: 1,
      arbitrary: fc.oneof(
        fc.constantFrom(
          '/accounts/',
          '//accounts',
          '/accounts//withdrawals',
          '/health/..',
          '/%2e%2e/etc/passwd',
          '/documentation/json',
        ),
        fc.array(p, { minLength: 1, maxLength: 4 }).map((segments) => `/${segments.join('/')}`),
      ),
    },
  );
  const query = fc.oneof(
    { weight: 6, arbitrary: fc.constant('') },
    {
      weight: 1,
      arbitrary: fc.oneof(
        fc.constantFrom(
          '?',
          '?accountId=../../x',
          '?__proto__[x]=1',
          '?constructor[prototype][x]=1',
        ),
        p.map((text) => `?amountCents=${text}&amountCents=1`),
      ),
    },
  );
  return fc.tuple(path, query).map(([pathname, search]) => pathname + search);
}

function keyFor(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constant(account.ownerKey),
    fc.constant(student.key),
    fc.constant(serviceToken),
    fc.constant('x'.repeat(43)),
    weirdText.map((text) => text.replace(/[\r\n]/g, '')),
  );
}

function authorization(): fc.Arbitrary<string | string[] | undefined> {
  return fc.oneof(
    fc.constant(undefined),
    keyFor().map((key) => `Bearer ${headerSafe(key)}`),
    keyFor().map((key) => `bearer  ${headerSafe(key)}`),
    keyFor().map((key) => `Basic ${Buffer.from(`${headerSafe(key)}:x`).toString('base64')}`),
    fc.constantFrom('Bearer', 'Bearer ', 'Bearer\t', 'Token abc', ''),
    fc
      .tuple(keyFor(), keyFor())
      .map(([a, b]) => [`Bearer ${headerSafe(a)}`, `Bearer ${headerSafe(b)}`]),
  );
}

function idempotencyKey(): fc.Arbitrary<string | string[] | undefined> {
  return fc.oneof(
    fc.constant(undefined),
    fc.uuid().map(String),
    fc.constantFrom(
      '',
      ' ',
      ' a',
      'a ',
      'a\tb',
      'ключ',
      '😀',
      'k'.repeat(255),
      'k'.repeat(256),
      'k'.repeat(5_000),
    ),
    weirdText.map(headerSafe),
    fc.tuple(fc.uuid(), fc.uuid()).map(([a, b]) => [String(a), String(b)]),
  );
}

const contentType = () => contentTypeHeader;

const amount = fc.oneof(
  fc.integer({ min: 1, max: 5_000 }),
  hugeNumbers,
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom('100', '1e3', '0x10', ' 1', true, false, null, [], [1], {}, { value: 1 }),
  weirdText,
);

function jsonBody(): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.record(
      { amountCents: amount, note: fc.oneof(weirdText, fc.integer(), fc.constant(null)) },
      { requiredKeys: [] },
    ),
    fc.record(
      { amountCents: amount, extra: fc.jsonValue({ maxDepth: 2 }) },
      { requiredKeys: ['amountCents'] },
    ),
    fc.record(
      {
        proposalId: fc.oneof(fc.uuid().map(String), pathTricks(), weirdText, fc.integer()),
        title: fc.oneof(weirdText, fc.integer(), fc.constant(null)),
        investigator: fc.oneof(weirdText, fc.constant(['a'])),
        amountCents: amount,
        durationDays: fc.oneof(
          fc.integer({ min: -10, max: 5_000 }),
          hugeNumbers,
          fc.constant('30'),
        ),
      },
      { requiredKeys: [] },
    ),
    fc.record(
      {
        name: fc.oneof(
          weirdText,
          fc.integer(),
          fc.constant(null),
          fc.array(weirdText, { maxLength: 3 }),
        ),
      },
      { requiredKeys: [] },
    ),
    fc.jsonValue({ maxDepth: 3 }),
  );
}

/** Text that is not quite JSON, or JSON that plays tricks. */
const rawBody = fc.oneof(
  notQuiteJson([
    '{"amountCents":',
    '{"amountCents":1,}',
    "{'amountCents':1}",
    '{"amountCents":1}{"amountCents":2}',
    '{"amountCents":1,"amountCents":"1"}',
    '{"amountCents":1,"amountCents":2}',
    '{"__proto__":{"amountCents":1}}',
    '{"amountCents":1,"__proto__":{"admin":true}}',
    '{"constructor":{"prototype":{"amountCents":1}}}',
    '{"amountCents":NaN}',
    '{"amountCents":Infinity}',
    '{"amountCents":-Infinity}',
    '{"amountCents":1e999}',
    `{"amountCents":${'9'.repeat(400)}}`,
    `{"amountCents":0.${'0'.repeat(400)}1}`,
    '{"amountCents":1.0}',
    '{"amountCents":100e-2}',
    '{"amountCents":0x10}',
    '{"amountCents":"\\u0031"}',
    '{"name":"\\ud800"}',
    '{"name":"\\u0000"}',
    '\uFEFF{"amountCents":1}',
  ]),
  fc
    .integer({ min: 60_000, max: 70_000 })
    .map((size) => `{"note":"${'n'.repeat(size)}","amountCents":1}`),
);

function request(): fc.Arbitrary<InjectOptions> {
  return fc
    .record({
      method: fc.constantFrom(
        'GET',
        'POST',
        'POST',
        'POST',
        'DELETE',
        'PUT',
        'PATCH',
        'HEAD',
        'OPTIONS',
      ),
      url: url(),
      authorization: authorization(),
      idempotencyKey: idempotencyKey(),
      contentType: contentType(),
      body: fc.oneof(
        { weight: 3, arbitrary: jsonBody().map((value) => JSON.stringify(value) ?? '') },
        { weight: 2, arbitrary: rawBody },
        { weight: 1, arbitrary: fc.constant(undefined) },
      ),
      extraHeaders: fc.dictionary(
        fc.constantFrom(
          'x-forwarded-for',
          'host',
          'content-length',
          'transfer-encoding',
          'accept',
          'x-http-method-override',
          'cookie',
        ),
        fc.constantFrom(
          '',
          '0',
          '-1',
          '99999999',
          'chunked',
          'identity',
          '../../',
          '127.0.0.1, ::1',
          'a=b; c',
          '*/*',
        ),
        { maxKeys: 2 },
      ),
    })
    .map(({ method, url, authorization, idempotencyKey, contentType, body, extraHeaders }) => {
      const headers: Record<string, string | string[]> = {};
      // A content-length that lies is the transport's business (the socket), not the app's.
      for (const [name, value] of Object.entries(extraHeaders))
        if (name !== 'content-length' && name !== 'transfer-encoding') headers[name] = value;
      if (authorization !== undefined) headers.authorization = authorization;
      if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;
      if (contentType !== undefined) headers['content-type'] = contentType;
      return {
        method: method as InjectOptions['method'],
        url,
        headers,
        ...(body === undefined || method === 'GET' || method === 'HEAD' ? {} : { payload: body }),
      };
    });
}

describe.each(STORES)('the DCU under generated malformed requests (%s store)', (store) => {
  beforeAll(async () => {
    probe.reset();
    folder = await makeAccountDir(store);
    app = await buildTestDcu(folder.accountDir);
    account = await openAccount(app, { amountCents: 50_000_000 });
    student = await addStudent(app, account);
  });

  afterAll(async () => {
    await app.close();
    await folder.cleanup();
  });

  it('answers a malformed percent-encoding in the path with the JSON error shape', async () => {
    for (const url of [
      '/accounts/%zz',
      '/accounts/%',
      `/accounts/${account.accountId}%/transactions`,
      '/%E0%A4%A',
    ]) {
      const response = await app.inject({ url, headers: bearer(account.ownerKey) });
      expect({ url, statusCode: response.statusCode, body: response.json() }).toEqual({
        url,
        statusCode: 400,
        body: expect.objectContaining({
          statusCode: 400,
          error: 'Bad Request',
          message: expect.any(String),
        }),
      });
    }
  });

  it('never answers 5xx to any generated request', async () => {
    await fc.assert(fc.asyncProperty(request(), send), { numRuns: RUNS_PER_PROPERTY });
  });

  it('never answers 5xx to generated withdrawals with real keys and bad bodies or headers', async () => {
    const withdrawal = fc
      .record({
        key: fc.constantFrom(account.ownerKey, student.key),
        idempotencyKey: idempotencyKey(),
        contentType: contentType(),
        body: fc.oneof(
          jsonBody().map((value) => JSON.stringify(value) ?? ''),
          rawBody,
        ),
      })
      .map(({ key, idempotencyKey, contentType, body }) => {
        const headers: Record<string, string | string[]> = { ...bearer(key) };
        if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;
        if (contentType !== undefined) headers['content-type'] = contentType;
        return {
          method: 'POST' as const,
          url: `/accounts/${account.accountId}/withdrawals`,
          headers,
          payload: body,
        };
      });
    await fc.assert(fc.asyncProperty(withdrawal, sendWithdrawal), { numRuns: RUNS_PER_PROPERTY });
  });

  it('never answers 5xx to generated path tricks in every parameter, with the owner key', async () => {
    const tricked = fc
      .record({
        method: fc.constantFrom('GET', 'POST', 'DELETE'),
        url: url(),
        key: fc.constantFrom(account.ownerKey, serviceToken),
        idempotencyKey: fc.oneof(fc.constant(randomUUID()), fc.uuid().map(String)),
        body: jsonBody().map((value) => JSON.stringify(value) ?? ''),
      })
      .map(({ method, url, key, idempotencyKey, body }) => ({
        method: method as InjectOptions['method'],
        url,
        headers: {
          ...bearer(key),
          'idempotency-key': idempotencyKey,
          'content-type': 'application/json',
        },
        ...(method === 'GET' ? {} : { payload: body }),
      }));
    await fc.assert(fc.asyncProperty(tricked, send), { numRuns: RUNS_PER_PROPERTY });
  });

  it('has answered at least 10,000 of them, still answers /health, and kept every file in ACCOUNT_DIR', async () => {
    console.log(probe.summary('DCU'));
    expect(probe.requests).toBeGreaterThanOrEqual(Math.min(10_000, 3 * RUNS_PER_PROPERTY * 0.9));
    // Every 4xx is the contract's JSON error (API.md: `{ statusCode, error, message }`).
    expect(Object.fromEntries(probe.badShapes)).toEqual({});
    const health = await app.inject({ url: '/health' });
    expect(health.statusCode).toBe(200);

    // The real account still adds up after whatever the fuzzer managed to withdraw.
    const view = (
      await app.inject({ url: `/accounts/${account.accountId}`, headers: bearer(account.ownerKey) })
    ).json();
    const transactions = await allTransactions(app, account.accountId, account.ownerKey);
    const withdrawn = transactions
      .filter((t) => t.type === 'withdrawal')
      .reduce((sum, t) => sum + t.amountCents, 0);
    expect(view.balanceCents).toBeGreaterThanOrEqual(0);
    expect(view.balanceCents).toBe(view.initialCents - withdrawn);

    // Closed first, so snapshots still being written (their temporary files) have landed.
    await app.close();
    // Nothing outside the account folder (on PostgreSQL, no file at all); inside it only accounts' files.
    expect(await readdir(folder.root)).toEqual(store === 'files' ? ['accounts'] : []);
    const inside = store === 'files' ? await filesUnder(folder.accountDir) : [];
    const uuid = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
    const allowed = new RegExp(
      `^(${uuid}\\.ledger\\.jsonl|${uuid}\\.json|${uuid}\\.lock|${uuid}\\.lock\\.wanted|${uuid}\\.checkpoint|ends|ends/${uuid}\\.\\d+|journal|journal/${uuid}\\.\\d+\\.jsonl)$`,
    );
    expect(inside.filter((name) => !allowed.test(name))).toEqual([]);
  });
});
