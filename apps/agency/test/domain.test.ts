import fc from 'fast-check';
import { fundingDecision, PROPOSAL_ID_NAMESPACE, proposalIdFor } from '../src/domain/proposal';
import { uuidV5 } from '@grantline/service-kit';

const DNS_NAMESPACE = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';
const V5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuidV5', () => {
  it('matches the published vectors of other implementations', () => {
    // Python: uuid.uuid5(uuid.NAMESPACE_DNS, 'python.org'), and the RFC example name.
    expect(uuidV5('python.org', DNS_NAMESPACE)).toBe('886313e1-3b8a-5372-9b90-0c9aee199e5d');
    expect(uuidV5('www.example.com', DNS_NAMESPACE)).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  it('refuses a namespace that is not a UUID', () => {
    expect(() => uuidV5('x', 'not-a-uuid')).toThrow(/namespace is not a UUID/);
  });
});

describe('proposalIdFor', () => {
  it('derives the same version-5 id from the same key, and different ids from different keys', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 255 }), fc.string({ minLength: 1, maxLength: 255 }), (a, b) => {
        expect(proposalIdFor(a)).toMatch(V5);
        expect(proposalIdFor(a) === proposalIdFor(b)).toBe(a === b);
      }),
      { numRuns: 500 },
    );
  });

  it('keeps the ids of keys already issued (the namespace never changes)', () => {
    // Literals computed once with Python: uuid.uuid5(UUID('bbf6dc8f-cdbb-431a-80fb-aa6e79684e5a'), key).
    expect(PROPOSAL_ID_NAMESPACE).toBe('bbf6dc8f-cdbb-431a-80fb-aa6e79684e5a');
    expect(proposalIdFor('proposal-1')).toBe('6713b17b-babd-5b11-8a13-7418f14cdc6f');
    expect(proposalIdFor('order-42')).toBe('0b87c737-e027-5b6f-9439-b31b6a0a9a83');
    expect(proposalIdFor('a')).toBe('57305b33-e135-5d92-9215-bd2795805503');
  });

  it('makes a fresh random id when there is no key', () => {
    const ids = new Set(Array.from({ length: 50 }, () => proposalIdFor(undefined)));
    expect(ids.size).toBe(50);
  });
});

describe('fundingDecision', () => {
  it.each([30_000_000, 30_000_001, 40_000_000, 49_999_999, 50_000_000])('funds %d cents', (amountCents) => {
    expect(fundingDecision(amountCents)).toEqual({ funded: true });
  });

  it('turns down 29,999,999 cents, saying it is below the range', () => {
    expect(fundingDecision(29_999_999)).toEqual({
      funded: false,
      reason:
        'The agency funds proposals from €300,000.00 to €500,000.00; this one asks for ' +
        '€299,999.99, below that range, so no account was opened.',
    });
  });

  it('turns down 50,000,001 cents, saying it is above the range', () => {
    const decision = fundingDecision(50_000_001);
    expect(decision.funded).toBe(false);
    expect(decision.funded === false && decision.reason).toContain('€500,000.01, above that range');
  });
});
