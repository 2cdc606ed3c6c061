/**
 * Every exchange with a peer is bounded (API.md, "Trust between services"): a total deadline
 * over headers and body, and a cap on the answer's size. The peers here are real HTTP servers
 * on 127.0.0.1 that break the rules on purpose.
 */
import { getEventListeners } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { isConnectionError, PeerAnswerError, PoolSet } from '../src/http';

const CHUNK = Buffer.alloc(64 * 1024, 'x');

describe('bounded calls to a peer', () => {
  let server: http.Server;
  let origin: string;
  /** Bytes the flooding route managed to hand to its socket before the client left. */
  let flooded = 0;
  let floodEnded: Promise<void> = Promise.resolve();
  const timers = new Set<NodeJS.Timeout>();
  const pools = new PoolSet(4, { timeoutMs: 1_000, maxAnswerBytes: 256 * 1024 });

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      switch (request.url) {
        case '/flood': {
          // Writes as fast as the client reads, without end and without a content-length.
          response.writeHead(200, { 'content-type': 'application/json' });
          floodEnded = new Promise((resolve) => response.once('close', () => resolve()));
          const pump = () => {
            while (!response.destroyed && response.write(CHUNK)) flooded += CHUNK.length;
            if (!response.destroyed) response.once('drain', pump);
          };
          pump();
          return;
        }
        case '/declared':
          response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(10 * 1024 * 1024) });
          response.write('{');
          return;
        case '/drip': {
          // A byte every 100 ms: undici's bodyTimeout (an idle gap) would never fire.
          response.writeHead(200, { 'content-type': 'application/json' });
          const timer = setInterval(() => response.write(' '), 100);
          timers.add(timer);
          response.once('close', () => clearInterval(timer));
          return;
        }
        case '/hang':
          return; // never answers
        case '/exactly-the-cap':
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ pad: 'x'.repeat(256 * 1024 - 10) }));
          return;
        default:
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ accountId: 'not-a-uuid', ownerKey: 'k' }));
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const timer of timers) clearInterval(timer);
    await pools.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  async function failure(promise: Promise<unknown>): Promise<PeerAnswerError> {
    const error = await promise.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(PeerAnswerError);
    // The registry client treats it like a broken connection: the instance failed.
    expect(isConnectionError(error)).toBe(true);
    return error as PeerAnswerError;
  }

  it('stops reading a flood once past the cap and closes the connection', async () => {
    const error = await failure(pools.request(origin, { method: 'GET', path: '/flood' }));
    expect(error.code).toBe('GRANTLINE_ANSWER_TOO_LARGE');
    // The server's writes stopped: the client closed the socket instead of reading on.
    await floodEnded;
    expect(flooded).toBeLessThan(64 * 1024 * 1024);
  });

  it('refuses an answer whose declared length is over the cap without reading it', async () => {
    const error = await failure(pools.request(origin, { method: 'GET', path: '/declared' }));
    expect(error.code).toBe('GRANTLINE_ANSWER_TOO_LARGE');
    expect(error.message).toMatch(/10485760 bytes/);
  });

  it('ends an answer that drips in, a byte at a time, at its total deadline', async () => {
    const error = await failure(pools.request(origin, { method: 'GET', path: '/drip' }));
    expect(error.code).toBe('GRANTLINE_PEER_DEADLINE');
    expect(error.message).toMatch(/within 1000 ms/);
  });

  it('ends a call to a peer that never answers at its deadline', async () => {
    const error = await failure(pools.request(origin, { method: 'POST', path: '/hang', body: {}, timeoutMs: 300 }));
    expect(error.code).toBe('GRANTLINE_PEER_DEADLINE');
    expect(error.message).toMatch(/within 300 ms/);
  });

  it('reads an answer of exactly the cap', async () => {
    const response = await pools.request<{ pad: string }>(origin, { method: 'GET', path: '/exactly-the-cap' });
    expect(response.body.pad).toHaveLength(256 * 1024 - 10);
  });

  it('fails an answer that its check refuses, without quoting what the peer sent', async () => {
    const error = await failure(
      pools.request(origin, {
        method: 'GET',
        path: '/lie',
        check: (response) => ((response.body as { accountId: string }).accountId === 'expected' ? undefined : 'not the account asked for'),
      }),
    );
    expect(error.code).toBe('GRANTLINE_BAD_ANSWER');
    expect(error.message).toMatch(/answered 200 against the contract: not the account asked for/);
    expect(error.message).not.toMatch(/not-a-uuid/);
  });

  it("stops at the caller's own signal, says so, and leaves no listener on it", async () => {
    const closing = new AbortController();
    const read = pools.request(origin, { method: 'GET', path: '/hang', timeoutMs: 30_000, signal: closing.signal });
    closing.abort(new Error('client closing'));
    await expect(read).rejects.toThrow('client closing');
    const longLived = new AbortController();
    await pools.request(origin, { method: 'GET', path: '/exactly-the-cap', signal: longLived.signal });
    expect(getEventListeners(longLived.signal, 'abort')).toHaveLength(0);
  });
});
