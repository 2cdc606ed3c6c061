export { RegistryClient, NoInstanceError, UncertainOutcomeError } from './client';
export type { RegistryClientOptions, CallRequest, CallResponse } from './client';
export { Membership } from './membership';
export type { MembershipState } from './membership';
export {
  DEFAULT_MAX_ANSWER_BYTES,
  DEFAULT_PEER_TIMEOUT_MS,
  isConnectionError,
  PeerAnswerError,
  PoolSet,
} from './http';
export type { HttpRequest, HttpResponse, Logger, PeerLimits } from './http';
export { backoffDelay, jitter, sleep } from './backoff';
