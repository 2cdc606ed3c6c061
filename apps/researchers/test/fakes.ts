import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Transaction } from '@grantline/contracts';
import type { Random } from '../src/domain/random';

/**
 * A small in-memory stand-in for registry + agency + DCU in one HTTP server, following
 * API.md closely enough to drive the simulation, with faults to inject so the tests can show
 * that the simulation's ledger check catches a DCU that loses or doubles money.
 */
export interface FakeFaults {
  /** Record every n-th withdrawal twice in the ledger (while answering once). */
  doubleRecordEvery?: number;
}

interface FakeAccount {
  accountId: string;
  ownerKey: string;
  keys: Map<string, string>;
  initialCents: number;
  balanceCents: number;
  durationDays: number;
  createdAt: number;
  transactions: Transaction[];
  withdrawalsByKey: Map<string, { status: number; body: unknown }>;
  proposalId: string;
}

export async function startFakeServices(dayMs: number, faults: FakeFaults = {}) {
  const accounts = new Map<string, FakeAccount>();
  const proposalsByKey = new Map<string, unknown>();
  let withdrawalCount = 0;
  let url = '';

  const server: Server = createServer((request, response) => {
    void readJson(request).then((body) => route(request, response, body));
  });

  function route(
    request: IncomingMessage,
    response: ServerResponse,
    body: Record<string, unknown>,
  ) {
    const send = (status: number, payload?: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(payload === undefined ? '' : JSON.stringify(payload));
    };
    const fail = (status: number, message: string) =>
      send(status, { statusCode: status, error: 'Error', message });
    const requestUrl = new URL(request.url ?? '/', 'http://fake');
    const path = requestUrl.pathname;
    const key = request.headers['idempotency-key'] as string | undefined;
    const now = new Date().toISOString();

    const services = /^\/services\/([a-z-]+)$/.exec(path);
    if (request.method === 'GET' && services) {
      const instances = ['agency', 'dcu'].includes(services[1] ?? '')
        ? [{ id: randomUUID(), url, registeredAt: now, lastHeartbeatAt: now }]
        : [];
      return send(200, { type: services[1], instances });
    }
    if (request.method === 'POST' && path === '/proposals') {
      if (key && proposalsByKey.has(key)) return send(201, proposalsByKey.get(key));
      const amountCents = body.amountCents as number;
      let answer: unknown;
      if (amountCents < 30_000_000 || amountCents > 50_000_000) {
        answer = {
          proposalId: randomUUID(),
          status: 'rejected',
          reason: 'amount outside 300,000-500,000 euro',
        };
      } else {
        const account: FakeAccount = {
          accountId: randomUUID(),
          ownerKey: randomUUID(),
          keys: new Map(),
          initialCents: amountCents,
          balanceCents: amountCents,
          durationDays: body.durationDays as number,
          createdAt: Date.now(),
          transactions: [],
          withdrawalsByKey: new Map(),
          proposalId: randomUUID(),
        };
        account.keys.set(account.ownerKey, randomUUID());
        account.transactions.push({
          id: randomUUID(),
          type: 'deposit',
          amountCents,
          researcherId: account.keys.get(account.ownerKey) as string,
          at: now,
          balanceAfterCents: amountCents,
        });
        accounts.set(account.accountId, account);
        answer = {
          proposalId: account.proposalId,
          status: 'accepted',
          accountId: account.accountId,
          ownerKey: account.ownerKey,
          dcuUrl: url,
        };
      }
      if (key) proposalsByKey.set(key, answer);
      return send(201, answer);
    }

    // The agency's records: an account that ended counts as closed out with its balance returned.
    const ended = (candidate: FakeAccount) =>
      candidate.balanceCents === 0 || Date.now() - candidate.createdAt >= candidate.durationDays * dayMs;
    const proposal = /^\/proposals\/([^/]+)$/.exec(path);
    if (request.method === 'GET' && proposal) {
      const funded = [...accounts.values()].find((candidate) => candidate.proposalId === proposal[1]);
      if (!funded) return fail(404, 'no such proposal');
      return send(200, {
        proposalId: funded.proposalId,
        title: 't',
        investigator: 'i',
        amountCents: funded.initialCents,
        durationDays: funded.durationDays,
        status: ended(funded) ? 'closed' : 'accepted',
        accountId: funded.accountId,
        decidedAt: new Date(funded.createdAt).toISOString(),
        ...(ended(funded) ? { returnedCents: funded.balanceCents } : {}),
      });
    }
    if (request.method === 'GET' && path === '/budget') {
      const all = [...accounts.values()];
      const committedCents = all.reduce((sum, candidate) => sum + candidate.initialCents, 0);
      const returnedCents = all.filter(ended).reduce((sum, candidate) => sum + candidate.balanceCents, 0);
      return send(200, { totalCents: null, committedCents, returnedCents, availableCents: null });
    }

    const match = /^\/accounts\/([^/]+)(\/researchers|\/withdrawals|\/transactions)?$/.exec(path);
    const account = match ? accounts.get(match[1] ?? '') : undefined;
    if (!match || !account) return fail(404, 'no such account');
    const bearer = (request.headers.authorization ?? '').replace(/^Bearer /, '');
    const researcherId = account.keys.get(bearer);
    if (!researcherId) return fail(401, 'wrong key');
    const daysPassed = Math.floor((Date.now() - account.createdAt) / dayMs);
    const daysRemaining = Math.max(0, account.durationDays - daysPassed);
    const status =
      daysRemaining === 0 ? 'expired' : account.balanceCents === 0 ? 'depleted' : 'active';

    if (request.method === 'GET' && match[2] === undefined) {
      return send(200, {
        accountId: account.accountId,
        title: 't',
        investigator: 'i',
        researchers: [],
        initialCents: account.initialCents,
        balanceCents: account.balanceCents,
        durationDays: account.durationDays,
        daysRemaining,
        createdAt: new Date(account.createdAt).toISOString(),
        expiresAt: new Date(account.createdAt + account.durationDays * dayMs).toISOString(),
        status,
      });
    }
    if (request.method === 'GET' && match[2] === '/transactions') {
      // Pages of at most 3 (the contract allows fewer than asked), so the checker must follow `next`.
      const from = Number(requestUrl.searchParams.get('after') ?? 0);
      const size = Math.min(3, Number(requestUrl.searchParams.get('limit') ?? 100));
      const end = from + size;
      return send(200, {
        transactions: account.transactions.slice(from, end),
        next: end < account.transactions.length ? String(end) : null,
      });
    }
    if (request.method === 'POST' && match[2] === '/researchers') {
      if (bearer !== account.ownerKey) return fail(403, 'owner only');
      const studentKey = randomUUID();
      const id = randomUUID();
      account.keys.set(studentKey, id);
      return send(201, { researcherId: id, key: studentKey });
    }
    if (request.method === 'POST' && match[2] === '/withdrawals') {
      if (!key) return fail(400, 'Idempotency-Key required');
      const earlier = account.withdrawalsByKey.get(key);
      if (earlier) return send(earlier.status, earlier.body);
      if (status === 'expired') return fail(410, 'the account has expired');
      const amountCents = body.amountCents as number;
      if (amountCents > account.balanceCents)
        return fail(409, 'the withdrawal would overdraw the account');
      account.balanceCents -= amountCents;
      const entry: Transaction = {
        id: randomUUID(),
        type: 'withdrawal',
        amountCents,
        researcherId,
        at: now,
        balanceAfterCents: account.balanceCents,
      };
      account.transactions.push(entry);
      withdrawalCount += 1;
      if (faults.doubleRecordEvery && withdrawalCount % faults.doubleRecordEvery === 0)
        account.transactions.push(entry);
      const answer = { withdrawalId: entry.id, amountCents, balanceCents: account.balanceCents };
      account.withdrawalsByKey.set(key, { status: 201, body: answer });
      return send(201, answer);
    }
    return fail(404, 'no such route');
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    accounts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

/** A Random that returns the given values in turn (then repeats the last), for exact draws. */
export function scriptedRandom(...values: number[]): Random {
  let index = 0;
  return {
    next() {
      const value = values[Math.min(index, values.length - 1)];
      index += 1;
      if (value === undefined) throw new Error('scriptedRandom needs at least one value');
      return value;
    },
  };
}
