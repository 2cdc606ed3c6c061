import { Type, type Static } from '@sinclair/typebox';
import {
  DataFolder,
  loadConfig,
  registryMemberProperties,
  Secret,
  serviceConfigProperties,
} from '@grantline/service-kit';
import { databaseConfigProperties } from '@grantline/postgres';

export const DcuConfigSchema = Type.Object({
  ...serviceConfigProperties(9002),
  ...registryMemberProperties,
  SERVICE_TOKEN: Secret('the secret the agency shows to open accounts'),
  ACCOUNT_KEY_SECRET: Secret('the secret every researcher key is derived from'),
  ACCOUNT_DIR: DataFolder(
    'account_files',
    'the account folder, may be shared by several DCUs on one host',
  ),
  DAY_MS: Type.Integer({ minimum: 1, maximum: 86_400_000, default: 1000 }),
  /** How long a lock of an instance that died is honoured before another takes over. */
  LOCK_STALE_MS: Type.Integer({ minimum: 2000, maximum: 60_000, default: 4000 }),
  /** Set: the accounts live in this PostgreSQL database instead of ACCOUNT_DIR. */
  ...databaseConfigProperties,
});
export type DcuConfig = Static<typeof DcuConfigSchema>;

export function readDcuConfig(env?: Record<string, string | undefined>): DcuConfig {
  return loadConfig(DcuConfigSchema, env);
}
