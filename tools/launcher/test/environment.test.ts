import path from 'node:path';
import { freshSecrets, listeningUrlIn, runPaths, serviceEnvironment } from '../src/environment';

describe('launcher environment', () => {
  it('makes fresh secrets of at least 16 characters, different every run', () => {
    const first = freshSecrets();
    const second = freshSecrets();
    for (const secret of Object.values(first)) expect(secret.length).toBeGreaterThanOrEqual(16);
    expect(first.REGISTRY_TOKEN).not.toBe(second.REGISTRY_TOKEN);
    expect(new Set(Object.values(first)).size).toBe(3);
  });

  it('starts services on a free port with the run secrets, not pointing where the caller pointed', () => {
    const env = serviceEnvironment({
      inherited: { PATH: '/bin', PORT: '9001', ADVERTISED_URL: 'http://elsewhere', DAY_MS: '50' },
      secrets: {
        REGISTRY_TOKEN: 'r'.repeat(16),
        SERVICE_TOKEN: 's'.repeat(16),
        ACCOUNT_KEY_SECRET: 'a'.repeat(16),
      },
      accountDir: '/tmp/accounts',
      logLevel: 'warn',
      registryUrl: 'http://127.0.0.1:1234',
    });
    expect(env).toMatchObject({
      PATH: '/bin',
      PORT: '0',
      DAY_MS: '50',
      LOG_LEVEL: 'warn',
      ACCOUNT_DIR: '/tmp/accounts',
      REGISTRY_URL: 'http://127.0.0.1:1234',
      REGISTRY_TOKEN: 'r'.repeat(16),
    });
    expect(env.ADVERTISED_URL).toBeUndefined();
  });

  it('uses a fresh account folder per run unless ACCOUNT_DIR is given', () => {
    const now = new Date('2026-01-31T12:00:00.000Z');
    expect(runPaths('/repo', {}, now)).toEqual({
      runDir: path.resolve('/repo/account_files/run-2026-01-31T12-00-00-000Z'),
      accountDir: path.resolve('/repo/account_files/run-2026-01-31T12-00-00-000Z/accounts'),
    });
    expect(runPaths('/repo', { ACCOUNT_DIR: 'mine' }, now).accountDir).toBe(
      path.resolve('/repo/mine'),
    );
  });

  it('reads the URL of a "listening on" line', () => {
    expect(listeningUrlIn('dcu listening on http://127.0.0.1:41234')).toBe(
      'http://127.0.0.1:41234',
    );
    expect(listeningUrlIn('{"level":40,"msg":"slow"}')).toBeUndefined();
  });
});
