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

  readonly send = async (options: InjectOptions): Promise<void> => {
    let response;
    try {
      response = await this.app().inject(options);
    } catch (error) {
      // light-my-request refuses some requests before they reach the server (an invalid URL).
      if (
        error instanceof Error &&
        /Invalid URL|ERR_INVALID/i.test(`${error.message} ${(error as { code?: string }).code}`)
      )
        return;
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
  };

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
