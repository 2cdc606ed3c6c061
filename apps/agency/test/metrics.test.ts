import { metricValue } from '@grantline/service-kit/testing';
import { buildAgencyApp } from '../src/app';
import { MemoryAgencyStore } from '../src/storage/memory-store';
import { serviceToken, startFakeDcu, startFakeRegistry } from './fakes';

jest.setTimeout(30_000);

const proposal = {
  title: 'Quantum sheep counting',
  investigator: 'Dr. Ada Byrne',
  durationDays: 365,
};

describe('agency metrics', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('count proposals by decision, and pass the request id on to the DCU', async () => {
    const registry = await startFakeRegistry();
    const dcu = await startFakeDcu();
    const client = registry.client();
    registry.list('dcu', [dcu.url]);
    const app = await buildAgencyApp({
      registry: client,
      serviceToken,
      store: new MemoryAgencyStore(),
      fastify: { logger: false },
    });
    cleanups.push(
      () => registry.close(),
      () => dcu.close(),
      () => client.close(),
      () => app.close(),
    );
    const submit = (amountCents: number, requestId: string) =>
      app.inject({
        method: 'POST',
        url: '/proposals',
        headers: { 'x-request-id': requestId },
        payload: { ...proposal, amountCents },
      });

    const accepted: { proposalId: string; accountId: string }[] = [];
    for (const [n, amountCents] of [30_000_000, 40_000_000, 50_000_000].entries()) {
      const answer = (await submit(amountCents, `accept-${n}`)).json();
      expect(answer).toMatchObject({ status: 'accepted' });
      accepted.push(answer);
    }
    for (const [n, amountCents] of [1, 50_000_001].entries()) {
      expect((await submit(amountCents, `reject-${n}`)).json()).toMatchObject({
        status: 'rejected',
      });
    }
    // The first account ends with 1,000,000 cents unspent; the DCU sends it twice.
    const closeout = {
      proposalId: accepted[0]!.proposalId,
      accountId: accepted[0]!.accountId,
      returnedCents: 1_000_000,
    };
    for (const expected of [201, 200]) {
      const answer = await app.inject({
        method: 'POST',
        url: '/closeouts',
        headers: { authorization: `Bearer ${serviceToken}` },
        payload: closeout,
      });
      expect(answer.statusCode).toBe(expected);
    }
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metricValue(text, 'grantline_agency_budget_committed_cents')).toBe(120_000_000);
    expect(metricValue(text, 'grantline_agency_budget_returned_cents')).toBe(1_000_000);
    expect(metricValue(text, 'grantline_agency_reservations_pending')).toBe(0);
    expect(metricValue(text, 'grantline_closeouts_received_total', { outcome: 'recorded' })).toBe(
      1,
    );
    expect(metricValue(text, 'grantline_closeouts_received_total', { outcome: 'repeat' })).toBe(1);
    expect(metricValue(text, 'grantline_proposals_total', { decision: 'accepted' })).toBe(3);
    expect(metricValue(text, 'grantline_proposals_total', { decision: 'rejected' })).toBe(2);
    expect(metricValue(text, 'grantline_proposals_total', { decision: 'failed' })).toBeUndefined();
    expect(dcu.requestIds).toEqual(['accept-0', 'accept-1', 'accept-2']);
  });

  it('count a proposal no DCU could open as failed', async () => {
    const registry = await startFakeRegistry();
    const dcu = await startFakeDcu('broken');
    const client = registry.client();
    registry.list('dcu', [dcu.url]);
    const app = await buildAgencyApp({
      registry: client,
      serviceToken,
      store: new MemoryAgencyStore(),
      fastify: { logger: false },
    });
    cleanups.push(
      () => registry.close(),
      () => dcu.close(),
      () => client.close(),
      () => app.close(),
    );
    const answer = await app.inject({
      method: 'POST',
      url: '/proposals',
      payload: { ...proposal, amountCents: 40_000_000 },
    });
    expect(answer.statusCode).toBe(502);
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metricValue(text, 'grantline_proposals_total', { decision: 'failed' })).toBe(1);
    expect(metricValue(text, 'grantline_proposals_total')).toBe(1);
  });
});
