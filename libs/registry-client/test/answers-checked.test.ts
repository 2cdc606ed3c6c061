/**
 * The registry client believes a registry's answers only as the contract has them (API.md,
 * "Trust between services"): a list of another type, a malformed one, or a registration
 * answer that is not one is treated like no answer at all. The registry here is a real HTTP
 * server on 127.0.0.1 that says what the test tells it to.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { RegistryClient } from '../src';

const good = {
  id: '7d6f3c1e-1b2a-4c3d-8e4f-5a6b7c8d9e0f',
  url: 'http://127.0.0.1:9002',
  registeredAt: '2030-01-01T00:00:00.000Z',
  lastHeartbeatAt: '2030-01-01T00:00:00.000Z',
};

describe('answers from a registry are checked', () => {
  let server: http.Server;
  let registryUrl: string;
  let list: unknown;
  let registration: unknown;
  let registrations = 0;
  const clients: RegistryClient[] = [];

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        response.setHeader('content-type', 'application/json');
        if (request.method === 'POST' && request.url === '/register') {
          registrations += 1;
          response.writeHead(201).end(JSON.stringify(registration));
        } else {
          response.writeHead(200).end(JSON.stringify(list));
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    registryUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  function client(): RegistryClient {
    const created = new RegistryClient({ registryUrl, registryToken: 'r'.repeat(64), refreshIntervalMs: 50 });
    clients.push(created);
    return created;
  }

  it('takes a list that matches the contract', async () => {
    list = { type: 'dcu', instances: [good] };
    expect(await client().instances('dcu')).toEqual([good]);
  });

  it.each([
    ['a list of another type', { type: 'agency', instances: [good] }],
    ['an instance whose url is not http(s)', { type: 'dcu', instances: [{ ...good, url: 'javascript:alert(1)' }] }],
    ['an instance with a field of its own', { type: 'dcu', instances: [{ ...good, ownerKey: 'k' }] }],
    ['an instance without an id', { type: 'dcu', instances: [{ ...good, id: undefined }] }],
    ['not a list at all', 'hello'],
  ])('believes no instance from %s', async (_what, lie) => {
    list = lie;
    const reader = client();
    expect(await reader.instances('dcu')).toEqual([]);
    expect(reader.isStale('dcu')).toBe(true);
  });

  it('does not count itself registered on an answer that is not a registration', async () => {
    registration = { id: 'not-a-uuid', heartbeatIntervalMs: 1000, ttlMs: 3000 };
    registrations = 0;
    const membership = client().join('dcu', 'http://127.0.0.1:9002');
    // It keeps trying (the registry "refused"), and never takes the made-up id.
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (registrations >= 3) {
          clearInterval(poll);
          resolve();
        }
      }, 10);
    });
    expect(membership.id).toBeUndefined();
    expect(membership.state).toBe('registering');
  });
});
