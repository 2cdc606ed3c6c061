import { randomUUID } from 'node:crypto';
import {
  BearerHeaders,
  OpenAccountRequest,
  ServiceTypeParams,
  type ServiceInstance,
} from '@grantline/contracts';
import { RegistryClient } from '@grantline/registry-client';
import { accountIdFor, bearerToken, createServer, errorBody, listeningUrl, secretsEqual } from '@grantline/service-kit';

/**
 * Real HTTP stand-ins for the registry and the DCU, so the agency's tests drive a real
 * RegistryClient over the wire (the request's encoding, headers and Idempotency-Key included)
 * without importing another app's code.
 */

export const serviceToken = 'test-service-token-0123456789';

/** `GET /services/:type`, answering from a table the test fills. */
export async function startFakeRegistry() {
  const listed = new Map<string, string[]>();
  const app = createServer({ fastify: { logger: false } });
  app.get('/services/:type', { schema: { params: ServiceTypeParams } }, async (request) => {
    const now = new Date().toISOString();
    const instances: ServiceInstance[] = (listed.get(request.params.type) ?? []).map((url) => ({
      id: randomUUID(),
      url,
      registeredAt: now,
      lastHeartbeatAt: now,
    }));
    return { type: request.params.type, instances };
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = listeningUrl(app);
  return {
    url,
    list: (type: string, urls: string[]) => listed.set(type, urls),
    /** A client of this registry that retries quickly, as a test can afford. */
    client: () => new RegistryClient({ registryUrl: url, refreshIntervalMs: 200, quarantineMs: 5_000 }),
    close: () => app.close(),
  };
}

export type DcuBehaviour =
  /** Opens accounts as the real DCU does: the same proposalId answers with the same account. */
  | 'normal'
  /** Answers 201 with something that is not an account. */
  | 'garbage'
  /** Answers 201 with an owner key but an account id that is not a UUID. */
  | 'almost'
  /** Answers 500 to everything. */
  | 'broken'
  /** Answers 503: its storage cannot take a write, nothing was changed. */
  | 'storage-down'
  /** Refuses every service token. */
  | 'refusing';

interface OpenedAccount {
  terms: string;
  accountId: string;
  ownerKey: string;
}

/** `POST /accounts` as API.md describes it, on a real listener, counting what it opens. */
export async function startFakeDcu(behaviour: DcuBehaviour = 'normal') {
  const byProposalId = new Map<string, OpenedAccount>();
  const received: { idempotencyKey: string | undefined; body: OpenAccountRequest }[] = [];
  /** The x-request-id of each call (a fresh one when the caller sent none). */
  const requestIds: string[] = [];
  const app = createServer({ fastify: { logger: false } });
  app.post(
    '/accounts',
    { schema: { headers: BearerHeaders, body: OpenAccountRequest } },
    async (request, reply) => {
      const idempotencyKey = request.headers['idempotency-key'];
      received.push({ idempotencyKey: typeof idempotencyKey === 'string' ? idempotencyKey : undefined, body: request.body });
      requestIds.push(request.id);
      const presented = bearerToken(request.headers.authorization);
      if (behaviour === 'refusing' || presented === undefined || !secretsEqual(presented, serviceToken)) {
        return reply.status(401).send(errorBody(401, 'The service token is not valid.'));
      }
      if (behaviour === 'broken') return reply.status(500).send(errorBody(500, 'disk on fire'));
      if (behaviour === 'storage-down') return reply.status(503).send(errorBody(503, 'storage unavailable', 'EIO'));
      if (behaviour === 'garbage') return reply.status(201).send({ hello: 'world', accountId: 42 });
      if (behaviour === 'almost') {
        return reply.status(201).send({ accountId: 'account-7', ownerKey: 'owner-key-that-must-not-be-logged' });
      }
      const { proposalId, ...rest } = request.body;
      const terms = JSON.stringify(rest);
      const known = byProposalId.get(proposalId);
      if (known && known.terms !== terms) {
        return reply.status(409).send(errorBody(409, 'This proposalId was opened with other terms.'));
      }
      const account = known ?? { terms, accountId: accountIdFor(proposalId), ownerKey: `owner-${randomUUID()}` };
      byProposalId.set(proposalId, account);
      return reply.status(201).send({ accountId: account.accountId, ownerKey: account.ownerKey });
    },
  );
  await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    url: listeningUrl(app),
    received,
    requestIds,
    get accountsOpened() {
      return byProposalId.size;
    },
    close: () => app.close(),
  };
}

/** A URL where nothing listens: a port that was free a moment ago. */
export async function deadUrl(): Promise<string> {
  const app = createServer({ fastify: { logger: false } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = listeningUrl(app);
  await app.close();
  return url;
}
