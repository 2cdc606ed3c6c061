import type { FastifyInstance } from 'fastify';
import { runService } from './run';

/**
 * What a service needs of the registry: to be listed once it listens, and unlisted before it
 * closes. The registry client (`RegistryClient`: join, close) is one; the kit needs no more of
 * it, so it does not depend on the client.
 */
export interface RegistryListing {
  join(type: string, url: string): unknown;
  close(): Promise<void>;
}

export interface RegisteredServiceOptions {
  name: string;
  /** The service type others look up, e.g. "dcu". */
  type: string;
  app: FastifyInstance;
  port: number;
  host: string;
  registry: RegistryListing;
  advertisedUrl?: string | undefined;
  closeGraceMs?: number;
}

/**
 * Runs a service that others find through the registry: joins once listening, and on
 * shutdown leaves the registry first (so clients stop picking it), then drains requests.
 */
export function runRegisteredService(options: RegisteredServiceOptions): Promise<string> {
  return runService({
    name: options.name,
    app: options.app,
    port: options.port,
    host: options.host,
    ...(options.closeGraceMs === undefined ? {} : { closeGraceMs: options.closeGraceMs }),
    onListening: (url) => {
      options.registry.join(options.type, options.advertisedUrl ?? url);
    },
    beforeClose: () => options.registry.close(),
  });
}
