/**
 * Registration per type (API.md, "Trust between services") against a real registry listening
 * on 127.0.0.1 port 0: a type's registration token acts for that type only.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { registrationTokenFor } from '@grantline/contracts';
import { RegistryClient } from '@grantline/registry-client';
import { registryToken, startRegistry, type RegistryApp } from './helpers';
import { repoRoot, requireBuilt } from './process';

const agencyToken = registrationTokenFor(registryToken, 'agency');
const dcuToken = registrationTokenFor(registryToken, 'dcu');

describe('registration tokens per type', () => {
  let app: RegistryApp;
  let url: string;

  beforeEach(async () => {
    ({ app, url } = await startRegistry());
  });
  afterEach(() => app.close());

  async function post(route: string, token: string, body: unknown) {
    const response = await fetch(`${url}${route}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
  }

  const listed = async (type: string) => {
    const response = await fetch(`${url}/services/${type}`);
    return ((await response.json()) as { instances: { id: string; url: string }[] }).instances;
  };

  it('derives the token as the lowercase hex HMAC-SHA256 of the type under REGISTRY_TOKEN', () => {
    // A known answer, so that every language and tool can derive the same token.
    expect(registrationTokenFor('test-registry-token-0123456789', 'dcu')).toBe(
      'ef2399a9771804e6b41bfe01529ace76c509611954979f80dbbe3b77e3a2dada',
    );
    expect(agencyToken).toMatch(/^[0-9a-f]{64}$/);
    expect(agencyToken).not.toBe(dcuToken);
  });

  it('lets a type token register, heartbeat and unregister its own type', async () => {
    const registered = await post('/register', dcuToken, { type: 'dcu', url: 'http://127.0.0.1:9002' });
    expect(registered.status).toBe(201);
    const id = registered.body!.id as string;
    expect(await post('/heartbeat', dcuToken, { id })).toEqual({ status: 204, body: undefined });
    expect(await post('/unregister', dcuToken, { id })).toEqual({ status: 204, body: undefined });
    expect(await listed('dcu')).toEqual([]);
  });

  it('refuses an agency token that registers a DCU (403), and lists nothing', async () => {
    const refused = await post('/register', agencyToken, { type: 'dcu', url: 'http://127.0.0.1:6666' });
    expect(refused).toEqual({
      status: 403,
      body: {
        statusCode: 403,
        error: 'Forbidden',
        code: 'WRONG_TYPE',
        message: expect.stringMatching(/may not register instances of type "dcu"/),
      },
    });
    expect(await listed('dcu')).toEqual([]);
  });

  it('refuses a token of another type for the heartbeat and unregistration of an instance (403)', async () => {
    const { body } = await post('/register', dcuToken, { type: 'dcu', url: 'http://127.0.0.1:9002' });
    const id = body!.id as string;
    const before = app.instances.live('dcu')[0]!.lastHeartbeatAtMs;

    const heartbeat = await post('/heartbeat', agencyToken, { id });
    expect(heartbeat.status).toBe(403);
    expect(heartbeat.body!.message).toMatch(/may not heartbeat instances of type "dcu"/);
    const unregister = await post('/unregister', agencyToken, { id });
    expect(unregister.status).toBe(403);
    expect(unregister.body!.message).toMatch(/may not unregister instances of type "dcu"/);

    // The DCU is still listed and its heartbeat was not recorded by the refused call.
    expect((await listed('dcu')).map((instance) => instance.id)).toEqual([id]);
    expect(app.instances.live('dcu')[0]!.lastHeartbeatAtMs).toBe(before);
  });

  it('still lets REGISTRY_TOKEN act for every type (development)', async () => {
    const agency = await post('/register', registryToken, { type: 'agency', url: 'http://127.0.0.1:9001' });
    const dcu = await post('/register', registryToken, { type: 'dcu', url: 'http://127.0.0.1:9002' });
    expect([agency.status, dcu.status]).toEqual([201, 201]);
    expect((await post('/heartbeat', registryToken, { id: dcu.body!.id })).status).toBe(204);
    // REGISTRY_TOKEN may also remove what a type token registered.
    const other = await post('/register', agencyToken, { type: 'agency', url: 'http://127.0.0.1:9011' });
    expect((await post('/unregister', registryToken, { id: other.body!.id })).status).toBe(204);
  });

  it('refuses a token derived from another REGISTRY_TOKEN (403) and one that is no credential at all (401)', async () => {
    const foreign = registrationTokenFor('another-registry-token-0000', 'dcu');
    const refused = await post('/register', foreign, { type: 'dcu', url: 'http://127.0.0.1:9002' });
    expect(refused.status).toBe(403);
    expect((await post('/register', 'x'.repeat(64), { type: 'dcu', url: 'http://127.0.0.1:9002' })).status).toBe(401);
    expect(await listed('dcu')).toEqual([]);
  });

  it('answers 404, not 403, for an id it does not know, so a service registers again', async () => {
    const unknown = await post('/heartbeat', agencyToken, { id: '00000000-0000-4000-8000-000000000000' });
    expect(unknown.status).toBe(404);
  });

  it('keeps a service listed through the registry client with its own type token', async () => {
    const client = new RegistryClient({ registryUrl: url, registryToken: dcuToken });
    try {
      const membership = client.join('dcu', 'http://127.0.0.1:9002');
      expect(await membership.registered(5_000)).toBe(true);
      expect((await listed('dcu')).map((instance) => instance.url)).toEqual(['http://127.0.0.1:9002']);
    } finally {
      await client.close();
    }
    expect(await listed('dcu')).toEqual([]);
  });

  it('`npm run token -- <type>` prints the token of a type, from REGISTRY_TOKEN in the environment', async () => {
    const script = path.join(repoRoot, 'apps/registry/dist/token.js');
    requireBuilt(script);
    const run = promisify(execFile);
    const env = { PATH: process.env.PATH ?? '', REGISTRY_TOKEN: registryToken };
    const { stdout } = await run(process.execPath, [script, 'dcu'], { env });
    expect(stdout).toBe(`${dcuToken}\n`);
    await expect(run(process.execPath, [script, 'Not A Type'], { env })).rejects.toMatchObject({ code: 2 });
    // In production nothing is generated: without REGISTRY_TOKEN there is no token to derive.
    const production = { PATH: env.PATH, NODE_ENV: 'production' };
    await expect(run(process.execPath, [script, 'dcu'], { env: production })).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/REGISTRY_TOKEN is required/),
    });
  });
});
