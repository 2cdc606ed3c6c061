/**
 * Heartbeats log nothing when they succeed (their request loggers are made only on use), and
 * what they do log (a refusal) still carries the request's id.
 */
import { Writable } from 'node:stream';
import { registrationTokenFor } from '@grantline/contracts';
import { buildTestRegistry, registryToken, type RegistryApp } from './helpers';

describe('heartbeat logging', () => {
  let app: RegistryApp;
  const lines: Record<string, unknown>[] = [];

  beforeEach(async () => {
    lines.length = 0;
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean))
          lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    app = await buildTestRegistry({ prettyLogs: false, fastify: { logger: { level: 'debug', stream } } });
  });
  afterEach(() => app.close());

  const post = (url: string, token: string, payload: object, requestId: string) =>
    app.inject({
      method: 'POST',
      url,
      headers: { authorization: `Bearer ${token}`, 'x-request-id': requestId },
      payload,
    });

  it('writes no line for a heartbeat that succeeds, and the request id on a refused one', async () => {
    const dcuToken = registrationTokenFor(registryToken, 'dcu');
    const registered = await post('/register', dcuToken, { type: 'dcu', url: 'http://127.0.0.1:9002' }, 'reg-1');
    expect(registered.statusCode).toBe(201);
    const { id } = registered.json<{ id: string }>();

    const ok = await post('/heartbeat', dcuToken, { id }, 'beat-ok');
    expect(ok.statusCode).toBe(204);
    expect(ok.headers['x-request-id']).toBe('beat-ok');
    expect(lines.filter((line) => line.requestId === 'beat-ok')).toEqual([]);

    const agencyToken = registrationTokenFor(registryToken, 'agency');
    const refused = await post('/heartbeat', agencyToken, { id }, 'beat-refused');
    expect(refused.statusCode).toBe(403);
    expect(lines.filter((line) => line.requestId === 'beat-refused')).toEqual([
      expect.objectContaining({
        level: 40,
        type: 'dcu',
        action: 'heartbeat',
        msg: 'registration token of another type refused',
      }),
    ]);
    // The registration (not quiet) still logs as before, with its id.
    expect(lines.some((line) => line.requestId === 'reg-1' && line.msg === 'instance registered')).toBe(true);
  });
});
