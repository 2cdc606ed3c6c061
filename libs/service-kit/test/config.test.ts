import { Type } from '@sinclair/typebox';
import { ConfigError, loadConfig, RegistryUrl, Secret, serviceConfigProperties } from '../src/config';

const schema = Type.Object({
  ...serviceConfigProperties(9002),
  SERVICE_TOKEN: Secret('the secret the agency shows'),
  DAY_MS: Type.Integer({ minimum: 1, default: 1000 }),
});

describe('loadConfig', () => {
  it('applies defaults and converts numbers from their string form', () => {
    const config = loadConfig(schema, { SERVICE_TOKEN: 'a-long-enough-secret', DAY_MS: '20' });
    expect(config).toMatchObject({ PORT: 9002, HOST: '127.0.0.1', DAY_MS: 20, SERVICE_TOKEN: 'a-long-enough-secret' });
  });

  it('names a missing variable', () => {
    expect(() => loadConfig(schema, {})).toThrow(new ConfigError('invalid configuration: SERVICE_TOKEN is required but not set'));
  });

  it('names a malformed variable and shows its value', () => {
    expect(() => loadConfig(schema, { SERVICE_TOKEN: 'a-long-enough-secret', PORT: 'eighty' })).toThrow(/PORT="eighty"/);
  });

  it('never shows the value of a secret, even a wrong one', () => {
    let message = '';
    try {
      loadConfig(schema, { SERVICE_TOKEN: 'tooshort' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^invalid configuration: SERVICE_TOKEN=\(secret, not shown\)/);
    expect(message).not.toContain('tooshort');
  });
});

describe('REGISTRY_URL', () => {
  const schema = Type.Object({ REGISTRY_URL: RegistryUrl });

  it.each(['http://127.0.0.1:9000', 'http://a:9000,http://b:9000', 'https://a, http://b:1, http://c'])(
    'accepts one registry URL or several, comma-separated: %s',
    (value) => {
      expect(loadConfig(schema, { REGISTRY_URL: value }).REGISTRY_URL).toBe(value);
    },
  );

  it.each(['ftp://a', 'http://a,', 'http://a,,http://b', 'http://a,ftp://b', 'http://a b'])('refuses %s', (value) => {
    expect(() => loadConfig(schema, { REGISTRY_URL: value })).toThrow(/REGISTRY_URL=/);
  });
});
