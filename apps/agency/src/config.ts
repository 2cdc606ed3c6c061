import { Type, type Static } from '@sinclair/typebox';
import {
  DataFolder,
  loadConfig,
  registryMemberProperties,
  Secret,
  serviceConfigProperties,
} from '@grantline/service-kit';
import { databaseConfigProperties } from '@grantline/postgres';
import { MAX_AMOUNT_CENTS } from '@grantline/contracts';

export const AgencyConfigSchema = Type.Object({
  ...serviceConfigProperties(9001),
  ...registryMemberProperties,
  SERVICE_TOKEN: Secret('the secret the agency shows the DCU to open accounts'),
  /** Where decisions and the budget are kept; instances sharing it share one budget. */
  AGENCY_DIR: DataFolder('agency_files', 'where decisions and the budget are kept'),
  /** The budget in cents; unset means unlimited. */
  AGENCY_BUDGET_CENTS: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_AMOUNT_CENTS })),
  /** How long a lock of an instance that died is honoured before another takes over. */
  LOCK_STALE_MS: Type.Integer({ minimum: 2000, maximum: 60_000, default: 4000 }),
  /** How often the agency looks for reservations whose account it must still open. */
  RECOVERY_INTERVAL_MS: Type.Integer({ minimum: 10, maximum: 60_000, default: 1000 }),
  /** Set: decisions and the budget live in this PostgreSQL database instead of AGENCY_DIR. */
  ...databaseConfigProperties,
});
export type AgencyConfig = Static<typeof AgencyConfigSchema>;

export function readAgencyConfig(env?: Record<string, string | undefined>): AgencyConfig {
  return loadConfig(AgencyConfigSchema, env);
}
