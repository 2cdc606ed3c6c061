import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { allTransactions, bearer, buildTestDcu, makeAccountDir, serviceToken, STORES, type DcuApp, type StoreKind } from './helpers';

/**
 * Model-based test of the ledger: random sequences of open / add / remove / withdraw / replay /
 * reuse-a-key / restart / time passing / reads, run against the DCU (app.inject, real files) and
 * against a simple in-memory model, checked step by step: status codes, balances, researcher
 * lists, keys after removal, transactions. A restart closes the app and builds a new one on the
 * same folder, so everything the model remembers must come back from disk.
 */
jest.setTimeout(180_000);

const DAY_MS = 1000;
const RUNS = Number(process.env.MODEL_RUNS ?? 20);
const MAX_COMMANDS = Number(process.env.MODEL_COMMANDS ?? 100);

// ---- the model ---------------------------------------------------------------------------

interface ModelWithdrawal {
  withdrawalId: string;
  idempotencyKey: string;
  researcherId: string;
  /** The bearer key it was made with (a replay must come from the same researcher). */
  bearerKey: string;
  amountCents: number;
  note: string | undefined;
  balanceAfterCents: number;
}

interface ModelMember {
  researcherId: string;
  name: string;
  key: string;
  /** The Idempotency-Key it was added with, if any. */
  addKey: string | undefined;
}

interface ModelAccount {
  proposalId: string;
  accountId: string;
  ownerKey: string;
  ownerId: string | undefined;
  title: string;
  investigator: string;
  initialCents: number;
  durationDays: number;
  balanceCents: number;
  createdAtMs: number;
  expiresAtMs: number;
  members: ModelMember[];
  removed: ModelMember[];
  withdrawals: ModelWithdrawal[];
  /** When the withdrawal that emptied it closed it (it hands back nothing). */
  closedAtMs?: number;
}

interface Model {
  accounts: ModelAccount[];
  restarts: number;
}

interface Real {
  /** One DCU, or two on the same folder (every command runs on the one it names). */
  apps: DcuApp[];
  accountDir: string;
  clock: { ms: number };
}

const expired = (account: ModelAccount, nowMs: number) => nowMs >= account.expiresAtMs;

function expectedView(account: ModelAccount, nowMs: number) {
  const isExpired = expired(account, nowMs);
  return {
    accountId: account.accountId,
    title: account.title,
    investigator: account.investigator,
    initialCents: account.initialCents,
    balanceCents: account.balanceCents,
    durationDays: account.durationDays,
    daysRemaining: isExpired ? 0 : Math.ceil((account.expiresAtMs - nowMs) / DAY_MS),
    createdAt: new Date(account.createdAtMs).toISOString(),
    expiresAt: new Date(account.expiresAtMs).toISOString(),
    status: isExpired ? 'expired' : account.balanceCents === 0 ? 'depleted' : 'active',
    ...(account.closedAtMs === undefined
      ? {}
      : { returnedCents: 0, closedAt: new Date(account.closedAtMs).toISOString() }),
    researchers: [
      {
        researcherId: account.ownerId ?? expect.any(String),
        name: account.investigator,
        role: 'owner',
      },
      ...account.members.map((member) => ({
        researcherId: member.researcherId,
        name: member.name,
        role: 'member',
      })),
    ],
  };
}

/** How often each kind of command ran, and how each ended, for the summary line. */
const ran = new Map<string, number>();
function count(kind: string): void {
  ran.set(kind, (ran.get(kind) ?? 0) + 1);
}

/** Every check names the step, so a failure says which command broke which expectation. */
function same(step: string, actual: unknown, expected: unknown): void {
  if (typeof actual === 'number') count(`${step.split('(')[0]} ${actual}`);
  expect({ step, value: actual }).toEqual({ step, value: expected });
}

const pick = <T>(items: readonly T[], index: number): T => items[index % items.length]!;

// ---- commands ----------------------------------------------------------------------------

/** Every command runs on one instance: `on` picks it (modulo the number of instances). */
abstract class Command implements fc.AsyncCommand<Model, Real> {
  on = 0;
  abstract check(model: Readonly<Model>): boolean;
  abstract run(model: Model, real: Real): Promise<void>;
  abstract describe(): string;
  app(real: Real): DcuApp {
    return real.apps[this.on % real.apps.length]!;
  }
  toString(): string {
    return `${this.describe()}@${this.on}`;
  }
}

class OpenAccount extends Command {
  constructor(
    readonly amountCents: number,
    readonly durationDays: number,
    /** Ask again for an earlier proposal (same or other terms) instead of a new one. */
    readonly again: { index: number; sameTerms: boolean } | undefined,
  ) {
    super();
  }
  check() {
    return true;
  }
  async run(model: Model, real: Real) {
    const earlier =
      this.again && model.accounts.length > 0 ? pick(model.accounts, this.again.index) : undefined;
    const proposalId = earlier?.proposalId ?? randomUUID();
    const terms =
      earlier && this.again?.sameTerms
        ? {
            title: earlier.title,
            investigator: earlier.investigator,
            amountCents: earlier.initialCents,
            durationDays: earlier.durationDays,
          }
        : {
            title: `Project ${model.accounts.length + 1}`,
            investigator: 'Ada Lovelace',
            amountCents: this.amountCents,
            durationDays: this.durationDays,
          };
    const response = await this.app(real).inject({
      method: 'POST',
      url: '/accounts',
      headers: bearer(serviceToken),
      payload: { proposalId, ...terms },
    });
    if (earlier) {
      const sameTerms =
        earlier.title === terms.title &&
        earlier.investigator === terms.investigator &&
        earlier.initialCents === terms.amountCents &&
        earlier.durationDays === terms.durationDays;
      if (sameTerms) {
        same(
          this.toString(),
          [response.statusCode, response.json()],
          [201, { accountId: earlier.accountId, ownerKey: earlier.ownerKey }],
        );
      } else {
        same(this.toString(), response.statusCode, 409);
      }
      return;
    }
    same(this.toString(), response.statusCode, 201);
    const { accountId, ownerKey } = response.json<{ accountId: string; ownerKey: string }>();
    model.accounts.push({
      proposalId,
      accountId,
      ownerKey,
      ownerId: undefined,
      ...{ title: terms.title, investigator: terms.investigator },
      initialCents: terms.amountCents,
      durationDays: terms.durationDays,
      balanceCents: terms.amountCents,
      createdAtMs: real.clock.ms,
      expiresAtMs: real.clock.ms + terms.durationDays * DAY_MS,
      members: [],
      removed: [],
      withdrawals: [],
    });
  }
  describe() {
    return `open(${this.amountCents}, ${this.durationDays} days${this.again ? `, again #${this.again.index} ${this.again.sameTerms ? 'same' : 'other'} terms` : ''})`;
  }
}

class AddResearcher extends Command {
  constructor(
    readonly account: number,
    readonly name: string,
    /** 'none': no Idempotency-Key; 'fresh': a new one; 'reuse': the key of an earlier add. */
    readonly keyMode: 'none' | 'fresh' | 'reuse-same-name' | 'reuse-other-name',
    readonly reuse: number,
  ) {
    super();
  }
  check(model: Readonly<Model>) {
    return model.accounts.length > 0;
  }
  async run(model: Model, real: Real) {
    const account = pick(model.accounts, this.account);
    const earlier = [...account.members, ...account.removed].filter(
      (member) => member.addKey !== undefined,
    );
    const reused =
      this.keyMode.startsWith('reuse') && earlier.length > 0
        ? pick(earlier, this.reuse)
        : undefined;
    const name = reused && this.keyMode === 'reuse-same-name' ? reused.name : this.name;
    const addKey = reused?.addKey ?? (this.keyMode === 'none' ? undefined : randomUUID());
    const response = await this.app(real).inject({
      method: 'POST',
      url: `/accounts/${account.accountId}/researchers`,
      headers: { ...bearer(account.ownerKey), ...(addKey ? { 'idempotency-key': addKey } : {}) },
      payload: { name },
    });
    const step = `${this.toString()} -> ${response.body}`;
    if (reused) {
      const wasRemoved = account.removed.includes(reused);
      // A removed student's key: 409 whatever the name (the DCU keeps no name of the removed).
      if (wasRemoved) same(step, response.statusCode, 409);
      else if (reused.name !== name) same(step, response.statusCode, 422);
      else
        same(
          step,
          [response.statusCode, response.json()],
          [201, { researcherId: reused.researcherId, key: reused.key }],
        );
      return;
    }
    same(step, response.statusCode, 201);
    const { researcherId, key } = response.json<{ researcherId: string; key: string }>();
    expect(account.members.some((member) => member.researcherId === researcherId)).toBe(false);
    account.members.push({ researcherId, name, key, addKey });
  }
  describe() {
    return `add(#${this.account}, ${JSON.stringify(this.name)}, ${this.keyMode})`;
  }
}

class RemoveResearcher extends Command {
  constructor(
    readonly account: number,
    readonly which: 'member' | 'removed' | 'owner' | 'unknown',
    readonly index: number,
  ) {
    super();
  }
  check(model: Readonly<Model>) {
    return model.accounts.length > 0;
  }
  async run(model: Model, real: Real) {
    const account = pick(model.accounts, this.account);
    let researcherId: string;
    let expected: number;
    if (this.which === 'member' && account.members.length > 0) {
      const member = pick(account.members, this.index);
      researcherId = member.researcherId;
      expected = 204;
      account.members.splice(account.members.indexOf(member), 1);
      account.removed.push(member);
    } else if (this.which === 'removed' && account.removed.length > 0) {
      researcherId = pick(account.removed, this.index).researcherId;
      expected = 204; // DELETE is idempotent
    } else if (this.which === 'owner' && account.ownerId) {
      researcherId = account.ownerId;
      expected = 409;
    } else {
      researcherId = randomUUID();
      expected = 404;
    }
    const response = await this.app(real).inject({
      method: 'DELETE',
      url: `/accounts/${account.accountId}/researchers/${researcherId}`,
      headers: bearer(account.ownerKey),
    });
    same(`${this.toString()} -> ${response.body}`, response.statusCode, expected);
  }
  describe() {
    return `remove(#${this.account}, ${this.which} ${this.index})`;
  }
}

class Withdraw extends Command {
  constructor(
    readonly account: number,
    readonly who: 'owner' | 'member' | 'removed' | 'other-account',
    readonly whoIndex: number,
    readonly amount: { kind: 'small' | 'exact' | 'over' | 'huge'; cents: number },
    readonly note: string | undefined,
  ) {
    super();
  }
  check(model: Readonly<Model>) {
    return model.accounts.length > 0;
  }
  async run(model: Model, real: Real) {
    const account = pick(model.accounts, this.account);
    let bearerKey = account.ownerKey;
    let researcherId: string | undefined = account.ownerId;
    let expected: number | undefined;
    if (this.who === 'member' && account.members.length > 0) {
      const member = pick(account.members, this.whoIndex);
      bearerKey = member.key;
      researcherId = member.researcherId;
    } else if (this.who === 'removed' && account.removed.length > 0) {
      bearerKey = pick(account.removed, this.whoIndex).key;
      expected = 401;
    } else if (this.who === 'other-account' && model.accounts.length > 1) {
      const other = pick(
        model.accounts.filter((candidate) => candidate !== account),
        this.whoIndex,
      );
      bearerKey = pick(
        [other.ownerKey, ...other.members.map((member) => member.key)],
        this.whoIndex,
      );
      expected = 401;
    }
    const amountCents = {
      small: this.amount.cents,
      exact: Math.max(1, account.balanceCents),
      over: account.balanceCents + this.amount.cents,
      huge: 1_000_000_000_000,
    }[this.amount.kind];
    const idempotencyKey = randomUUID();
    const response = await this.app(real).inject({
      method: 'POST',
      url: `/accounts/${account.accountId}/withdrawals`,
      headers: { ...bearer(bearerKey), 'idempotency-key': idempotencyKey },
      payload: { amountCents, ...(this.note === undefined ? {} : { note: this.note }) },
    });
    const step = `${this.toString()} amount ${amountCents}, balance ${account.balanceCents} -> ${response.body}`;
    if (expected === undefined) {
      if (expired(account, real.clock.ms)) expected = 410;
      else if (amountCents > account.balanceCents) expected = 409;
      else expected = 201;
    }
    same(step, response.statusCode, expected);
    if (expected !== 201) return;
    const answer = response.json<{
      withdrawalId: string;
      amountCents: number;
      balanceCents: number;
    }>();
    account.balanceCents -= amountCents;
    if (account.balanceCents === 0) account.closedAtMs = real.clock.ms;
    same(step, answer, {
      withdrawalId: expect.any(String),
      amountCents,
      balanceCents: account.balanceCents,
    });
    same(step, response.headers['idempotent-replayed'], undefined);
    account.withdrawals.push({
      withdrawalId: answer.withdrawalId,
      idempotencyKey,
      researcherId: researcherId ?? '',
      bearerKey,
      amountCents,
      note: this.note,
      balanceAfterCents: account.balanceCents,
    });
  }
  describe() {
    return `withdraw(#${this.account}, ${this.who} ${this.whoIndex}, ${this.amount.kind} ${this.amount.cents}, note ${JSON.stringify(this.note)})`;
  }
}

class ReuseKey extends Command {
  constructor(
    readonly account: number,
    readonly index: number,
    /** 'replay': same body and researcher; others change one thing and must get 422. */
    readonly change: 'replay' | 'amount' | 'note' | 'researcher',
    readonly delta: number,
  ) {
    super();
  }
  check(model: Readonly<Model>) {
    return model.accounts.some((account) => account.withdrawals.length > 0);
  }
  async run(model: Model, real: Real) {
    const withWithdrawals = model.accounts.filter((account) => account.withdrawals.length > 0);
    const account = pick(withWithdrawals, this.account);
    const earlier = pick(account.withdrawals, this.index);
    // The researcher who made it may have been removed since: then the key is refused first.
    const stillMember =
      earlier.bearerKey === account.ownerKey ||
      account.members.some((member) => member.key === earlier.bearerKey);
    let bearerKey = earlier.bearerKey;
    let amountCents = earlier.amountCents;
    let note = earlier.note;
    let change = this.change;
    if (change === 'amount') amountCents += this.delta;
    if (change === 'note') note = `${note ?? ''}!`;
    if (change === 'researcher') {
      const others = [account.ownerKey, ...account.members.map((member) => member.key)].filter(
        (key) => key !== earlier.bearerKey,
      );
      if (others.length === 0) change = 'replay';
      else bearerKey = pick(others, this.delta);
    }
    const response = await this.app(real).inject({
      method: 'POST',
      url: `/accounts/${account.accountId}/withdrawals`,
      headers: { ...bearer(bearerKey), 'idempotency-key': earlier.idempotencyKey },
      payload: { amountCents, ...(note === undefined ? {} : { note }) },
    });
    const step = `${this.toString()} of ${earlier.withdrawalId} -> ${response.body}`;
    if (change === 'replay') {
      if (!stillMember) {
        same(step, response.statusCode, 401);
        return;
      }
      // Answers as the first time, even if the account has expired or been emptied since.
      count('reuse-key replay');
      same(
        step,
        [response.statusCode, response.json(), response.headers['idempotent-replayed']],
        [
          201,
          {
            withdrawalId: earlier.withdrawalId,
            amountCents: earlier.amountCents,
            balanceCents: earlier.balanceAfterCents,
          },
          'true',
        ],
      );
      return;
    }
    if (change === 'researcher' || stillMember) same(step, response.statusCode, 422);
    else same(step, response.statusCode, 401);
  }
  describe() {
    return `reuse-key(#${this.account}, withdrawal ${this.index}, ${this.change} ${this.delta})`;
  }
}

class Restart extends Command {
  check() {
    return true;
  }
  async run(model: Model, real: Real) {
    const index = this.on % real.apps.length;
    await real.apps[index]!.close();
    real.apps[index] = await buildTestDcu(real.accountDir, {
      dayMs: DAY_MS,
      now: () => real.clock.ms,
    });
    model.restarts += 1;
  }
  describe() {
    return 'restart';
  }
}

class PassTime extends Command {
  constructor(readonly ms: number) {
    super();
  }
  check() {
    return true;
  }
  async run(_model: Model, real: Real) {
    real.clock.ms += this.ms;
  }
  describe() {
    return `pass(${this.ms} ms)`;
  }
}

class ReadAccount extends Command {
  constructor(
    readonly account: number,
    readonly who: number,
  ) {
    super();
  }
  check(model: Readonly<Model>) {
    return model.accounts.length > 0;
  }
  async run(model: Model, real: Real) {
    const account = pick(model.accounts, this.account);
    const keys = [account.ownerKey, ...account.members.map((member) => member.key)];
    const response = await this.app(real).inject({
      url: `/accounts/${account.accountId}`,
      headers: bearer(pick(keys, this.who)),
    });
    same(`${this.toString()} status`, response.statusCode, 200);
    const view = response.json<{ researchers: { researcherId: string; role: string }[] }>();
    account.ownerId ??= view.researchers.find(
      (researcher) => researcher.role === 'owner',
    )?.researcherId;
    same(this.toString(), view, expectedView(account, real.clock.ms));
    // Every removed student's key opens nothing, here or anywhere.
    for (const removed of account.removed) {
      const refused = await this.app(real).inject({
        url: `/accounts/${account.accountId}`,
        headers: bearer(removed.key),
      });
      same(`${this.toString()} removed ${removed.researcherId}`, refused.statusCode, 401);
    }
  }
  describe() {
    return `read(#${this.account}, key ${this.who})`;
  }
}

class ReadTransactions extends Command {
  constructor(
    readonly account: number,
    readonly pageSize: number,
  ) {
    super();
  }
  check(model: Readonly<Model>) {
    return model.accounts.length > 0;
  }
  async run(model: Model, real: Real) {
    const account = pick(model.accounts, this.account);
    // Followed page by page, so the cursors are checked against the model too.
    const transactions = await allTransactions(this.app(real), account.accountId, account.ownerKey, this.pageSize);
    account.ownerId ??= transactions[0]?.researcherId;
    same(this.toString(), transactions, [
      {
        id: expect.any(String),
        type: 'deposit',
        amountCents: account.initialCents,
        researcherId: account.ownerId,
        at: new Date(account.createdAtMs).toISOString(),
        balanceAfterCents: account.initialCents,
      },
      ...account.withdrawals.map((withdrawal) => ({
        id: withdrawal.withdrawalId,
        type: 'withdrawal',
        amountCents: withdrawal.amountCents,
        researcherId: withdrawal.researcherId || account.ownerId,
        at: expect.any(String),
        balanceAfterCents: withdrawal.balanceAfterCents,
      })),
    ]);
  }
  describe() {
    return `transactions(#${this.account}, pages of ${this.pageSize})`;
  }
}

// ---- generators --------------------------------------------------------------------------

const index = fc.nat({ max: 1_000 });
const names = fc.oneof(
  fc.constantFrom('Grace Hopper', 'Alan Turing', 'Émilie du Châtelet', '李白', 'Ｚ'),
  fc.string({ minLength: 1, maxLength: 12 }),
);

const openAccount = fc
  .record({
    // Only what the agency may grant: the DCU refuses anything else (input.test.ts).
    amountCents: fc.integer({ min: 30_000_000, max: 50_000_000 }),
    // Mostly long-lived accounts; some that a few PassTime steps expire.
    durationDays: fc.oneof(
      { weight: 3, arbitrary: fc.integer({ min: 100, max: 3650 }) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 4 }) },
    ),
    again: fc.oneof(
      { weight: 4, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.record({ index, sameTerms: fc.boolean() }) },
    ),
  })
  .map(({ amountCents, durationDays, again }) => new OpenAccount(amountCents, durationDays, again));
const addResearcher = fc
  .tuple(
    index,
    names,
    fc.constantFrom('none', 'fresh', 'fresh', 'reuse-same-name', 'reuse-other-name'),
    index,
  )
  .map(
    ([account, name, keyMode, reuse]) =>
      new AddResearcher(account, name, keyMode as AddResearcher['keyMode'], reuse),
  );
const removeResearcher = fc
  .tuple(index, fc.constantFrom('member', 'member', 'member', 'removed', 'owner', 'unknown'), index)
  .map(
    ([account, which, i]) => new RemoveResearcher(account, which as RemoveResearcher['which'], i),
  );
const withdraw = fc
  .tuple(
    index,
    fc.constantFrom('owner', 'owner', 'member', 'member', 'removed', 'other-account'),
    index,
    fc.record({
      kind: fc.constantFrom('small', 'small', 'small', 'small', 'small', 'exact', 'over', 'huge'),
      cents: fc.integer({ min: 1, max: 1_000 }),
    }),
    fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
  )
  .map(
    ([account, who, whoIndex, amount, note]) =>
      new Withdraw(account, who as Withdraw['who'], whoIndex, amount as Withdraw['amount'], note),
  );
const reuseKey = fc
  .tuple(
    index,
    index,
    fc.constantFrom('replay', 'replay', 'replay', 'amount', 'note', 'researcher'),
    fc.integer({ min: 1, max: 100 }),
  )
  .map(
    ([account, i, change, delta]) => new ReuseKey(account, i, change as ReuseKey['change'], delta),
  );

// fc.commands picks among the arbitraries evenly: the money moves get more than one seat.
/** A command generator whose commands run on instance 0 or 1 (fresh objects every time). */
const onSomeInstance = <C extends Command>(arbitrary: fc.Arbitrary<C>) =>
  fc.tuple(arbitrary, fc.nat(1)).map(([command, on]) => {
    command.on = on;
    return command;
  });

// fc.commands picks among the arbitraries evenly: the money moves get more than one seat.
const commands = fc.commands(
  [
    openAccount,
    addResearcher,
    removeResearcher,
    withdraw,
    withdraw,
    withdraw,
    reuseKey,
    reuseKey,
    fc.constant(null).map(() => new Restart()),
    fc.integer({ min: 1, max: 2_500 }).map((ms) => new PassTime(ms)),
    fc.tuple(index, index).map(([account, who]) => new ReadAccount(account, who)),
    fc.tuple(index, fc.integer({ min: 1, max: 4 })).map(([account, pageSize]) => new ReadTransactions(account, pageSize)),
  ].map((arbitrary) => onSomeInstance<Command>(arbitrary)),
  { maxCommands: MAX_COMMANDS, size: 'max' },
);

async function runAgainstModel(instances: 1 | 2, store: StoreKind): Promise<void> {
  let steps = 0;
  let restarts = 0;
  ran.clear();
  await fc.assert(
    fc.asyncProperty(commands, async (sequence) => {
      const folder = await makeAccountDir(store);
      const clock = { ms: Date.parse('2030-01-01T00:00:00.000Z') };
      const build = () => buildTestDcu(folder.accountDir, { dayMs: DAY_MS, now: () => clock.ms });
      const real: Real = { apps: [], accountDir: folder.accountDir, clock };
      for (let i = 0; i < instances; i++) real.apps.push(await build());
      const model: Model = { accounts: [], restarts: 0 };
      try {
        await fc.asyncModelRun(() => ({ model, real }), sequence);
        // The last word: fresh instances read the same ledgers from disk, and agree.
        for (let on = 0; on < instances; on++) {
          const restart = new Restart();
          restart.on = on;
          await restart.run(model, real);
        }
        for (let i = 0; i < model.accounts.length; i++) {
          for (let on = 0; on < instances; on++) {
            const read = new ReadAccount(i, 0);
            const transactions = new ReadTransactions(i, 3);
            read.on = on;
            transactions.on = on;
            await read.run(model, real);
            await transactions.run(model, real);
          }
        }
        steps += [...sequence].length;
        restarts += model.restarts;
      } finally {
        for (const app of real.apps) await app.close();
        await folder.cleanup();
      }
    }),
    { numRuns: RUNS },
  );
  console.log(
    `ledger model, ${store} store, ${instances} instance(s): ${RUNS} sequences, ${steps} commands, ${restarts} restarts; ` +
      JSON.stringify(Object.fromEntries([...ran].sort())),
  );
  expect(steps).toBeGreaterThan(RUNS);
}

describe.each(STORES)('the DCU ledger against an in-memory model (%s store)', (store) => {
  it('agrees with the model after every step of random sequences, restarts included', async () => {
    await runAgainstModel(1, store);
  });

  it('agrees with the model when every step goes to one of two instances on the same storage', async () => {
    await runAgainstModel(2, store);
  });
});
