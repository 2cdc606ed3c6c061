import { randomBytes } from 'node:crypto';
import type { SystemSecrets } from '@grantline/contracts';

/**
 * New random secrets (32 characters each) for every run: nothing to set up, nothing that
 * outlives the run. Each service is then given only its share, with its type's registration
 * token (`secretsForService` in @grantline/contracts).
 */
export function freshSecrets(): SystemSecrets {
  const secret = () => randomBytes(24).toString('base64url');
  return { REGISTRY_TOKEN: secret(), SERVICE_TOKEN: secret(), ACCOUNT_KEY_SECRET: secret() };
}
