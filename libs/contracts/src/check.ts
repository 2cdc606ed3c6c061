import { FormatRegistry, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** What `Date.prototype.toISOString` makes, and what the contract promises for times. */
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

// TypeBox checks formats only once they are registered (Fastify's Ajv has its own).
if (!FormatRegistry.Has('uuid')) FormatRegistry.Set('uuid', (value) => UUID.test(value));
if (!FormatRegistry.Has('date-time')) {
  FormatRegistry.Set('date-time', (value) => ISO_TIMESTAMP.test(value) && !Number.isNaN(Date.parse(value)));
}

export interface AnswerChecker<T extends TSchema> {
  /** True when `value` matches the contract. */
  check(value: unknown): value is Static<T>;
  /** Why `value` does not match (a few paths, never the value itself), or undefined. */
  problems(value: unknown): string | undefined;
}

/**
 * A compiled check of a peer's answer against its contract: what a service does before it
 * believes or passes on anything another process sent (API.md, "Trust between services").
 * The problems name paths and rules only, so they are safe to log whatever the peer sent.
 */
export function answerChecker<T extends TSchema>(schema: T): AnswerChecker<T> {
  const compiled = TypeCompiler.Compile(schema);
  return {
    check: (value): value is Static<T> => compiled.Check(value),
    problems(value) {
      if (compiled.Check(value)) return undefined;
      const found: string[] = [];
      for (const error of compiled.Errors(value)) {
        found.push(`${error.path || '(body)'}: ${error.message}`);
        if (found.length === 3) break;
      }
      return found.join('; ');
    },
  };
}
