import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PoolSet } from '../src/http';

describe('PoolSet.request', () => {
  let server: http.Server;
  let origin: string;
  const pools = new PoolSet(4);

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        if (request.url === '/json') {
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ echoed: body ? JSON.parse(body) : null, type: request.headers['content-type'] ?? null }));
        } else if (request.url === '/text') {
          response.writeHead(418, { 'content-type': 'text/plain' });
          response.end('not json');
        } else {
          response.writeHead(204);
          response.end();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await pools.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends a body as JSON and parses a JSON answer', async () => {
    const response = await pools.request(origin, { method: 'POST', path: '/json', body: { amountCents: 5 } });
    expect(response.statusCode).toBe(200);
    expect(response.body).toEqual({ echoed: { amountCents: 5 }, type: 'application/json' });
  });

  it('sends no content-type without a body', async () => {
    const response = await pools.request(origin, { method: 'GET', path: '/json' });
    expect(response.body).toEqual({ echoed: null, type: null });
  });

  it('keeps a non-JSON answer as text and an empty one as undefined', async () => {
    expect(await pools.request(origin, { method: 'GET', path: '/text' })).toMatchObject({
      statusCode: 418,
      body: 'not json',
    });
    const empty = await pools.request(origin, { method: 'DELETE', path: '/empty' });
    expect(empty.statusCode).toBe(204);
    expect(empty.body).toBeUndefined();
  });

  it('uses one pool per origin and a fresh one after discard', () => {
    const first = pools.get(origin);
    expect(pools.get(origin)).toBe(first);
    pools.discard(origin);
    expect(pools.get(origin)).not.toBe(first);
  });
});
