import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  BearerHeaders,
  ErrorResponse,
  InstanceIdRequest,
  RegisterRequest,
  RegisterResponse,
} from '@grantline/contracts';
import { bearerToken, describedResponse, errorBody, HttpError } from '@grantline/service-kit';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RegistrationAuthority } from '../domain/registration-auth';

declare module 'fastify' {
  interface FastifyRequest {
    /** The bearer token of a membership request, once the onRequest check found it a credential. */
    presentedToken: string;
  }
}

export interface MembershipRoutesOptions {
  registryToken: string;
}

/**
 * Register, heartbeat and unregister: the writes, each behind REGISTRY_TOKEN or the
 * registration token of the instance's type (API.md, "Trust between services").
 */
export const membershipRoutes: FastifyPluginAsyncTypebox<MembershipRoutesOptions> = async (
  app,
  options,
) => {
  const authority = new RegistrationAuthority(options.registryToken);
  app.decorateRequest('presentedToken', '');
  // onRequest, before validation: without a credential a caller learns nothing, not even a 400.
  // A callback hook (no promise): it runs on every heartbeat.
  app.addHook('onRequest', (request, _reply, done) => {
    const presented = bearerToken(request.headers.authorization);
    if (presented === undefined) {
      return done(new HttpError(401, 'Missing "Authorization: Bearer <registration token>" header.'));
    }
    if (authority.classify(presented) === 'invalid') {
      return done(
        new HttpError(
          401,
          'The bearer token is neither REGISTRY_TOKEN nor a registration token (64 lowercase hex digits).',
        ),
      );
    }
    request.presentedToken = presented;
    done();
  });
  /** Refuses (403) a registration token of another type; REGISTRY_TOKEN acts for every type. */
  const requireActingFor = (request: FastifyRequest, type: string, action: string): void => {
    if (authority.allows(request.presentedToken, type)) return;
    request.log.warn({ type, action }, 'registration token of another type refused');
    throw new HttpError(
      403,
      `This registration token may not ${action} instances of type ${JSON.stringify(type)}: ` +
        "a type's registration token acts for that type only.",
      'WRONG_TYPE',
    );
  };
  const errors = {
    400: describedResponse(
      ErrorResponse,
      'The body does not match the schema (a bad `type`, `id` or `url`, or an unknown field).',
    ),
    401: describedResponse(ErrorResponse, 'The bearer token is missing, or is not a credential at all.'),
    403: describedResponse(
      ErrorResponse,
      "A registration token of another type: each type's token acts for that type only.",
    ),
  };
  const unknownId = describedResponse(
    ErrorResponse,
    'The registry does not know this id (it expired, was replaced, or the registry restarted): register again.',
  );
  const security = [{ registryToken: [] }];

  app.post(
    '/register',
    {
      schema: {
        tags: ['registry'],
        summary: 'Register an instance of a service type',
        security,
        headers: BearerHeaders,
        body: RegisterRequest,
        response: {
          201: describedResponse(
            RegisterResponse,
            'Registered (replacing an entry with the same type and url): heartbeat with this id every `heartbeatIntervalMs`.',
          ),
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const { type, url } = request.body;
      requireActingFor(request, type, 'register');
      if (!isHttpUrl(url))
        throw new HttpError(
          400,
          `url must be an absolute http: or https: URL, got ${JSON.stringify(url)}.`,
        );
      const entry = app.instances.register(type, url);
      request.log.info({ instanceId: entry.id, type, url }, 'instance registered');
      return reply.status(201).send({
        id: entry.id,
        heartbeatIntervalMs: app.heartbeatIntervalMs,
        ttlMs: app.instances.ttlMs,
      });
    },
  );

  app.post(
    '/heartbeat',
    {
      // Every instance, every interval: counted in /metrics, not logged one by one (the service
      // kit makes a request's logger only if something is logged).
      config: { quietLog: true },
      schema: {
        tags: ['registry'],
        summary: 'Keep an instance listed',
        description: 'An instance not heard from for `ttlMs` is no longer listed.',
        security,
        headers: BearerHeaders,
        body: InstanceIdRequest,
        response: {
          204: Type.Null({ description: 'Heartbeat recorded.' }),
          404: unknownId,
          ...errors,
        },
      },
    },
    // Synchronous (no promise to settle), so it returns nothing: the answer is sent here.
    (request, reply) => {
      const { id } = request.body;
      const type = app.instances.typeOf(id);
      if (type === undefined) {
        unknownInstance(reply, id);
        return;
      }
      requireActingFor(request, type, 'heartbeat');
      if (app.instances.heartbeat(id)) void reply.status(204).send(null);
      else unknownInstance(reply, id);
    },
  );

  app.post(
    '/unregister',
    {
      schema: {
        tags: ['registry'],
        summary: 'Remove an instance at once',
        description: 'What a service does on graceful shutdown, so clients stop picking it.',
        security,
        headers: BearerHeaders,
        body: InstanceIdRequest,
        response: {
          204: Type.Null({ description: 'Unregistered.' }),
          404: describedResponse(ErrorResponse, 'The registry does not know this id.'),
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const type = app.instances.typeOf(request.body.id);
      if (type === undefined) return unknownInstance(reply, request.body.id);
      requireActingFor(request, type, 'unregister');
      if (!app.instances.unregister(request.body.id)) return unknownInstance(reply, request.body.id);
      request.log.info({ instanceId: request.body.id }, 'instance unregistered');
      return reply.status(204).send(null);
    },
  );
};

/**
 * The 404 for an id the registry does not know, sent as an answer rather than thrown: when a
 * loaded registry lets instances expire, every one of their heartbeats lands here, and an
 * Error per miss (its stack captured, then the error handler) cost more than the heartbeat.
 */
function unknownInstance(reply: FastifyReply, id: string): FastifyReply {
  return reply.status(404).send(errorBody(404, `No live instance has id ${id}; register again.`));
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname.length > 0;
  } catch {
    return false;
  }
}
