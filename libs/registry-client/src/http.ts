import { Pool } from 'undici';

export interface Logger {
  debug(obj: unknown, msg?: string): void;
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {} };

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';
  path: string;
  headers?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
  timeoutMs?: number;
  /** Aborts the request (a long watch when its client closes). */
  signal?: AbortSignal;
}

export interface HttpResponse<T = unknown> {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON, or undefined for an empty body. */
  body: T;
}

/** Failures where the request may never have reached the application. */
const CONNECTION_ERROR_CODES = new Set([
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

/** One undici connection pool per origin, created on first use and closed together. */
export class PoolSet {
  private readonly pools = new Map<string, Pool>();

  constructor(private readonly connectionsPerOrigin = 64) {}

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

  async request<T = unknown>(origin: string, request: HttpRequest): Promise<HttpResponse<T>> {
    const timeoutMs = request.timeoutMs ?? 5_000;
    const hasBody = request.body !== undefined;
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
      ...(request.signal ? { signal: request.signal } : {}),
    });
    const text = await response.body.text();
    let body: unknown = undefined;
    if (text.length > 0) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    return { statusCode: response.statusCode, headers: response.headers, body: body as T };
  }
}

export function originOf(url: string): string {
  return new URL(url).origin;
}
