import { createHmac } from 'node:crypto';

/**
 * The registration token of a service type (API.md, "Trust between services"): the
 * lowercase hex of HMAC-SHA256(key = REGISTRY_TOKEN, message = type). It registers,
 * heartbeats and unregisters instances of that type only, so a process trusted as an agency
 * cannot pose as a DCU. The registry, the launcher, the tests and `npm run token` all derive
 * it here.
 */
export function registrationTokenFor(registryToken: string, type: string): string {
  return createHmac('sha256', registryToken).update(type, 'utf8').digest('hex');
}

/** What a registration token looks like: the 64 lowercase hex digits of a SHA-256 HMAC. */
export const REGISTRATION_TOKEN_PATTERN = /^[0-9a-f]{64}$/;

/** The run-wide secrets from which every process's own secrets are taken. */
export interface SystemSecrets {
  REGISTRY_TOKEN: string;
  SERVICE_TOKEN: string;
  ACCOUNT_KEY_SECRET: string;
}

/**
 * The secrets one service is given, and no more: the registry keeps REGISTRY_TOKEN; an agency
 * and a DCU get their own type's registration token (under the name REGISTRY_TOKEN, which
 * they show to the registry) and SERVICE_TOKEN; only the DCU gets ACCOUNT_KEY_SECRET.
 */
export function secretsForService(
  app: 'registry' | 'agency' | 'dcu',
  secrets: SystemSecrets,
): Record<string, string> {
  switch (app) {
    case 'registry':
      return { REGISTRY_TOKEN: secrets.REGISTRY_TOKEN };
    case 'agency':
      return {
        REGISTRY_TOKEN: registrationTokenFor(secrets.REGISTRY_TOKEN, 'agency'),
        SERVICE_TOKEN: secrets.SERVICE_TOKEN,
      };
    case 'dcu':
      return {
        REGISTRY_TOKEN: registrationTokenFor(secrets.REGISTRY_TOKEN, 'dcu'),
        SERVICE_TOKEN: secrets.SERVICE_TOKEN,
        ACCOUNT_KEY_SECRET: secrets.ACCOUNT_KEY_SECRET,
      };
  }
}
