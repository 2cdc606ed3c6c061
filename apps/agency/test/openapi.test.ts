import { checkOpenApi } from '@grantline/service-kit/testing';
import { buildAgencyApp } from '../src/app';
import { MemoryAgencyStore } from '../src/storage/memory-store';

jest.setTimeout(30_000);

describe('agency OpenAPI document', () => {
  it('is valid OpenAPI and lists every route with its responses', async () => {
    const { document, problems } = await checkOpenApi(() =>
      buildAgencyApp({
        // The document is built without calling any DCU.
        registry: { call: () => Promise.reject(new Error('no DCU in this test')) },
        serviceToken: 'openapi-test-service-token',
        store: new MemoryAgencyStore(),
        fastify: { logger: false },
      }),
    );
    expect(problems).toEqual([]);
    const proposals = (document.paths?.['/proposals'] as Record<string, { parameters?: unknown[]; responses: object }>)
      .post;
    expect(Object.keys(proposals!.responses)).toEqual(expect.arrayContaining(['201', '400', '503']));
    expect(proposals!.parameters).toEqual(
      expect.arrayContaining([expect.objectContaining({ in: 'header', name: 'idempotency-key' })]),
    );
  });
});
