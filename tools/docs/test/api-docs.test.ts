import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildApps, REPO_ROOT } from '@grantline/e2e';
import { apiDocsFrom, collectOpenApiDocuments, renderApiDocs, type OpenApiDocument } from '../src';

const error = {
  title: 'ErrorResponse',
  type: 'object',
  required: ['statusCode', 'error', 'message'],
  properties: {
    statusCode: { type: 'integer' },
    error: { type: 'string' },
    message: { type: 'string' },
  },
};

const thing: OpenApiDocument = {
  info: { title: 'Things', description: 'Keeps things.' },
  components: {
    securitySchemes: {
      thingKey: { type: 'http', scheme: 'bearer', description: 'The key of a thing' },
    },
  },
  paths: {
    '/health': {
      get: {
        summary: 'Liveness check',
        responses: {
          '200': {
            description: 'Alive',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  properties: { status: { type: 'string', enum: ['ok'] } },
                },
              },
            },
          },
        },
      },
    },
    '/things/{thingId}': {
      post: {
        summary: 'Change a thing',
        security: [{ thingKey: [] }],
        parameters: [
          {
            in: 'path',
            name: 'thingId',
            required: true,
            schema: { type: 'string', format: 'uuid' },
            description: 'Which thing',
          },
          {
            in: 'header',
            name: 'idempotency-key',
            required: false,
            schema: { type: 'string', minLength: 1, maxLength: 255 },
          },
        ],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['amountCents'],
                properties: {
                  amountCents: {
                    type: 'integer',
                    minimum: 1,
                    maximum: 50_000_000,
                    description: 'How much.',
                  },
                },
              },
            },
          },
        },
        responses: {
          '409': {
            description: 'It would overdraw.',
            content: { 'application/json': { schema: error } },
          },
          '201': {
            description: 'Changed.',
            content: {
              'application/json': {
                schema: {
                  anyOf: [
                    {
                      type: 'object',
                      required: ['status'],
                      properties: {
                        status: { type: 'string', enum: ['done'] },
                        items: {
                          type: 'array',
                          items: { type: 'object', properties: { id: { type: 'string' } } },
                        },
                      },
                    },
                    {
                      type: 'object',
                      required: ['status'],
                      properties: {
                        status: { type: 'string', enum: ['refused'] },
                        reason: { type: 'string' },
                      },
                    },
                  ],
                },
              },
            },
          },
          '415': {
            description: 'Default Response',
            content: { 'application/json': { schema: error } },
          },
        },
      },
    },
  },
};

describe('docs/API.md', () => {
  it('renders routes, who may call them, parameters, bodies and answers from a document', () => {
    const text = renderApiDocs([
      { name: 'Things', defaultPort: 9100, document: thing },
      {
        name: 'More things',
        defaultPort: 9101,
        document: { paths: { '/health': thing.paths!['/health']! } },
      },
    ]);
    expect(text).toContain('## Things (default port 9100)\n\nKeeps things.');
    expect(text).toContain(
      '| [`POST /things/{thingId}`](#post-thingsthingid) | Change a thing | thing key |',
    );
    // The second GET /health heading gets GitHub's "-1" anchor.
    expect(text).toContain('[`GET /health`](#get-health)');
    expect(text).toContain('[`GET /health`](#get-health-1)');
    expect(text).toContain('**Who:** `Authorization: Bearer <thing key>`: The key of a thing.');
    expect(text).toContain('| `thingId` | yes | Which thing |');
    expect(text).toContain('| `idempotency-key` | no | 1 to 255 characters |');
    expect(text).toContain('| `amountCents` | integer | yes | How much; 1 to 50,000,000 |');
    // Answers by status, an error by name, a missing description in general words.
    expect(text).toMatch(
      /\| 201 \| Changed\. \| object, below \|\n\| 409 \| It would overdraw\. \| error \|\n\| 415 \| The body is not JSON\. \| error \|/,
    );
    expect(text).toContain('Either `status: "done"`:');
    expect(text).toContain('or `status: "refused"`:');
    expect(text).toContain('| `items[].id` | string | no |  |');
    expect(renderApiDocs([{ name: 'Things', defaultPort: 9100, document: thing }])).toBe(
      renderApiDocs([{ name: 'Things', defaultPort: 9100, document: structuredClone(thing) }]),
    );
  });

  it('is what `npm run docs` makes from the running services (run it after changing a route)', async () => {
    buildApps('registry', 'agency', 'dcu');
    const generated = apiDocsFrom(await collectOpenApiDocuments());
    const committed = readFileSync(path.join(REPO_ROOT, 'docs/API.md'), 'utf8');
    if (committed !== generated) {
      throw new Error('docs/API.md is stale: run `npm run docs` and commit the result.');
    }
  }, 180_000);
});
