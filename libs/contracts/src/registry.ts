import { Type, type Static } from '@sinclair/typebox';
import { Timestamp, Uuid } from './common';

export const SERVICE_TYPE_PATTERN = '^[a-z][a-z0-9-]{0,62}$';
export const ServiceType = Type.String({
  pattern: SERVICE_TYPE_PATTERN,
  description: 'Lower-case letters, digits and dashes, starting with a letter; at most 63.',
});

/** An absolute http: or https: URL; the registry checks the scheme beyond this pattern. */
export const ServiceUrl = Type.String({
  minLength: 8,
  maxLength: 2048,
  pattern: '^https?://[^\\s/?#]+[^\\s]*$',
  description: 'An absolute http: or https: URL where the instance answers.',
});

export const RegisterRequest = Type.Object(
  { type: ServiceType, url: ServiceUrl },
  { additionalProperties: false },
);
export type RegisterRequest = Static<typeof RegisterRequest>;

export const RegisterResponse = Type.Object(
  {
    id: Uuid,
    heartbeatIntervalMs: Type.Integer({ minimum: 1 }),
    ttlMs: Type.Integer({ minimum: 1 }),
  },
  { additionalProperties: false },
);
export type RegisterResponse = Static<typeof RegisterResponse>;

export const InstanceIdRequest = Type.Object({ id: Uuid }, { additionalProperties: false });
export type InstanceIdRequest = Static<typeof InstanceIdRequest>;

export const ServiceInstance = Type.Object(
  {
    id: Uuid,
    // Only URLs the registry accepted at registration; clients check lists against this.
    url: ServiceUrl,
    registeredAt: Timestamp,
    lastHeartbeatAt: Timestamp,
  },
  { additionalProperties: false },
);
export type ServiceInstance = Static<typeof ServiceInstance>;

export const ServiceTypeParams = Type.Object({ type: ServiceType });
export type ServiceTypeParams = Static<typeof ServiceTypeParams>;

export const ServiceListResponse = Type.Object(
  { type: Type.String(), instances: Type.Array(ServiceInstance) },
  { additionalProperties: false },
);
export type ServiceListResponse = Static<typeof ServiceListResponse>;

export const AllServicesResponse = Type.Object(
  { services: Type.Record(Type.String(), Type.Array(ServiceInstance)) },
  { additionalProperties: false },
);
export type AllServicesResponse = Static<typeof AllServicesResponse>;

/** What the registry dashboard polls: the live table plus the registry's clock and timings. */
export const DashboardState = Type.Object(
  {
    now: Type.Integer({ description: 'The registry clock, in ms since the epoch.' }),
    index: Type.Optional(Type.Integer({ description: 'The table index: pass it back as `index` to wait for a change.' })),
    watchers: Type.Optional(Type.Integer({ description: 'Requests waiting for a change right now (watches).' })),
    heartbeatIntervalMs: Type.Integer(),
    ttlMs: Type.Integer(),
    services: Type.Record(Type.String(), Type.Array(ServiceInstance)),
  },
  { additionalProperties: false },
);
export type DashboardState = Static<typeof DashboardState>;

/** Every answer to `GET /services/:type` carries the type's index here (see API.md, Registry). */
export const REGISTRY_INDEX_HEADER = 'x-registry-index';
export const MAX_LIST_LIMIT = 1000;
export const MAX_WATCH_WAIT_MS = 60_000;

/**
 * Query strings arrive as text and the services validate without type coercion, so numbers
 * are digit strings here; the registry checks their range and answers 400 with the limits.
 */
export const ServiceListQuery = Type.Object({
  limit: Type.Optional(
    Type.String({ pattern: '^[0-9]{1,10}$', description: 'At most this many live instances, chosen at random (1 to 1000).' }),
  ),
  index: Type.Optional(
    Type.String({ pattern: '^[0-9]{1,16}$', description: 'Watch: the `X-Registry-Index` of the list the caller has.' }),
  ),
  wait: Type.Optional(
    Type.String({ pattern: '^[0-9]{1,10}$', description: 'Watch: answer at the latest after this many ms (0 to 60000).' }),
  ),
});
export type ServiceListQuery = Static<typeof ServiceListQuery>;

/** The dashboard may watch the whole table the same way. */
export const WatchQuery = Type.Object({
  index: ServiceListQuery.properties.index,
  wait: ServiceListQuery.properties.wait,
});
export type WatchQuery = Static<typeof WatchQuery>;
