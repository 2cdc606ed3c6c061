/**
 * The registration authority alone (pure, no HTTP): which bearer token may act for which
 * type, including once tokens have been verified and are remembered.
 */
import { registrationTokenFor } from '@grantline/contracts';
import { RegistrationAuthority } from '../src/domain/registration-auth';

const registryToken = 'test-registry-token-0123456789';
const dcuToken = registrationTokenFor(registryToken, 'dcu');
const agencyToken = registrationTokenFor(registryToken, 'agency');

describe('RegistrationAuthority', () => {
  it.each([
    ['the first time', 1],
    ['once remembered', 3],
  ])('lets REGISTRY_TOKEN act for every type and a type token for its own type only (%s)', (_, rounds) => {
    const authority = new RegistrationAuthority(registryToken);
    for (let round = 0; round < rounds; round++) {
      expect(authority.classify(registryToken)).toBe('registry-token');
      expect(authority.allows(registryToken, 'dcu')).toBe(true);
      expect(authority.allows(registryToken, 'agency')).toBe(true);
      expect(authority.classify(dcuToken)).toBe('registration-token');
      expect(authority.allows(dcuToken, 'dcu')).toBe(true);
      expect(authority.allows(dcuToken, 'agency')).toBe(false);
      expect(authority.allows(agencyToken, 'dcu')).toBe(false);
    }
  });

  it('never accepts a token that differs from a remembered one, however little', () => {
    const authority = new RegistrationAuthority(registryToken);
    expect(authority.allows(dcuToken, 'dcu')).toBe(true);
    expect(authority.allows(registryToken, 'dcu')).toBe(true);
    const lastDigit = dcuToken.endsWith('0') ? '1' : '0';
    const near = [
      dcuToken.slice(0, -1) + lastDigit,
      dcuToken.toUpperCase(),
      `${dcuToken} `,
      dcuToken.slice(1),
      registryToken.slice(0, -1),
      `${registryToken}x`,
      '',
    ];
    for (const token of near) {
      expect(authority.allows(token, 'dcu')).toBe(false);
      expect(authority.classify(token)).not.toBe('registry-token');
    }
    // The near misses left the real tokens working.
    expect(authority.allows(dcuToken, 'dcu')).toBe(true);
    expect(authority.allows(registryToken, 'agency')).toBe(true);
  });

  it('remembers only verified tokens, and no more than a thousand of them', () => {
    const authority = new RegistrationAuthority(registryToken);
    for (let n = 0; n < 50; n++) {
      expect(authority.allows(registrationTokenFor('another-secret', `t${n}`), `t${n}`)).toBe(false);
    }
    expect(authority.verifiedCount).toBe(0);
    for (let n = 0; n < 2_500; n++) {
      const type = `type-${n}`;
      expect(authority.allows(registrationTokenFor(registryToken, type), type)).toBe(true);
      expect(authority.verifiedCount).toBeLessThanOrEqual(1_000);
    }
    // Whatever was forgotten is verified again, not refused.
    expect(authority.allows(registrationTokenFor(registryToken, 'type-0'), 'type-0')).toBe(true);
    expect(authority.allows(registrationTokenFor(registryToken, 'type-0'), 'type-1')).toBe(false);
  });
});
