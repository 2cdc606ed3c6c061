import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { NoInstanceError, type CallRequest, type CallResponse } from '@grantline/registry-client';
import { accountIdFor } from '@grantline/service-kit';
import type { ServiceCaller } from '../src/dcu/open-account';
import { proposalIdFor } from '../src/domain/proposal';
import { Funder } from '../src/funder';
import { FileAgencyStore } from '../src/storage/file-store';
import { MemoryAgencyStore } from '../src/storage/memory-store';
import { PostgresAgencyStore } from '../src/storage/postgres-store';
import type { AgencyStore } from '../src/storage/store';
import { startTestPostgres, type TestPostgres } from '@grantline/postgres/testing';

/**
 * The budget against a plain model. Random proposals go to two agency instances sharing one
 * store; the DCU opens the account, is unreachable (nothing sent), or opens it and the answer
 * is lost; accounts close out and hand money back; instances restart; recovery passes run.
 * After every step the store agrees with the model, the budget is never overcommitted, and
 * no account exists at the DCU without its money committed.
 */

jest.setTimeout(240_000);

const TOTAL = 150_000_000;
type DcuMood = 'opens' | 'unreachable' | 'answer-lost';

/** A DCU in memory: one account per proposalId, as the real one; its mood decides the next answer. */
class ModelDcu implements ServiceCaller {
  readonly accounts = new Map<string, string>();
  mood: DcuMood = 'opens';

  async call<T>(_type: string, request: CallRequest): Promise<CallResponse<T>> {
    const { proposalId } = request.body as { proposalId: string };
    if (this.mood === 'unreachable') {
      throw new NoInstanceError('dcu', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    }
    const accountId = accountIdFor(proposalId);
    this.accounts.set(proposalId, accountId);
    if (this.mood === 'answer-lost') {
      throw new NoInstanceError('dcu', Object.assign(new Error('headers timeout'), { code: 'UND_ERR_HEADERS_TIMEOUT' }));
    }
    return { statusCode: 201, headers: {}, body: { accountId, ownerKey: `owner-${proposalId}` } as T, instanceUrl: 'http://dcu', attempts: 1 };
  }
}

interface ModelProposal {
  amountCents: number;
  /** funded: the money is committed (the account exists or may exist). */
  state: 'rejected' | 'funded' | 'closed';
  returnedCents: number;
}

class Model {
  readonly proposals = new Map<string, ModelProposal>();
  get committed() {
    let sum = 0;
    for (const p of this.proposals.values()) if (p.state !== 'rejected') sum += p.amountCents;
    return sum;
  }
  get returned() {
    let sum = 0;
    for (const p of this.proposals.values()) sum += p.returnedCents;
    return sum;
  }
}

type Command =
  | { kind: 'submit'; instance: 0 | 1; key: string; amountCents: number; mood: DcuMood }
  | { kind: 'closeout'; instance: 0 | 1; pick: number; spentShare: number }
  | { kind: 'recover'; instance: 0 | 1 }
  | { kind: 'restart'; instance: 0 | 1 };

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('submit' as const),
      instance: fc.constantFrom(0 as const, 1 as const),
      key: fc.constantFrom('k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8'),
      amountCents: fc.oneof(fc.constantFrom(30_000_000, 50_000_000, 29_999_999), fc.integer({ min: 30_000_000, max: 50_000_000 })),
      mood: fc.constantFrom<DcuMood>('opens', 'opens', 'unreachable', 'answer-lost'),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('closeout' as const),
      instance: fc.constantFrom(0 as const, 1 as const),
      pick: fc.nat(),
      spentShare: fc.integer({ min: 0, max: 100 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('recover' as const), instance: fc.constantFrom(0 as const, 1 as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const), instance: fc.constantFrom(0 as const, 1 as const) }) },
);

/** PostgreSQL for the postgres kind, started when first needed. */
let postgres: Promise<TestPostgres> | undefined;
afterAll(async () => {
  await (await postgres)?.close();
});

const kinds: {
  name: string;
  make: () => { place: string; open(index: number): Promise<AgencyStore>; dispose(): void | Promise<void> };
}[] = [
  {
    name: 'postgres (two instances, each its own pool, on one database)',
    make: () => {
      let url: Promise<string> | undefined;
      return {
        place: '',
        open: async () => {
          postgres ??= startTestPostgres();
          url ??= postgres.then((server) => server.createDatabase());
          return PostgresAgencyStore.open({ databaseUrl: await url, maxConnections: 2 });
        },
        dispose: async () => {
          if (url) await (await postgres!).release(await url);
        },
      };
    },
  },
  {
    name: 'files (two instances on one folder)',
    make: () => {
      const place = mkdtempSync(path.join(os.tmpdir(), 'agency-model-'));
      return {
        place,
        open: async () => {
          const store = new FileAgencyStore({ directory: place });
          await store.start();
          return store;
        },
        dispose: () => rmSync(place, { recursive: true, force: true }),
      };
    },
  },
  {
    name: 'memory (one store shared by two instances)',
    make: () => {
      const shared = new MemoryAgencyStore();
      return { place: '', open: async () => shared, dispose: () => undefined };
    },
  },
];

describe.each(kinds)('the budget against a plain model: $name', ({ make }) => {
  it('is never overcommitted, counts every closeout once, and leaves no account unfunded', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(commandArb, { minLength: 1, maxLength: 30 }), async (commands) => {
        const system = make();
        const dcu = new ModelDcu();
        const model = new Model();
        const stores: AgencyStore[] = [];
        const funders: Funder[] = [];
        const start = async (index: number) => {
          stores[index] = await system.open(index);
          funders[index] = new Funder({
            store: stores[index] as AgencyStore,
            caller: dcu,
            serviceToken: 'token',
            budgetCents: TOTAL,
            owner: `instance-${index}-${randomUUID().slice(0, 4)}`,
            staleAfterMs: 0,
          });
        };
        await start(0);
        await start(1);
        try {
          for (const command of commands) {
            const funder = funders[command.instance] as Funder;
            const store = stores[command.instance] as AgencyStore;
            switch (command.kind) {
              case 'submit': {
                dcu.mood = command.mood;
                const proposalId = proposalIdFor(command.key);
                const terms = { title: command.key, investigator: 'Model', amountCents: command.amountCents, durationDays: 10 };
                const known = model.proposals.get(command.key);
                let answer: Awaited<ReturnType<Funder['submit']>>['answer'] | undefined;
                let failure: unknown;
                try {
                  answer = (await funder.submit(proposalId, terms, { withKey: true })).answer;
                } catch (error) {
                  failure = error;
                }
                if (known !== undefined) {
                  if (known.amountCents !== command.amountCents) {
                    expect((failure as { reason?: string }).reason).toBe('key-reused');
                  } else if (known.state === 'rejected') {
                    expect(answer?.status).toBe('rejected');
                  } else if (command.mood === 'opens') {
                    expect(answer?.status).toBe('accepted');
                  }
                  break;
                }
                const fits = model.committed - model.returned + command.amountCents <= TOTAL;
                const inRange = command.amountCents >= 30_000_000 && command.amountCents <= 50_000_000;
                if (!inRange || !fits) {
                  expect(answer?.status).toBe('rejected');
                  model.proposals.set(command.key, { amountCents: command.amountCents, state: 'rejected', returnedCents: 0 });
                } else if (command.mood === 'unreachable') {
                  expect(failure).toBeDefined(); // released: as if never sent
                  expect(await store.proposal(proposalId)).toMatchObject({ status: 'released' });
                } else {
                  if (command.mood === 'opens') expect(answer?.status).toBe('accepted');
                  else expect(failure).toBeDefined();
                  model.proposals.set(command.key, { amountCents: command.amountCents, state: 'funded', returnedCents: 0 });
                }
                break;
              }
              case 'closeout': {
                // The DCU closes an account it opened, handing back the unspent part.
                const open = [...dcu.accounts.entries()];
                if (open.length === 0) break;
                const [proposalId, accountId] = open[command.pick % open.length] as [string, string];
                const key = [...model.proposals.keys()].find((candidate) => proposalIdFor(candidate) === proposalId) as string;
                const expected = model.proposals.get(key) as ModelProposal;
                const returnedCents =
                  expected.state === 'closed'
                    ? expected.returnedCents
                    : expected.amountCents - Math.floor((expected.amountCents * command.spentShare) / 100);
                const result = await store.execute({ type: 'closeout', proposalId, accountId, returnedCents, now: new Date().toISOString() });
                expect(result.outcome).toBe(expected.state === 'closed' ? 'repeat' : 'created');
                expected.state = 'closed';
                expected.returnedCents = returnedCents;
                break;
              }
              case 'recover':
                dcu.mood = 'opens';
                await funder.recoverOnce();
                break;
              case 'restart':
                await store.close();
                await start(command.instance);
                break;
            }
            // The invariants, seen from both instances.
            for (const view of stores) {
              const budget = await view.budget();
              expect(budget).toEqual({ committedCents: model.committed, returnedCents: model.returned });
              expect(budget.committedCents - budget.returnedCents).toBeLessThanOrEqual(TOTAL);
            }
            for (const proposalId of dcu.accounts.keys()) {
              const record = await (stores[0] as AgencyStore).proposal(proposalId);
              expect(['pending', 'accepted', 'closed']).toContain(record?.status);
            }
          }
          // Recovery with a DCU that answers leaves nothing unconfirmed.
          dcu.mood = 'opens';
          await (funders[0] as Funder).recoverOnce();
          expect(await (stores[1] as AgencyStore).unconfirmed()).toEqual([]);
          for (const [key, expected] of model.proposals) {
            const record = await (stores[1] as AgencyStore).proposal(proposalIdFor(key));
            const status = { rejected: 'rejected', funded: 'accepted', closed: 'closed' }[expected.state];
            expect(record?.status).toBe(status);
            if (expected.state === 'closed') expect(record?.returnedCents).toBe(expected.returnedCents);
          }
        } finally {
          for (const store of new Set(stores)) await store.close();
          await system.dispose();
        }
      }),
      { numRuns: 60 },
    );
  });
});
