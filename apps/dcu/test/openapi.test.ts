import { checkOpenApi } from '@grantline/service-kit/testing';
import { buildTestDcu, makeAccountDir } from './helpers';

jest.setTimeout(30_000);

describe('DCU OpenAPI document', () => {
  it('is valid OpenAPI and lists every route with its responses', async () => {
    const folder = await makeAccountDir();
    try {
      const { document, problems } = await checkOpenApi(() => buildTestDcu(folder.accountDir));
      expect(problems).toEqual([]);
      const paths = document.paths as Record<string, Record<string, { parameters?: unknown[]; responses: object }>>;
      const withdrawal = paths['/accounts/{accountId}/withdrawals']!.post!;
      expect(Object.keys(withdrawal.responses)).toEqual(expect.arrayContaining(['201', '400', '401', '409', '410']));
      expect(withdrawal.parameters).toEqual(
        expect.arrayContaining([expect.objectContaining({ in: 'header', name: 'idempotency-key', required: true })]),
      );
      expect(Object.keys(document.components?.securitySchemes ?? {}).sort()).toEqual(['accountKey', 'serviceToken']);
    } finally {
      await folder.cleanup();
    }
  });
});
