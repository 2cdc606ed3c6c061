import { readAgencyConfig } from '../src/config';

const secrets = {
  REGISTRY_TOKEN: 'registry-token-0123456789',
  SERVICE_TOKEN: 'service-token-0123456789',
};

describe('agency configuration', () => {
  it('applies the documented defaults', () => {
    expect(readAgencyConfig(secrets)).toMatchObject({
      PORT: 9001,
      HOST: '127.0.0.1',
      REGISTRY_URL: 'http://127.0.0.1:9000',
      ...secrets,
    });
  });

  it('reads PORT=0 as "any free port"', () => {
    expect(readAgencyConfig({ ...secrets, PORT: '0' }).PORT).toBe(0);
  });

  it('refuses to start without SERVICE_TOKEN, naming it', () => {
    expect(() => readAgencyConfig({ REGISTRY_TOKEN: secrets.REGISTRY_TOKEN })).toThrow(
      /SERVICE_TOKEN is required but not set/,
    );
  });

  it('refuses to start without REGISTRY_TOKEN, naming it', () => {
    expect(() => readAgencyConfig({ SERVICE_TOKEN: secrets.SERVICE_TOKEN })).toThrow(
      /REGISTRY_TOKEN is required but not set/,
    );
  });

  it('refuses a SERVICE_TOKEN shorter than 16 characters', () => {
    expect(() => readAgencyConfig({ ...secrets, SERVICE_TOKEN: 'short' })).toThrow(/SERVICE_TOKEN=/);
  });

  it('refuses a REGISTRY_URL that is not http(s)', () => {
    expect(() => readAgencyConfig({ ...secrets, REGISTRY_URL: 'ftp://x' })).toThrow(/REGISTRY_URL=/);
  });
});
