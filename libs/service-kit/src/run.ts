import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';

export interface RunOptions {
  /** The app's name, as printed in `<name> listening on <url>`. */
  name: string;
  app: FastifyInstance;
  port: number;
  host: string;
  /** Runs once the server listens, with its real URL (e.g. to join the registry). */
  onListening?: (url: string) => Promise<void> | void;
  /** Runs first on shutdown, while the server still answers (e.g. to leave the registry). */
  beforeClose?: () => Promise<void> | void;
  /** How long a graceful close may take before the process exits anyway. */
  closeGraceMs?: number;
}

/**
 * Listens, announces readiness with the one line the launcher and tests wait for, and closes
 * with grace on SIGINT/SIGTERM: leave the registry, stop accepting, finish in-flight requests.
 */
export async function runService(options: RunOptions): Promise<string> {
  const { app, name } = options;
  await app.listen({ port: options.port, host: options.host });
  const url = listeningUrl(app);
  console.log(`${name} listening on ${url}`);
  closeWithGrace({ delay: options.closeGraceMs ?? 10_000, logger: app.log }, async ({ err, signal }) => {
    if (err) app.log.error({ err }, `${name} stopping after an unexpected error`);
    else app.log.info(`${name} stopping (${signal ?? 'manual'})`);
    await options.beforeClose?.();
    await app.close();
  });
  await options.onListening?.(url);
  return url;
}

/** The URL the server really listens on (its real port also when PORT=0). */
export function listeningUrl(app: FastifyInstance): string {
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('server is not listening on TCP');
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

/** Exits with a clear message when start-up fails (bad config, port in use). */
export function exitOnStartupError(name: string) {
  return (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`${name} failed to start: ${message}`);
    process.exit(1);
  };
}
