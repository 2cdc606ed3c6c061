import { randomUUID } from 'node:crypto';
import { NoInstanceError, PeerAnswerError, UncertainOutcomeError, type CallRequest } from '@grantline/registry-client';
import { accountIdFor } from '@grantline/service-kit';
import { buildAgencyApp } from '../src/app';
import { MemoryAgencyStore } from '../src/storage/memory-store';
import { openDcuAccount, type ServiceCaller } from '../src/dcu/open-account';

/**
 * The outcomes a real registry client cannot produce on demand (it never gives up on a call
 * that carries an Idempotency-Key as "uncertain"), through a caller that fails as told.
 */

const account = {
  proposalId: '6f91a0c3-decc-5acf-8acc-a5fd4917d22d',
  title: 'Sheep',
  investigator: 'Ada',
  amountCents: 30_000_000,
  durationDays: 30,
};

function failingWith(error: unknown): ServiceCaller {
  return { call: () => Promise.reject(error) };
}

describe('openDcuAccount', () => {
  it('sends the terms to POST /accounts with the service token, keyed by the proposal id', async () => {
    const requests: [string, CallRequest][] = [];
    const caller: ServiceCaller = {
      call: async <T>(type: string, request: CallRequest) => {
        requests.push([type, request]);
        const body = { accountId: accountIdFor(account.proposalId), ownerKey: 'k' } as T;
        // A repeat may be answered 200 as well as 201.
        return { statusCode: 200, headers: {}, body, instanceUrl: 'http://127.0.0.1:1', attempts: 1 };
      },
    };
    const outcome = await openDcuAccount(account, { caller, serviceToken: 'service-token-0123456789' });
    expect(outcome).toEqual({
      kind: 'opened',
      accountId: accountIdFor(account.proposalId),
      ownerKey: 'k',
      dcuUrl: 'http://127.0.0.1:1',
    });
    expect(requests).toEqual([
      [
        'dcu',
        expect.objectContaining({
          method: 'POST',
          path: '/accounts',
          headers: { authorization: 'Bearer service-token-0123456789' },
          body: account,
          idempotencyKey: account.proposalId,
          check: expect.any(Function),
        }),
      ],
    ]);
  });

  it.each([
    ['names another account', { accountId: '0c1b5a43-7d34-5c8e-9f11-0a2b3c4d5e6f', ownerKey: 'k' }, /other than the one derived/],
    ['adds a dcuUrl of its own', { accountId: accountIdFor(account.proposalId), ownerKey: 'k', dcuUrl: 'http://evil' }, /not an account/],
    ['sends no owner key', { accountId: accountIdFor(account.proposalId) }, /not an account/],
    ['sends text', 'not json at all', /not an account/],
  ])('never believes a DCU that %s', async (_what, body, problem) => {
    const caller: ServiceCaller = {
      call: async <T>() => ({ statusCode: 201, headers: {}, body: body as T, instanceUrl: 'http://127.0.0.1:1', attempts: 1 }),
    };
    const outcome = await openDcuAccount(account, { caller, serviceToken: 's' });
    expect(outcome).toMatchObject({ kind: 'failed', problem: 'bad-answer', detail: { problem: expect.stringMatching(problem) } });
    expect(JSON.stringify(outcome)).not.toContain('evil');
  });

  it('checks answers in the registry client, so that a lying instance fails like a dead one', async () => {
    let check: CallRequest['check'];
    const caller: ServiceCaller = {
      call: async <T>(_type: string, request: CallRequest) => {
        check = request.check;
        return { statusCode: 201, headers: {}, body: { accountId: accountIdFor(account.proposalId), ownerKey: 'k' } as T, instanceUrl: 'http://127.0.0.1:1', attempts: 1 };
      },
    };
    await openDcuAccount(account, { caller, serviceToken: 's' });
    const answer = (statusCode: number, body: unknown) => check!({ statusCode, headers: {}, body });
    expect(answer(201, { accountId: accountIdFor(account.proposalId), ownerKey: 'k' })).toBeUndefined();
    expect(answer(200, { accountId: accountIdFor(account.proposalId).toUpperCase(), ownerKey: 'k' })).toBeUndefined();
    expect(answer(201, { accountId: randomUUID(), ownerKey: 'k' })).toMatch(/other than the one derived/);
    expect(answer(409, { statusCode: 409, error: 'Conflict', message: 'other terms' })).toBeUndefined();
    expect(answer(500, '<html>oops</html>')).toMatch(/not an error answer/);
    expect(answer(302, undefined)).toMatch(/unexpected status 302/);
  });

  it('says which DCU broke the rules when every instance tried did', async () => {
    const lastError = new PeerAnswerError('GRANTLINE_ANSWER_TOO_LARGE', 'http://127.0.0.1:1', 'too much');
    const flooded = await openDcuAccount(account, { caller: failingWith(new NoInstanceError('dcu', lastError)), serviceToken: 's' });
    expect(flooded).toEqual({
      kind: 'failed',
      problem: 'bad-answer',
      detail: { instanceUrl: 'http://127.0.0.1:1', reason: 'too much' },
      mayHaveOpened: true,
    });
    const late = new PeerAnswerError('GRANTLINE_PEER_DEADLINE', 'http://127.0.0.1:1', 'too slow');
    const dripped = await openDcuAccount(account, { caller: failingWith(new NoInstanceError('dcu', late)), serviceToken: 's' });
    expect(dripped).toMatchObject({ kind: 'failed', problem: 'uncertain' });
  });

  it('reports no reachable DCU as unavailable', async () => {
    const outcome = await openDcuAccount(account, { caller: failingWith(new NoInstanceError('dcu')), serviceToken: 's' });
    expect(outcome).toEqual({ kind: 'unavailable', detail: 'no dcu instance is registered', mayHaveOpened: false });
  });

  it('reports a call cut off mid-way as a failure of unknown outcome', async () => {
    const error = new UncertainOutcomeError('http://127.0.0.1:1', new Error('socket hang up'));
    const outcome = await openDcuAccount(account, { caller: failingWith(error), serviceToken: 's' });
    expect(outcome).toMatchObject({ kind: 'failed', problem: 'uncertain' });
  });

  it('reports any other error of the call as a failure', async () => {
    const outcome = await openDcuAccount(account, { caller: failingWith(new Error('boom')), serviceToken: 's' });
    expect(outcome).toMatchObject({ kind: 'failed', problem: 'transport' });
  });
});

describe('POST /proposals when the call to the DCU is cut off mid-way', () => {
  it('answers 502, saying the outcome is unknown and how to retry safely', async () => {
    const error = new UncertainOutcomeError('http://127.0.0.1:1', new Error('socket hang up'));
    const app = await buildAgencyApp({
      registry: failingWith(error),
      serviceToken: 'service-token-0123456789',
      store: new MemoryAgencyStore(),
      fastify: { logger: false },
    });
    try {
      const { proposalId: _id, ...proposal } = account;
      const response = await app.inject({
        method: 'POST',
        url: '/proposals',
        headers: { 'idempotency-key': 'cut-off' },
        payload: proposal,
      });
      expect(response.statusCode).toBe(502);
      expect(response.json().message).toBe(
        'The connection to the DCU broke mid-request, so whether an account was opened is unknown; ' +
          'the problem has been logged. The agency keeps the amount reserved and finishes opening the account ' +
          'by itself; send the same proposal with the same Idempotency-Key to receive it.',
      );
    } finally {
      await app.close();
    }
  });
});
