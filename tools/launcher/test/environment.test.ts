import path from 'node:path';
import { registrationTokenFor } from '@grantline/contracts';
import { runPaths, serviceEnvironment } from '../src/environment';

describe('launcher environment', () => {
  const secrets = {
    REGISTRY_TOKEN: 'r'.repeat(16),
    SERVICE_TOKEN: 's'.repeat(16),
    ACCOUNT_KEY_SECRET: 'a'.repeat(16),
  };
  const environmentOf = (app: 'registry' | 'agency' | 'dcu') =>
    serviceEnvironment({
      app,
      inherited: {
        PATH: '/bin',
        PORT: '9001',
        ADVERTISED_URL: 'http://elsewhere',
        DAY_MS: '50',
        SERVICE_TOKEN: 'inherited-service-token',
        ACCOUNT_KEY_SECRET: 'inherited-account-key-secret',
      },
      secrets,
      accountDir: '/tmp/accounts',
      logLevel: 'warn',
      registryUrl: 'http://127.0.0.1:1234',
    });

  it('starts services on a free port with the run secrets, not pointing where the caller pointed', () => {
    const env = environmentOf('dcu');
    expect(env).toMatchObject({
      PATH: '/bin',
      PORT: '0',
      DAY_MS: '50',
      LOG_LEVEL: 'warn',
      ACCOUNT_DIR: '/tmp/accounts',
      REGISTRY_URL: 'http://127.0.0.1:1234',
      SERVICE_TOKEN: 's'.repeat(16),
      ACCOUNT_KEY_SECRET: 'a'.repeat(16),
    });
    expect(env.ADVERTISED_URL).toBeUndefined();
  });

  it('gives each service only its own secrets: a type token, never the registry token', () => {
    expect(environmentOf('registry').REGISTRY_TOKEN).toBe(secrets.REGISTRY_TOKEN);
    expect(environmentOf('registry').SERVICE_TOKEN).toBeUndefined();
    expect(environmentOf('registry').ACCOUNT_KEY_SECRET).toBeUndefined();

    const agency = environmentOf('agency');
    expect(agency.REGISTRY_TOKEN).toBe(registrationTokenFor(secrets.REGISTRY_TOKEN, 'agency'));
    expect(agency.SERVICE_TOKEN).toBe(secrets.SERVICE_TOKEN);
    expect(agency.ACCOUNT_KEY_SECRET).toBeUndefined();

    const dcu = environmentOf('dcu');
    expect(dcu.REGISTRY_TOKEN).toBe(registrationTokenFor(secrets.REGISTRY_TOKEN, 'dcu'));
    expect(dcu.REGISTRY_TOKEN).not.toBe(agency.REGISTRY_TOKEN);
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
});
