import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { MAX_AMOUNT_CENTS, MAX_DURATION_DAYS } from '@grantline/contracts';
import { startTestPostgres, type TestPostgres } from '@grantline/postgres/testing';
import { FuzzProbe, notAnInteger, notANumber, notAString, percentEncode } from '@grantline/service-kit/testing';
import { buildAgencyApp } from '../src/app';
import { FileAgencyStore } from '../src/storage/file-store';
import { PostgresAgencyStore } from '../src/storage/postgres-store';
import type { AgencyStore } from '../src/storage/store';
import { serviceToken, startFakeDcu, startFakeRegistry } from './fakes';

/**
 * Throws 10,000 generated malformed requests at POST /proposals. Every one is malformed by
 * construction (or is random junk that cannot be a proposal), so every answer must be a 4xx
 * in the one error shape, and none may reach the DCU or the store. Then generated reads and
 * closeouts, which do reach the store: it must refuse every wrong one without moving money.
 * Both suites run over each store the agency ships (files, PostgreSQL).
 */

jest.setTimeout(240_000);

/** PostgreSQL for the postgres store, started when first needed; when none can be had, the suite fails. */
let postgres: Promise<TestPostgres> | undefined;
afterAll(async () => {
  await (await postgres)?.close();
});

interface StoreUnderTest {
  name: 'files' | 'postgres';
  /**
   * How many malformed proposals. None of them reaches the store (the schema refuses each
   * first), so the generators explore the same validation on both; the second store needs
   * only enough to show that nothing gets through on it either, and every assertion keeps
   * its meaning at this count.
   */
  malformedRuns: number;
  open(): Promise<{ store: AgencyStore; dispose(): Promise<void> }>;
}

const STORES: StoreUnderTest[] = [
  {
    name: 'files',
    malformedRuns: 10_000,
    open: async () => {
      const directory = mkdtempSync(path.join(os.tmpdir(), 'agency-fuzz-'));
      const store = new FileAgencyStore({ directory });
      await store.start();
      return {
        store,
        dispose: async () => {
          await store.close();
          rmSync(directory, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'postgres',
    malformedRuns: 2_500,
    open: async () => {
      postgres ??= startTestPostgres();
      const server = await postgres;
      const databaseUrl = await server.createDatabase();
      const store = await PostgresAgencyStore.open({ databaseUrl, maxConnections: 4 });
      return {
        store,
        dispose: async () => {
          await store.close();
          await server.release(databaseUrl);
        },
      };
    },
  },
];

const FIELDS = ['title', 'investigator', 'amountCents', 'durationDays'] as const;
type Field = (typeof FIELDS)[number];

const validProposal = fc.record({
  title: fc.string({ minLength: 1, maxLength: 200 }),
  investigator: fc.string({ minLength: 1, maxLength: 120 }),
  amountCents: fc.integer({ min: 1, max: MAX_AMOUNT_CENTS }),
  durationDays: fc.integer({ min: 1, max: MAX_DURATION_DAYS }),
});

const badValue: Record<Field, fc.Arbitrary<unknown>> = {
  amountCents: fc.oneof(
    fc.integer({ min: Number.MIN_SAFE_INTEGER, max: 0 }),
    fc.integer({ min: MAX_AMOUNT_CENTS + 1, max: Number.MAX_SAFE_INTEGER }),
    notAnInteger,
    notANumber,
  ),
  durationDays: fc.oneof(
    fc.integer({ min: Number.MIN_SAFE_INTEGER, max: 0 }),
    fc.integer({ min: MAX_DURATION_DAYS + 1, max: Number.MAX_SAFE_INTEGER }),
    notAnInteger,
    notANumber,
  ),
  title: fc.oneof(fc.constant(''), fc.string({ minLength: 201, maxLength: 400 }), notAString),
  investigator: fc.oneof(fc.constant(''), fc.string({ minLength: 121, maxLength: 300 }), notAString),
};

/** Sets a property as JSON would carry it, even one named `__proto__`. */
function withProperty(object: object, name: string, value: unknown): object {
  return Object.defineProperty({ ...object }, name, { value, enumerable: true, configurable: true, writable: true });
}

const brokenProposal: fc.Arbitrary<unknown> = fc.oneof(
  // One field with a value of the wrong type or out of range.
  fc
    .tuple(validProposal, fc.constantFrom(...FIELDS))
    .chain(([proposal, field]) => badValue[field].map((value) => withProperty(proposal, field, value))),
  // One field missing.
  fc.tuple(validProposal, fc.constantFrom(...FIELDS)).map(([proposal, field]) => {
    const copy: Partial<typeof proposal> = { ...proposal };
    delete copy[field];
    return copy;
  }),
  // One field too many.
  fc
    .tuple(validProposal, fc.string({ minLength: 1, maxLength: 20 }), fc.jsonValue({ maxDepth: 2 }))
    .filter(([, name]) => !(FIELDS as readonly string[]).includes(name))
    .map(([proposal, name, value]) => withProperty(proposal, name, value)),
  // Anything JSON at all: a proposal needs exactly four typed fields, so this is never one.
  fc.jsonValue({ maxDepth: 3 }),
);

/** Printable ASCII without the space, as a valid key must begin and end. */
const keyChar = fc.integer({ min: 0x21, max: 0x7e }).map((code) => String.fromCharCode(code));
const validKey = fc.string({ unit: keyChar, minLength: 1, maxLength: 64 });
/** Keys HTTP can carry (tab, latin-1) but the contract refuses, or too long. */
const badKey = fc.oneof(
  fc.string({ unit: keyChar, minLength: 256, maxLength: 400 }),
  fc
    .tuple(
      validKey,
      fc.oneof(fc.constant('\t'), fc.integer({ min: 0x80, max: 0xff }).map((code) => String.fromCharCode(code))),
      validKey,
    )
    .map(([before, bad, after]) => before + bad + after),
);

const notJson = fc.constantFrom(
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'application/octet-stream',
  'text/json',
);

interface GeneratedRequest {
  payload: string;
  headers: Record<string, string>;
}

const json = (payload: unknown, key: string | null): GeneratedRequest => ({
  payload: JSON.stringify(payload) ?? '',
  headers: { 'content-type': 'application/json', ...(key === null ? {} : { 'idempotency-key': key }) },
});

const malformedRequest: fc.Arbitrary<GeneratedRequest> = fc.oneof(
  // A broken body, with or without a valid key.
  fc.tuple(brokenProposal, fc.option(validKey)).map(([body, key]) => json(body, key)),
  // A good body with a bad key.
  fc.tuple(validProposal, badKey).map(([body, key]) => json(body, key)),
  // A good body that does not say it is JSON.
  fc.tuple(validProposal, notJson).map(([body, contentType]) => ({
    payload: JSON.stringify(body),
    headers: { 'content-type': contentType },
  })),
  // Text that is not JSON (or is cut short), claiming to be JSON.
  fc
    .tuple(fc.oneof(fc.string({ maxLength: 200 }), validProposal.map((body) => JSON.stringify(body))), fc.nat())
    .map(([text, cut]) => text.slice(0, text.length > 1 ? cut % (text.length - 1) : 0))
    .map((text) => ({ payload: `${text}\u0000}`, headers: { 'content-type': 'application/json' } })),
);

describe.each(STORES)('POST /proposals under $malformedRuns malformed requests, on $name', ({ malformedRuns: RUNS, open }) => {
  let registry: Awaited<ReturnType<typeof startFakeRegistry>>;
  let dcu: Awaited<ReturnType<typeof startFakeDcu>>;

  beforeAll(async () => {
    registry = await startFakeRegistry();
    dcu = await startFakeDcu();
    registry.list('dcu', [dcu.url]);
  });

  afterAll(async () => {
    await dcu?.close();
    await registry?.close();
  });

  it('answers every one with a 4xx in the error shape, and opens nothing', async () => {
    const client = registry.client();
    const { store, dispose } = await open();
    const app = await buildAgencyApp({ registry: client, serviceToken, store, fastify: { logger: false } });
    const probe = new FuzzProbe(() => app);
    try {
      await fc.assert(
        fc.asyncProperty(malformedRequest, async (request) => {
          // No 5xx and the error shape, on each request; and never a success.
          const status = await probe.check({ method: 'POST', url: '/proposals', ...request });
          expect(status).toBeGreaterThanOrEqual(400);
          expect(status).toBeLessThan(500);
        }),
        { numRuns: RUNS },
      );
      // Nothing was decided, not even a rejection: no malformed request reached the store.
      expect(await store.latest(10)).toEqual([]);
      expect(await store.budget()).toEqual({ committedCents: 0, returnedCents: 0 });
    } finally {
      await app.close();
      await client.close();
      await dispose();
    }
    expect(probe.requests).toBeGreaterThanOrEqual(RUNS);
    expect(probe.badShapes).toEqual(new Map());
    // Both kinds of refusal were exercised, not just one.
    expect(probe.statuses.get(400)).toBeGreaterThan(RUNS / 2);
    expect(probe.statuses.get(415)).toBeGreaterThan(0);
    expect(dcu.received).toHaveLength(0);
  });
});

describe.each(STORES)('GET /proposals/:id, GET /budget and POST /closeouts under generated requests, on $name', ({ name, open }) => {
  const CLOSEOUT_RUNS = 3_000;
  const proposal = { title: 'Fuzzed', investigator: 'Dr. Fuzz', amountCents: 40_000_000, durationDays: 30 };

  it('answers every one with a 4xx in the error shape (or 200 for a read), and never moves money', async () => {
    const { store, dispose } = await open();
    const registry = await startFakeRegistry();
    const dcu = await startFakeDcu();
    registry.list('dcu', [dcu.url]);
    const client = registry.client();
    const app = await buildAgencyApp({ registry: client, serviceToken, budgetCents: 100_000_000, store, fastify: { logger: false } });
    const probe = new FuzzProbe(() => app);
    try {
      const funded = (await app.inject({ method: 'POST', url: '/proposals', payload: proposal, headers: { 'idempotency-key': 'fuzz' } })).json();
      const before = (await app.inject({ method: 'GET', url: '/budget' })).json();
      const uuidish = fc.oneof(
        fc.uuid(),
        fc.constant(funded.proposalId as string),
        fc.string({ maxLength: 60 }),
        fc.string({ maxLength: 40 }).map((text) => `${funded.proposalId}${text}`),
      );
      const closeoutBody = fc.oneof(
        // Well-formed, but wrong in some way the store must refuse: the wrong account, too much, unknown.
        fc.record({
          proposalId: fc.oneof(fc.uuid(), fc.constant(funded.proposalId as string)),
          accountId: fc.uuid(),
          returnedCents: fc.oneof(fc.integer({ min: 0, max: 50_000_000 }), fc.constant(40_000_001)),
        }),
        fc.record({
          proposalId: fc.constant(funded.proposalId as string),
          accountId: fc.constant(funded.accountId as string),
          returnedCents: fc.integer({ min: 40_000_001, max: Number.MAX_SAFE_INTEGER }),
        }),
        fc.record({ proposalId: uuidish, accountId: uuidish, returnedCents: fc.jsonValue() }, { requiredKeys: [] }),
        fc.jsonValue({ maxDepth: 3 }),
      );
      const token = fc.oneof(
        fc.constant(`Bearer ${serviceToken}`),
        fc.constant(undefined),
        fc.string({ maxLength: 40 }).map((text) => `Bearer ${text.replace(/[^\x21-\x7e]/g, 'x')}`),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            uuidish.map((id) => ({ method: 'GET' as const, url: `/proposals/${percentEncode(id)}` })),
            fc.constant({ method: 'GET' as const, url: '/budget' }),
            fc.tuple(closeoutBody, token).map(([body, authorization]) => ({
              method: 'POST' as const,
              url: '/closeouts',
              payload: JSON.stringify(body) ?? '',
              headers: { 'content-type': 'application/json', ...(authorization === undefined ? {} : { authorization }) },
            })),
          ),
          async (request) => {
            await probe.check(request);
          },
        ),
        { numRuns: CLOSEOUT_RUNS },
      );
      console.log(probe.summary(`agency closeouts/proposals/budget on ${name}`));
      expect(probe.badShapes).toEqual(new Map());
      expect(probe.requests).toBeGreaterThanOrEqual(CLOSEOUT_RUNS * 0.9);
      // Several kinds of refusal were reached, not only schema errors.
      for (const status of [400, 401, 404, 409, 422]) expect(probe.statuses.get(status)).toBeGreaterThan(0);
      // Nothing generated is the right account with a legal amount: no money moved.
      expect((await app.inject({ method: 'GET', url: '/budget' })).json()).toEqual(before);
    } finally {
      await app.close();
      await client.close();
      await dispose();
      await dcu.close();
      await registry.close();
    }
  });
});
