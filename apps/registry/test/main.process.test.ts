import type { ServiceProcess } from '@grantline/process-kit';
import { registryMain, requireBuilt, startNode } from './process';

jest.setTimeout(30_000);

describe('node apps/registry/dist/main.js', () => {
  let service: ServiceProcess | undefined;

  beforeAll(() => requireBuilt(registryMain));
  afterEach(async () => {
    await service?.kill();
    service = undefined;
  });

  it('prints its real URL with PORT=0, answers /health and stops on SIGTERM', async () => {
    const started = await startNode(registryMain, 'registry', {
      PORT: '0',
      REGISTRY_TOKEN: 'process-test-registry-token',
      HEARTBEAT_INTERVAL_MS: '200',
    });
    service = started.service;
    expect(started.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(started.url).not.toMatch(/:0$/);

    const health = await fetch(`${started.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });

    const registered = await fetch(`${started.url}/register`, {
      method: 'POST',
      headers: { authorization: 'Bearer process-test-registry-token', 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'dcu', url: 'http://127.0.0.1:9002' }),
    });
    expect(registered.status).toBe(201);
    expect(await registered.json()).toMatchObject({ heartbeatIntervalMs: 200, ttlMs: 600 });

    const stopped = await started.service.stop();
    expect(stopped).toEqual({ code: 0, signal: null });
  });

  it('refuses to start without REGISTRY_TOKEN and names the variable', async () => {
    await expect(startNode(registryMain, 'registry', { PORT: '0' }, 10_000)).rejects.toThrow(
      /REGISTRY_TOKEN/,
    );
  });
});
