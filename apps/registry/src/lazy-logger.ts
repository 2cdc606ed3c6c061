import type { FastifyBaseLogger } from 'fastify';

type Bindings = Parameters<FastifyBaseLogger['child']>[0];
type ChildOptions = Parameters<FastifyBaseLogger['child']>[1];
type Log = (...args: unknown[]) => void;

/**
 * A request's logger that becomes a real (pino) child only when something is logged. Fastify
 * makes a child logger for every request, which costs a few microseconds (the bindings are
 * serialized at once); a heartbeat that succeeds logs nothing, and there are 10,000 a second.
 * Whatever is logged carries the same bindings (the request id) as before.
 */
class LazyChildLogger {
  private real: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildOptions,
  ) {}

  get level(): string {
    return this.real?.level ?? this.options?.level ?? this.parent.level;
  }

  set level(level: string) {
    this.logger().level = level;
  }

  fatal(...args: unknown[]): void {
    (this.logger().fatal as Log)(...args);
  }
  error(...args: unknown[]): void {
    (this.logger().error as Log)(...args);
  }
  warn(...args: unknown[]): void {
    (this.logger().warn as Log)(...args);
  }
  info(...args: unknown[]): void {
    (this.logger().info as Log)(...args);
  }
  debug(...args: unknown[]): void {
    (this.logger().debug as Log)(...args);
  }
  trace(...args: unknown[]): void {
    (this.logger().trace as Log)(...args);
  }
  silent(...args: unknown[]): void {
    (this.logger().silent as Log)(...args);
  }
  child(bindings: Bindings, options?: ChildOptions): FastifyBaseLogger {
    return this.logger().child(bindings, options);
  }

  private logger(): FastifyBaseLogger {
    this.real ??= this.parent.child(this.bindings, this.options);
    return this.real;
  }
}

/** A route's `childLoggerFactory`: request loggers made on first use (see LazyChildLogger). */
export function lazyChildLogger(
  logger: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildOptions,
): FastifyBaseLogger {
  return new LazyChildLogger(logger, bindings, options) as unknown as FastifyBaseLogger;
}
