import fc from 'fast-check';
import {
  decide,
  decideBatch,
  evolve,
  isRefusal,
  MAX_RESEARCHERS_PER_ACCOUNT,
  replay,
  type AccountCommand,
  type AccountEvent,
  type AccountState,
  type DecisionContext,
  type WithdrawalEvent,
} from '../src/domain/account';

/**
 * The pure core against a plain model, in memory: thousands of random command sequences, each
 * decided and evolved step by step, with the model saying what must happen. No files, no HTTP.
 */

const OWNER = 'owner';
const DAY_MS = 1000;
const START_MS = Date.parse('2030-01-01T00:00:00Z');

interface Model {
  balanceCents: number;
  initialCents: number;
  expiresAtMs: number;
  members: Map<string, string>; // researcherId -> name (owner included)
  everAdded: Set<string>;
  withdrawals: Map<string, { actorId: string; amountCents: number; note: string | undefined; id: string }>;
  withdrawnCents: number;
  closed: { returnedCents: number } | undefined;
  acknowledged: boolean;
}

type Step =
  | { kind: 'withdraw'; actor: number; amountCents: number; key: number; note: string | undefined }
  | { kind: 'add'; actor: number; researcher: number; name: string }
  | { kind: 'remove'; actor: number; researcher: number }
  | { kind: 'tick'; ms: number }
  | { kind: 'close' }
  | { kind: 'acknowledge' };

const researcherIds = ['r0', 'r1', 'r2', 'r3'];
const actorOf = (index: number) => (index === 0 ? OWNER : researcherIds[index - 1]!);

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('withdraw' as const),
      actor: fc.integer({ min: 0, max: 4 }),
      amountCents: fc.oneof(fc.integer({ min: 1, max: 400 }), fc.integer({ min: 1, max: 2_000 })),
      key: fc.integer({ min: 0, max: 12 }),
      note: fc.option(fc.constantFrom('books', 'travel'), { nil: undefined }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('add' as const),
      actor: fc.integer({ min: 0, max: 4 }),
      researcher: fc.integer({ min: 0, max: 3 }),
      name: fc.constantFrom('Grace', 'Alan'),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('remove' as const),
      actor: fc.integer({ min: 0, max: 4 }),
      researcher: fc.integer({ min: 0, max: 4 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 1500 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'close' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'acknowledge' as const }) },
);

function toCommand(step: Step): AccountCommand | undefined {
  switch (step.kind) {
    case 'withdraw':
      return { type: 'withdraw', actorId: actorOf(step.actor), amountCents: step.amountCents, note: step.note, idempotencyKey: `key-${step.key}` };
    case 'add':
      return { type: 'add-researcher', actorId: actorOf(step.actor), researcherId: researcherIds[step.researcher]!, name: step.name };
    case 'remove':
      return { type: 'remove-researcher', actorId: actorOf(step.actor), researcherId: actorOf(step.researcher) };
    case 'close':
      return { type: 'close' };
    case 'acknowledge':
      return { type: 'acknowledge-closeout' };
    case 'tick':
      return undefined;
  }
}

/** What the model says a command must do: the refusal reason, or 'ok' (with a replay flag). */
function expected(model: Model, step: Step, nowMs: number): string {
  const expired = nowMs >= model.expiresAtMs;
  switch (step.kind) {
    case 'withdraw': {
      const actorId = actorOf(step.actor);
      if (!model.members.has(actorId)) return 'key-revoked';
      const prior = model.withdrawals.get(`key-${step.key}`);
      if (prior) {
        return prior.actorId === actorId && prior.amountCents === step.amountCents && prior.note === step.note ? 'replay' : 'key-reused';
      }
      if (expired) return 'expired';
      if (step.amountCents > model.balanceCents) return 'insufficient-funds';
      return 'ok';
    }
    case 'add': {
      const actorId = actorOf(step.actor);
      if (!model.members.has(actorId)) return 'key-revoked';
      if (actorId !== OWNER) return 'owner-only';
      const researcherId = researcherIds[step.researcher]!;
      if (model.members.has(researcherId)) return model.members.get(researcherId) === step.name ? 'replay' : 'key-reused';
      if (model.everAdded.has(researcherId)) return 'researcher-removed';
      if (model.members.size >= MAX_RESEARCHERS_PER_ACCOUNT) return 'too-many-researchers';
      return 'ok';
    }
    case 'remove': {
      const actorId = actorOf(step.actor);
      if (!model.members.has(actorId)) return 'key-revoked';
      if (actorId !== OWNER) return 'owner-only';
      const researcherId = actorOf(step.researcher);
      if (researcherId === OWNER) return 'owner-not-removable';
      if (!model.members.has(researcherId)) return model.everAdded.has(researcherId) ? 'replay' : 'researcher-not-found';
      return 'ok';
    }
    case 'close':
      if (model.closed) return 'replay';
      return expired || model.balanceCents === 0 ? 'ok' : 'not-ended';
    case 'acknowledge':
      if (!model.closed) return 'not-closed';
      return model.acknowledged ? 'replay' : 'ok';
    case 'tick':
      return 'ok';
  }
}

function advance(model: Model, step: Step, outcome: string, withdrawal: WithdrawalEvent | undefined, nowMs: number): void {
  if (outcome !== 'ok') return;
  switch (step.kind) {
    case 'withdraw':
      model.withdrawals.set(`key-${step.key}`, { actorId: actorOf(step.actor), amountCents: step.amountCents, note: step.note, id: withdrawal!.id });
      model.balanceCents -= step.amountCents;
      model.withdrawnCents += step.amountCents;
      if (model.balanceCents === 0) model.closed = { returnedCents: 0 };
      return;
    case 'add':
      model.members.set(researcherIds[step.researcher]!, step.name);
      model.everAdded.add(researcherIds[step.researcher]!);
      return;
    case 'remove':
      model.members.delete(actorOf(step.researcher));
      return;
    case 'close':
      model.closed = { returnedCents: model.balanceCents };
      void nowMs;
      return;
    case 'acknowledge':
      model.acknowledged = true;
      return;
    case 'tick':
      return;
  }
}

function opened(initialCents: number, durationDays: number): { state: AccountState; events: AccountEvent[] } {
  const decision = decide(
    undefined,
    {
      type: 'open',
      accountId: 'account',
      ownerId: OWNER,
      dayMs: DAY_MS,
      terms: { proposalId: 'proposal', title: 'T', investigator: 'Ada', amountCents: initialCents, durationDays },
    },
    { nowMs: START_MS, newId: () => 'unused', priorWithdrawal: () => undefined },
  );
  if (isRefusal(decision)) throw new Error('could not open');
  return { state: replay(decision.events)!, events: decision.events };
}

/** The idempotency lookup a store gives the core: the withdrawals of the events so far, by key. */
function lookupOf(events: readonly AccountEvent[]): (key: string) => WithdrawalEvent | undefined {
  const byKey = new Map<string, WithdrawalEvent>();
  for (const event of events) if (event.type === 'withdrawal') byKey.set(event.idempotencyKey, event);
  return (key) => byKey.get(key);
}

const serialize = (state: AccountState | undefined) =>
  JSON.stringify(state, (_key, value: unknown) => (value instanceof Map || value instanceof Set ? [...value] : value));

/** A plain check (jest's expect costs more than the core itself); details only on failure. */
function same(what: string, actual: unknown, wanted: unknown): void {
  if (actual !== wanted) throw new Error(`${what}: got ${JSON.stringify(actual)}, the model says ${JSON.stringify(wanted)}`);
}

describe('the account core (decide, evolve) against a plain model', () => {
  it('decides every command as the model says, keeps balance = initial - withdrawals >= 0, and replays to the same state', () => {
    let ids = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3_000 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(stepArbitrary, { maxLength: 40 }),
        (initialCents, durationDays, steps) => {
          let { state, events } = opened(initialCents, durationDays);
          const model: Model = {
            balanceCents: initialCents,
            initialCents,
            expiresAtMs: START_MS + durationDays * DAY_MS,
            members: new Map([[OWNER, 'Ada']]),
            everAdded: new Set([OWNER]),
            withdrawals: new Map(),
            withdrawnCents: 0,
            closed: undefined,
            acknowledged: false,
          };
          let nowMs = START_MS;
          for (const step of steps) {
            if (step.kind === 'tick') {
              nowMs += step.ms;
              continue;
            }
            const context: DecisionContext = { nowMs, newId: () => `w${++ids}`, priorWithdrawal: lookupOf(events) };
            const decision = decide(state, toCommand(step)!, context);
            const want = expected(model, step, nowMs);
            const what = JSON.stringify(step);
            if (isRefusal(decision)) {
              same(what, decision.refused, want);
              same(`${what} has a message`, decision.message.length > 10, true);
              continue;
            }
            same(what, decision.events.length === 0 ? 'replay' : 'ok', want);
            for (const event of decision.events) state = evolve(state, event);
            events = [...events, ...decision.events];
            const withdrawal = decision.answer.type === 'withdrawal' ? decision.answer.withdrawal : undefined;
            if (withdrawal && want === 'replay') same(`${what} replays`, withdrawal.id, model.withdrawals.get(withdrawal.idempotencyKey)!.id);
            advance(model, step, want, withdrawal, nowMs);

            same(`${what} balance`, state.balanceCents, model.balanceCents);
            same(`${what} balance >= 0`, state.balanceCents >= 0, true);
            same(`${what} balance = initial - withdrawals`, state.balanceCents, state.initialCents - model.withdrawnCents);
            same(`${what} returned`, state.closed?.returnedCents, model.closed?.returnedCents);
            same(`${what} researchers`, [...state.researchers.keys()].sort().join(), [...model.members.keys()].sort().join());
          }
          // The ledger alone rebuilds the state: replay is the fold of evolve.
          same('replayed state', serialize(replay(events)), serialize(state));
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('decides a batch as the fold of its commands, one by one', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3_000 }), fc.array(stepArbitrary, { maxLength: 30 }), (initialCents, steps) => {
        const { state: start, events: openedEvents } = opened(initialCents, 3);
        const commands = steps.map(toCommand).filter((command): command is AccountCommand => command !== undefined);
        let batchIds = 0;
        const batch = decideBatch(start, commands, {
          nowMs: START_MS + 1,
          newId: () => `b${++batchIds}`,
          priorWithdrawal: () => undefined,
        });
        let oneByOneIds = 0;
        let state: AccountState | undefined = start;
        let events: AccountEvent[] = [...openedEvents];
        const decisions = commands.map((command) => {
          const decision = decide(state, command, { nowMs: START_MS + 1, newId: () => `b${++oneByOneIds}`, priorWithdrawal: lookupOf(events) });
          if (!isRefusal(decision)) {
            for (const event of decision.events) state = evolve(state, event);
            events = [...events, ...decision.events];
          }
          return decision;
        });
        same('decisions', JSON.stringify(batch.decisions), JSON.stringify(decisions));
        same('state', serialize(batch.state), serialize(state));
        same('events', JSON.stringify(batch.events), JSON.stringify(events.slice(openedEvents.length)));
      }),
      { numRuns: 2_000 },
    );
  });

  it('refuses an event that cannot follow from the state (a damaged ledger is never believed)', () => {
    const { state } = opened(100, 1);
    const withdrawal: WithdrawalEvent = {
      type: 'withdrawal',
      id: 'w',
      researcherId: OWNER,
      amountCents: 60,
      balanceAfterCents: 40,
      at: new Date(START_MS).toISOString(),
      idempotencyKey: 'k',
    };
    expect(() => evolve(state, { ...withdrawal, balanceAfterCents: 41 })).toThrow(/does not follow/);
    expect(() => evolve(state, { ...withdrawal, amountCents: 160, balanceAfterCents: -60 })).toThrow(/does not follow/);
    expect(() => evolve(undefined, withdrawal)).toThrow(/must start/);
    expect(() => evolve(state, { type: 'closed', returnedCents: 99, closedAt: withdrawal.at, reason: 'expired' })).toThrow(/closed/);
  });
});
