import { Type, type Static } from '@sinclair/typebox';
import {
  loadConfig,
  registryMemberProperties,
  Secret,
  serviceConfigProperties,
} from '@grantline/service-kit';

export const AgencyConfigSchema = Type.Object({
  ...serviceConfigProperties(9001),
  ...registryMemberProperties,
  SERVICE_TOKEN: Secret('the secret the agency shows the DCU to open accounts'),
});
export type AgencyConfig = Static<typeof AgencyConfigSchema>;

export function readAgencyConfig(env?: Record<string, string | undefined>): AgencyConfig {
  return loadConfig(AgencyConfigSchema, env);
}
