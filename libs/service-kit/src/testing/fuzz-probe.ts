import fc from 'fast-check';
import type { FastifyInstance, InjectOptions } from 'fastify';

/**
 * What every fuzz test of a service asks of each generated request: never a 5xx, and every
 * 4xx in the contract's `{ statusCode, error, message }` shape. `send` throws on a 5xx (so
 * fast-check shrinks it) and records a badly shaped 4xx once per kind in `badShapes`.
 */
export class FuzzProbe {
  requests = 0;
  readonly statuses = new Map<number, number>();
  /** 4xx answers that are not the contract's error shape (one example per kind). */
  readonly badShapes = new Map<string, string>();

  constructor(private readonly app: () => FastifyInstance) {}

  readonly send = async (options: InjectOptions): Promise<number | undefined> => {
    let response;
    try {
      response = await this.app().inject(options);
    } catch (error) {
      // light-my-request refuses some requests before they reach the server (an invalid URL).
      if (
        error instanceof Error &&
        /Invalid URL|ERR_INVALID/i.test(`${error.message} ${(error as { code?: string }).code}`)
      )
        return undefined;
      throw error;
    }
    this.requests += 1;
    this.statuses.set(response.statusCode, (this.statuses.get(response.statusCode) ?? 0) + 1);
    if (response.statusCode >= 500) {
      throw new Error(
        `${options.method} ${options.url} answered ${response.statusCode}: ${response.body.slice(0, 500)}`,
      );
    }
    if (response.statusCode >= 400 && options.method !== 'HEAD') {
      let body:
        { statusCode?: unknown; error?: unknown; message?: unknown; code?: unknown } | undefined;
      try {
        body = response.json();
      } catch {
        body = undefined;
      }
      const fine =
        body !== undefined &&
        body.statusCode === response.statusCode &&
        typeof body.error === 'string' &&
        typeof body.message === 'string' &&
        body.message.length > 0;
      if (!fine) {
        const kind = `${response.statusCode} ${typeof body?.code === 'string' ? body.code : ''}`;
        if (!this.badShapes.has(kind)) {
          this.badShapes.set(
            kind,
            `${options.method} ${options.url} -> ${response.body.slice(0, 200)}`,
          );
        }
      }
    }
    return response.statusCode;
  };

  /**
   * `send`, failing on the very request whose 4xx is not in the contract's shape too (not only
   * on a 5xx), so fast-check shrinks it and names it. Resolves to the status (undefined when
   * light-my-request refused the request before the server saw it).
   */
  readonly check = async (options: InjectOptions): Promise<number | undefined> => {
    const badShapesBefore = this.badShapes.size;
    const status = await this.send(options);
    if (this.badShapes.size > badShapesBefore) {
      throw new Error(
        `${options.method} ${options.url}: an error not in the contract's shape: ${[...this.badShapes.values()].at(-1)}`,
      );
    }
    return status;
  };

  /** Forgets the tally (for a suite that runs once per store). */
  reset(): void {
    this.requests = 0;
    this.statuses.clear();
    this.badShapes.clear();
  }

  /** One line for the test log: how many requests, and their statuses. */
  summary(service: string): string {
    return `${service} fuzz: ${this.requests} requests, statuses ${JSON.stringify(Object.fromEntries([...this.statuses].sort()))}`;
  }
}

/** Percent-encodes the UTF-8 bytes of `text` (lone surrogates become U+FFFD) except `keep`. */
export function percentEncode(text: string, keep = /[A-Za-z0-9\-_.~]/): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const char = String.fromCharCode(byte);
    out +=
      byte < 0x80 && keep.test(char)
        ? char
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Header values a client can really send (no CR, LF or NUL). */
export const headerSafe = (text: string) =>
  text.replace(/[\r\n\0]/g, '').replace(/[^\t\x20-\x7e\x80-\xff]/g, '?');

// ---- generators every service's fuzz test shares ---------------------------------------

/** Strings that have broken parsers, loggers and templates somewhere. */
export const HOSTILE_STRINGS: readonly string[] = [
  '',
  ' ',
  '\u0000',
  '\uFEFF',
  '\u202E',
  '😀',
  '\uD800',
  'null',
  '<script>alert(1)</script>',
  '${jndi:ldap://x}',
];

/**
 * Hostile text: random (UTF-16, graphemes, binary), the strings above plus a service's own
 * (`extra`), and long runs of `longChar` from `longFrom` to 20,000 characters.
 */
export function hostileText(
  extra: readonly string[] = [],
  { longFrom = 256, longChar = 'x' }: { longFrom?: number; longChar?: string } = {},
): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
    fc.string({ unit: 'binary', maxLength: 20 }),
    fc.constantFrom(...HOSTILE_STRINGS, ...extra),
    fc.integer({ min: longFrom, max: 20_000 }).map((length) => longChar.repeat(length)),
  );
}

/** Numbers a JSON integer field of cents or days must survive: zero, signs, fractions, beyond 2^53. */
export const hugeNumbers = fc.constantFrom(
  0,
  -0,
  -1,
  1.5,
  0.1,
  1e12,
  1e12 + 1,
  2 ** 53,
  2 ** 53 + 2,
  Number.MAX_SAFE_INTEGER,
  -Number.MAX_SAFE_INTEGER,
  1e21,
  1e300,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
);

/** JSON values that are not a number at all (numeric strings included). */
export const notANumber = fc.oneof(
  fc.string(),
  fc.integer().map(String),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
);

/** Numbers that are not integers (NaN and ±Infinity become null in JSON). */
export const notAnInteger = fc.double().filter((value) => !Number.isInteger(value));

/** JSON values that are not a string. */
export const notAString = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
);

/**
 * One path parameter made of `value`, sent raw (only what cannot stand in a request line is
 * encoded), encoded, double encoded, or encoded with its slashes left raw.
 */
export function pathParameter(value: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc
    .tuple(value, fc.constantFrom('raw', 'encoded', 'double', 'slashes'))
    .map(([text, how]) => {
      switch (how) {
        case 'encoded':
          return percentEncode(text);
        case 'double':
          return percentEncode(percentEncode(text));
        case 'slashes':
          return percentEncode(text).replace(/%2F/gi, '/');
        default:
          return percentEncode(text, /[\x21-\x7e]/).replace(/[?#]/g, (c) => percentEncode(c));
      }
    });
}

/** Content-Type header values: mostly JSON, else absent, near-JSON, not JSON, empty or repeated. */
export const contentTypeHeader: fc.Arbitrary<string | string[] | undefined> = fc.oneof(
  { weight: 6, arbitrary: fc.constant('application/json') },
  { weight: 1, arbitrary: fc.constant(undefined) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'application/json; charset=latin1',
      'application/json; charset=utf-16',
      'APPLICATION/JSON',
      'application/json-patch+json',
      'application/vnd.api+json',
      'text/plain',
      'text/html',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/octet-stream',
      'application/xml',
      '*/*',
      '',
      ';',
      'application/json;;;',
    ),
  },
  { weight: 1, arbitrary: fc.constant<string[]>(['application/json', 'text/plain']) },
);

/** Bodies that are not JSON, or JSON a parser may choke on; `own` adds a service's tricks. */
export function notQuiteJson(own: readonly string[]): fc.Arbitrary<string | Buffer> {
  return fc.oneof(
    fc.constantFrom(
      '',
      '{',
      '}',
      'null',
      'true',
      '[]',
      '"x"',
      '1',
      `${'['.repeat(5_000)}${']'.repeat(5_000)}`,
      `${'{"a":'.repeat(2_000)}1${'}'.repeat(2_000)}`,
      ...own,
    ),
    fc.string({ maxLength: 200 }),
    fc.string({ unit: 'binary', maxLength: 100 }),
    fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
  );
}
