import { Type } from '@sinclair/typebox';

/** The storage settings of a service that can keep its state in PostgreSQL (agency, dcu). */
export const databaseConfigProperties = {
  /** Unset: the file store. Holds a password, so its value is never shown, not even when wrong. */
  DATABASE_URL: Type.Optional(
    Type.String({
      pattern: '^postgres(ql)?://',
      writeOnly: true,
      description: 'postgres://user:password@host:port/database: keep all state in that database',
    }),
  ),
  /** Connections of this process to the database. */
  DATABASE_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 200, default: 10 }),
};
