import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  AllServicesResponse,
  ErrorResponse,
  MAX_LIST_LIMIT,
  MAX_WATCH_WAIT_MS,
  REGISTRY_INDEX_HEADER,
  ServiceListQuery,
  ServiceListResponse,
  ServiceTypeParams,
  WatchQuery,
} from '@grantline/contracts';
import { describedResponse, HttpError } from '@grantline/service-kit';
import { Type } from '@sinclair/typebox';
import { matchesEtag, type Listing } from '../domain/listings';
import { ALL_TYPES } from '../plugins/instance-table';

const notModified = Type.Null({ description: 'The list has not changed since the ETag in `If-None-Match`.' });
const indexHeader = {
  [REGISTRY_INDEX_HEADER]: Type.String({ description: 'The index of the list: pass it as `index` to watch for a change.' }),
  etag: Type.String({ description: 'Weak: changes with the set of instances, not with heartbeats.' }),
};

/**
 * Discovery: open to anyone, live instances only. Lists are served from bodies serialized
 * once per change; `limit` draws a random few; `index` + `wait` hold the request until the
 * list changes (a watch); `If-None-Match` gets 304 while the set is the same.
 */
export const servicesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/services/:type',
    {
      schema: {
        tags: ['registry'],
        summary: 'Live instances of one service type (optionally a random few, or after a change)',
        description:
          'Live instances only; an unknown type has an empty list. `limit=N` answers with at most N ' +
          'of them chosen at random. `index=I&wait=MS` answers as soon as the list differs from the one ' +
          'whose `X-Registry-Index` was I, or after MS with the same list.',
        params: ServiceTypeParams,
        querystring: ServiceListQuery,
        response: {
          200: {
            ...describedResponse(ServiceListResponse, 'The live instances of the type (perhaps none).'),
            headers: indexHeader,
          },
          304: notModified,
          400: describedResponse(
            ErrorResponse,
            '`type` does not match `^[a-z][a-z0-9-]{0,62}$`, or `limit`, `index` or `wait` is malformed or out of range.',
          ),
        },
      },
    },
    // Not async: a lookup answers in the same turn, without a promise per request; only a
    // watch waits.
    (request, reply) => {
      const { type } = request.params;
      const { limit, watch } = readListQuery(request.query);
      const answer = () => {
        sendListing(request, reply, limit === undefined ? app.listings.ofType(type) : app.listings.sample(type, limit));
      };
      if (watch && watch.index === app.instances.indexOf(type) && watch.waitMs > 0) {
        return app.changes.wait(type, watch.waitMs, abortedWhenGone(reply)).then(answer);
      }
      answer();
    },
  );

  app.get(
    '/services',
    {
      schema: {
        tags: ['registry'],
        summary: 'Live instances of every service type',
        querystring: WatchQuery,
        response: {
          200: {
            ...describedResponse(AllServicesResponse, 'Live instances by service type.'),
            headers: indexHeader,
          },
          304: notModified,
          400: describedResponse(ErrorResponse, '`index` or `wait` is malformed or out of range.'),
        },
      },
    },
    async (request, reply) => {
      const watch = readWatch(request.query);
      if (watch && watch.index === app.instances.index && watch.waitMs > 0) {
        await app.changes.wait(ALL_TYPES, watch.waitMs, abortedWhenGone(reply));
      }
      return sendListing(request, reply, app.listings.everything());
    },
  );
};

function sendListing(request: FastifyRequest, reply: FastifyReply, listing: Listing) {
  reply.header(REGISTRY_INDEX_HEADER, String(listing.index)).header('etag', listing.etag);
  reply.header('cache-control', 'no-cache');
  if (matchesEtag(request.headers['if-none-match'], listing.etag)) return reply.status(304).send();
  // Already JSON: with this content type Fastify sends the bytes as they are.
  return reply.type('application/json; charset=utf-8').send(listing.body);
}

interface ListQuery {
  limit?: number;
  watch?: { index: number; waitMs: number };
}

function readListQuery(query: ServiceListQuery): ListQuery {
  const result: ListQuery = {};
  if (query.limit !== undefined) result.limit = inRange('limit', query.limit, 1, MAX_LIST_LIMIT);
  const watch = readWatch(query);
  if (watch) result.watch = watch;
  return result;
}

/** `index` alone answers at once (a plain read that also names the index the caller has). */
export function readWatch(query: { index?: string; wait?: string }): { index: number; waitMs: number } | undefined {
  const waitMs = query.wait === undefined ? undefined : inRange('wait', query.wait, 0, MAX_WATCH_WAIT_MS);
  if (query.index === undefined) {
    if (waitMs !== undefined) throw new HttpError(400, 'wait needs index: the X-Registry-Index of the list you have.');
    return undefined;
  }
  const index = inRange('index', query.index, 0, Number.MAX_SAFE_INTEGER);
  return { index, waitMs: waitMs ?? 0 };
}

function inRange(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new HttpError(400, `${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(text)}.`);
  }
  return value;
}

/** Fires when the client closes the connection before its answer (a response is per request). */
function abortedWhenGone(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => controller.abort());
  return controller.signal;
}
