import { Type, type Static } from '@sinclair/typebox';

/** The one error shape every service answers with (Fastify's own shape, kept on purpose). */
export const ErrorResponse = Type.Object(
  {
    statusCode: Type.Integer({ minimum: 400, maximum: 599 }),
    error: Type.String({ description: 'The HTTP reason phrase, e.g. "Bad Request".' }),
    message: Type.String({ description: 'What went wrong, in words a person can act on.' }),
    code: Type.Optional(Type.String({ description: 'A stable machine-readable code.' })),
  },
  { title: 'ErrorResponse', additionalProperties: false },
);
export type ErrorResponse = Static<typeof ErrorResponse>;

export const HealthResponse = Type.Object(
  { status: Type.Literal('ok') },
  { additionalProperties: false },
);
export type HealthResponse = Static<typeof HealthResponse>;

export const Uuid = Type.String({ format: 'uuid', description: 'A UUID made by the system.' });

/**
 * Text a person writes (titles, names, notes): any characters but NUL, which PostgreSQL's text
 * cannot hold; refused at the door with a 400, so every store answers it the same way.
 */
export const TEXT_PATTERN = '^[^\\u0000]*$';
export function Text(options: { minLength?: number; maxLength: number }) {
  return Type.String({ ...options, pattern: TEXT_PATTERN });
}

/** ISO 8601 in UTC, as produced by `Date.prototype.toISOString`. */
export const Timestamp = Type.String({ format: 'date-time' });

/** The largest amount any request may carry: 10 billion euro, far below 2^53. */
export const MAX_AMOUNT_CENTS = 1_000_000_000_000;

/** Integer cents; never a string or boolean coerced into a number (services disable coercion). */
export const AmountCents = Type.Integer({ minimum: 1, maximum: MAX_AMOUNT_CENTS });
export const BalanceCents = Type.Integer({ minimum: 0, maximum: MAX_AMOUNT_CENTS });

/** 1 to 255 printable ASCII characters (space excluded at the ends by the pattern). */
export const IDEMPOTENCY_KEY_PATTERN = '^[\\x21-\\x7E]([\\x20-\\x7E]{0,253}[\\x21-\\x7E])?$';
export const IdempotencyKey = Type.String({
  minLength: 1,
  maxLength: 255,
  pattern: IDEMPOTENCY_KEY_PATTERN,
  description: 'Makes a request safe to retry: the same key is applied at most once.',
});

/** Bearer credentials; the value is checked by the route, the shape here only documents it. */
export const BearerHeaders = Type.Object({
  authorization: Type.Optional(Type.String({ description: '`Bearer <secret>`' })),
});

export const IdempotentBearerHeaders = Type.Object({
  authorization: Type.Optional(Type.String({ description: '`Bearer <secret>`' })),
  'idempotency-key': IdempotencyKey,
});

export const OptionalIdempotentBearerHeaders = Type.Object({
  authorization: Type.Optional(Type.String({ description: '`Bearer <secret>`' })),
  'idempotency-key': Type.Optional(IdempotencyKey),
});

export const OptionalIdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(IdempotencyKey),
});

/** The header name, as clients send it. */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';

/**
 * A service that is draining for shutdown answers 503 with this header, before any handler
 * ran: a caller may then ask another instance, whatever the method.
 */
export const DRAINING_HEADER = 'x-draining';
