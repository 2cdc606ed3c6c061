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
    url: Type.String(),
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
    heartbeatIntervalMs: Type.Integer(),
    ttlMs: Type.Integer(),
    services: Type.Record(Type.String(), Type.Array(ServiceInstance)),
  },
  { additionalProperties: false },
);
export type DashboardState = Static<typeof DashboardState>;
