import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { DRAINING_HEADER } from '@grantline/contracts';
import { createServer } from '../src/server';

describe('a service that is closing', () => {
  it('answers a request that still arrives with 503 and the draining header, before any handler', async () => {
    const app = createServer({ fastify: { logger: false } });
    let handled = 0;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    app.get('/slow', async () => {
      handled += 1;
      await held;
      return { done: true };
    });
    app.post('/work', async () => {
      handled += 1;
      return { done: true };
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    let arrived = 0; // requests the HTTP server has read, whatever Fastify did with them
    app.server.on('request', () => (arrived += 1));

    // One kept-alive connection: a slow request in flight, then a second one sent while closing.
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write('GET /slow HTTP/1.1\r\nHost: test\r\n\r\n');
    while (handled === 0) await new Promise((resolve) => setImmediate(resolve));
    const closing = app.close();
    // Once it stops listening, close has begun; the slow request still holds the connection.
    while (app.server.listening) await new Promise((resolve) => setImmediate(resolve));
    socket.write('POST /work HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}');
    while (arrived < 2) await new Promise((resolve) => setImmediate(resolve));
    release();
    await closing;
    await ended;

    const answers = received.split(/(?=HTTP\/1\.1 )/);
    expect(answers).toHaveLength(2);
    // Node answers in order: the slow GET first, then the refused POST.
    expect(answers[0]).toMatch(/^HTTP\/1\.1 200/);
    expect(answers[1]).toMatch(/^HTTP\/1\.1 503/);
    expect(answers[1]).toMatch(new RegExp(`^${DRAINING_HEADER}: true\\r$`, 'mi'));
    expect(answers[1]).toContain('"error":"Service Unavailable"');
    expect(handled).toBe(1); // the POST's handler never ran
  });

  it('answers normally before it closes, without the header', async () => {
    const app = createServer({ fastify: { logger: false } });
    app.get('/x', async () => ({ ok: true }));
    const response = await app.inject({ method: 'GET', url: '/x' });
    expect(response.statusCode).toBe(200);
    expect(response.headers[DRAINING_HEADER]).toBeUndefined();
    await app.close();
  });
});
