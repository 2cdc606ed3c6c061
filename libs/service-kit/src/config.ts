import { Type, type Static, type TObject, type TProperties } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { withDevelopmentDefaults } from './development';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Reads environment variables once, at start-up, against a TypeBox schema: defaults are
 * applied, numbers are converted from their string form, and anything missing or malformed
 * stops the process with a message that names the variable. Without an explicit `env`, the
 * process's environment is read with the development defaults (see `development.ts`).
 */
export function loadConfig<T extends TObject>(
  schema: T,
  explicitEnv?: Record<string, string | undefined>,
): Static<T> {
  const env =
    explicitEnv ??
    withDevelopmentDefaults(schema, process.env, {
      report: (message) => process.stderr.write(`${message}\n`),
    });
  const picked: Record<string, unknown> = {};
  for (const name of Object.keys(schema.properties)) {
    const raw = env[name];
    if (raw !== undefined && raw !== '') picked[name] = raw;
  }
  const candidate = Value.Convert(schema, Value.Default(schema, picked));
  const errors = [...Value.Errors(schema, candidate)];
  if (errors.length > 0) {
    const problems = errors.map((error) => {
      const variable = error.path.replace(/^\//, '') || '(config)';
      const missing = picked[variable] === undefined && (schema.required ?? []).includes(variable);
      if (missing) return `${variable} is required but not set`;
      // A secret's value never reaches a log, not even a wrong one.
      const secret =
        (schema.properties[variable] as { writeOnly?: boolean } | undefined)?.writeOnly === true;
      const shown = secret ? '(secret, not shown)' : JSON.stringify(String(picked[variable] ?? ''));
      return `${variable}=${shown}: ${error.message}`;
    });
    throw new ConfigError(`invalid configuration: ${[...new Set(problems)].join('; ')}`);
  }
  return candidate as Static<T>;
}

/** Settings every service shares (see API.md, "Processes and configuration"). */
export function serviceConfigProperties(defaultPort: number) {
  return {
    PORT: Type.Integer({ minimum: 0, maximum: 65535, default: defaultPort }),
    HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
    LOG_LEVEL: Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) =>
        Type.Literal(level),
      ),
      { default: 'info' },
    ),
  } satisfies TProperties;
}

export const Secret = (description: string) =>
  Type.String({
    minLength: 16,
    writeOnly: true,
    description: `${description} (at least 16 characters)`,
  });

/** One registry URL, or several comma-separated (API.md, Registry). */
export const RegistryUrl = Type.String({
  pattern: '^https?://[^,\\s]+(\\s*,\\s*https?://[^,\\s]+)*$',
  default: 'http://127.0.0.1:9000',
});

/** Settings of a service that lists itself in the registry (agency, dcu). */
export const registryMemberProperties = {
  REGISTRY_URL: RegistryUrl,
  REGISTRY_TOKEN: Secret('the secret that lets a service register'),
  /** The URL others should use, when it differs from the listening one (containers, proxies). */
  ADVERTISED_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  /** Every exchange with another service ends within this, headers and body together. */
  PEER_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 10_000 }),
  /** The most of another service's answer that is read; a peer that sends more has failed. */
  PEER_MAX_ANSWER_BYTES: Type.Integer({ minimum: 1024, maximum: 1024 ** 3, default: 1024 * 1024 }),
} satisfies TProperties;

/** The registry client's bounds on calls to other services, from a member's config. */
export function peerLimits(config: { PEER_TIMEOUT_MS: number; PEER_MAX_ANSWER_BYTES: number }) {
  return { timeoutMs: config.PEER_TIMEOUT_MS, maxAnswerBytes: config.PEER_MAX_ANSWER_BYTES };
}
