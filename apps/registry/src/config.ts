import { Type, type Static } from '@sinclair/typebox';
import { loadConfig, Secret, serviceConfigProperties } from '@grantline/service-kit';

export const RegistryConfigSchema = Type.Object({
  ...serviceConfigProperties(9000),
  REGISTRY_TOKEN: Secret('the secret a service shows to register'),
  HEARTBEAT_INTERVAL_MS: Type.Integer({ minimum: 10, maximum: 600_000, default: 1000 }),
  /** Defaults to three heartbeat intervals. */
  TTL_MS: Type.Optional(Type.Integer({ minimum: 30, maximum: 3_600_000 })),
});
export type RegistryConfig = Static<typeof RegistryConfigSchema>;

export function readRegistryConfig(env?: Record<string, string | undefined>): RegistryConfig {
  return loadConfig(RegistryConfigSchema, env);
}
