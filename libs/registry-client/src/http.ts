import { Pool, type Dispatcher } from 'undici';

export interface Logger {
  debug(obj: unknown, msg?: string): void;
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {} };

/** Every exchange with a peer ends within this, headers and body together (API.md). */
export const DEFAULT_PEER_TIMEOUT_MS = 10_000;
/** The most of a peer's answer that is ever read (API.md). */
export const DEFAULT_MAX_ANSWER_BYTES = 1024 * 1024;

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';
  path: string;
  headers?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
  /**
   * The total deadline of the exchange: connecting, sending, the headers and the whole body.
   * Default: the PoolSet's (10 s unless configured).
   */
  timeoutMs?: number;
  /** Aborts the request (a long watch when its client closes). */
  signal?: AbortSignal;
  /** The largest answer body read; a peer that sends more fails. Default: the PoolSet's (1 MiB). */
  maxAnswerBytes?: number;
  /**
   * Why an answer cannot be believed (say, it does not match its contract), or undefined when
   * it can. An answer that fails the check fails like a broken connection: the instance is
   * avoided and, where the request is safe to repeat, another one is tried.
   */
  check?: (response: HttpResponse) => string | undefined;
}

export interface PeerLimits {
  /** Default total deadline of one exchange. */
  timeoutMs?: number;
  /** Default cap on the size of an answer body. */
  maxAnswerBytes?: number;
}

export interface HttpResponse<T = unknown> {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON, or undefined for an empty body. */
  body: T;
}

/**
 * A peer broke the rules of a call between services (API.md, "Trust between services"): it
 * answered too slowly, too much, or something that is not what the contract says. Counts as a
 * failed instance; the message never carries what the peer sent.
 */
export class PeerAnswerError extends Error {
  override name = 'PeerAnswerError';
  constructor(
    readonly code: 'GRANTLINE_PEER_DEADLINE' | 'GRANTLINE_ANSWER_TOO_LARGE' | 'GRANTLINE_BAD_ANSWER',
    /** The peer that broke the rules. */
    readonly origin: string,
    message: string,
  ) {
    super(message.length > 300 ? `${message.slice(0, 300)}…` : message);
  }
}

/**
 * Failures of a peer: no answer (the request may never have reached the application), or
 * none that can be used.
 */
const CONNECTION_ERROR_CODES = new Set([
  'GRANTLINE_PEER_DEADLINE',
  'GRANTLINE_ANSWER_TOO_LARGE',
  'GRANTLINE_BAD_ANSWER',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
]);

export function isConnectionError(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; current && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECTION_ERROR_CODES.has(code)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * One undici connection pool per origin, created on first use and closed together. Every
 * request is bounded: a total deadline and a cap on the answer's size.
 */
export class PoolSet {
  private readonly pools = new Map<string, Pool>();
  /** The default total deadline of one exchange. */
  readonly timeoutMs: number;
  /** The default cap on an answer's size. */
  readonly maxAnswerBytes: number;

  constructor(
    private readonly connectionsPerOrigin = 64,
    limits: PeerLimits = {},
  ) {
    this.timeoutMs = limits.timeoutMs ?? DEFAULT_PEER_TIMEOUT_MS;
    this.maxAnswerBytes = limits.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES;
  }

  get(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, {
        connections: this.connectionsPerOrigin,
        keepAliveTimeout: 4_000,
        connectTimeout: 2_000,
      });
      this.pools.set(origin, pool);
    }
    return pool;
  }

  /**
   * Drops the pool of an origin that failed, so the next request starts afresh. The old pool
   * is closed gracefully: requests still in flight on it (perhaps a POST that is not safe to
   * repeat) finish on their own rather than being aborted by someone else's failure.
   */
  discard(origin: string): void {
    const pool = this.pools.get(origin);
    if (!pool) return;
    this.pools.delete(origin);
    void pool.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.allSettled(pools.map((pool) => pool.close()));
  }

  /**
   * One exchange with a peer. undici's own timeouts count only idle gaps (a peer that sends a
   * byte a second never trips them), so a timer aborts the whole exchange at its deadline, and
   * the body is streamed and counted, never buffered beyond the cap.
   */
  async request<T = unknown>(origin: string, request: HttpRequest): Promise<HttpResponse<T>> {
    const timeoutMs = request.timeoutMs ?? this.timeoutMs;
    const maxAnswerBytes = request.maxAnswerBytes ?? this.maxAnswerBytes;
    const hasBody = request.body !== undefined;
    // Aborted at the deadline, or by the caller's own signal (a watch when its client closes);
    // a listener removed at the end, rather than AbortSignal.any, leaves nothing behind.
    const exchange = new AbortController();
    const timer = setTimeout(
      () =>
        exchange.abort(
          new PeerAnswerError('GRANTLINE_PEER_DEADLINE', origin, `${origin} did not answer in full within ${timeoutMs} ms`),
        ),
      timeoutMs,
    );
    const onCallerAbort = () => exchange.abort(request.signal?.reason);
    if (request.signal?.aborted) onCallerAbort();
    else request.signal?.addEventListener('abort', onCallerAbort, { once: true });
    try {
      const response = await this.get(origin).request({
        method: request.method,
        path: request.path,
        headers: {
          accept: 'application/json',
          ...(hasBody ? { 'content-type': 'application/json' } : {}),
          ...request.headers,
        },
        body: hasBody ? JSON.stringify(request.body) : undefined,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: exchange.signal,
      });
      const text = await readCapped(response, maxAnswerBytes, origin);
      let body: unknown = undefined;
      if (text.length > 0) {
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
      }
      const answer: HttpResponse<T> = { statusCode: response.statusCode, headers: response.headers, body: body as T };
      const problem = request.check?.(answer);
      if (problem !== undefined) {
        throw new PeerAnswerError('GRANTLINE_BAD_ANSWER', origin, `${origin} answered ${response.statusCode} against the contract: ${problem}`);
      }
      return answer;
    } catch (error) {
      // Whatever undici made of an abort, say why: the deadline, or the caller's own signal.
      if (exchange.signal.aborted && !(error instanceof PeerAnswerError && error.code !== 'GRANTLINE_PEER_DEADLINE')) {
        throw exchange.signal.reason;
      }
      throw error;
    } finally {
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onCallerAbort);
    }
  }
}

/** The answer body as text, read chunk by chunk and abandoned (socket closed) past `maxBytes`. */
async function readCapped(response: Dispatcher.ResponseData, maxBytes: number, origin: string): Promise<string> {
  const tooLarge = (what: string) =>
    new PeerAnswerError('GRANTLINE_ANSWER_TOO_LARGE', origin, `${origin} sent ${what}, more than the ${maxBytes} bytes an answer may have`);
  const declared = Number(response.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    response.body.destroy();
    throw tooLarge(`${declared} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    const bytes = chunk as Buffer;
    size += bytes.length;
    if (size > maxBytes) {
      response.body.destroy();
      throw tooLarge('an answer');
    }
    chunks.push(bytes);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

export function originOf(url: string): string {
  return new URL(url).origin;
}
