export { RegistryClient, NoInstanceError, UncertainOutcomeError } from './client';
export type { RegistryClientOptions, CallRequest, CallResponse } from './client';
export { Membership } from './membership';
export type { MembershipState } from './membership';
export { isConnectionError, PoolSet } from './http';
export type { HttpRequest, HttpResponse, Logger } from './http';
export { backoffDelay, jitter, sleep } from './backoff';
