import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Type, type TObject } from '@sinclair/typebox';

/**
 * Development defaults: on a clone, with nothing exported, `npx nx run-many -t serve` must just
 * work. When NODE_ENV is unset or `development`, a secret the environment does not give is
 * taken from `.dev-secrets.json` at the repository root (made once, mode 0600, git-ignored), so
 * every service of the clone shares it; and a data folder left at its default lands at the
 * repository root, whichever folder the service was started in. In any other NODE_ENV
 * (`production`, `test`) nothing is generated and a missing secret stops the service.
 */

export const developmentSecretsFileName = '.dev-secrets.json';

/** Marks a folder setting whose relative default means "at the repository root" in development. */
const dataFolderMark = 'x-grantline-data-folder';

/** A data folder setting; its default is resolved against the repository root in development. */
export const DataFolder = (defaultName: string, description: string) =>
  Type.String({ minLength: 1, default: defaultName, description, [dataFolderMark]: true });

export function isDevelopment(env: Record<string, string | undefined>): boolean {
  return env.NODE_ENV === undefined || env.NODE_ENV === '' || env.NODE_ENV === 'development';
}

/** The nearest folder at or above `start` whose package.json declares workspaces. */
export function findWorkspaceRoot(start: string): string | undefined {
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { workspaces?: unknown }).workspaces)
          return dir;
      } catch {
        // Not a manifest we can read: keep looking above.
      }
    }
    if (path.dirname(dir) === dir) return undefined;
  }
}

interface DevelopmentSecretsFile {
  note: string;
  seed: string;
  secrets: Record<string, string>;
}

// Every secret is derived from one random seed, so the file never has to change after it is
// made: services starting at the same moment cannot race to add different values.
export function developmentSecret(seed: string, name: string): string {
  return createHmac('sha256', seed).update(name).digest('hex').slice(0, 32);
}

const namesWrittenOut = ['REGISTRY_TOKEN', 'SERVICE_TOKEN', 'ACCOUNT_KEY_SECRET'];

/** Reads the development secrets file, making it first (atomically, mode 0600) if missing. */
export function readOrCreateDevelopmentSecrets(file: string): { seed: string } {
  if (!existsSync(file)) {
    const seed = randomBytes(32).toString('hex');
    const content: DevelopmentSecretsFile = {
      note: 'Development secrets of this clone, made by the services because NODE_ENV was not production. Never use them elsewhere.',
      seed,
      secrets: Object.fromEntries(
        namesWrittenOut.map((name) => [name, developmentSecret(seed, name)]),
      ),
    };
    const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 });
    try {
      // link() fails when the file exists: the first of several services starting at once wins.
      linkSync(temporary, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      unlinkSync(temporary);
    }
  }
  let seed: unknown;
  try {
    seed = (JSON.parse(readFileSync(file, 'utf8')) as Partial<DevelopmentSecretsFile>).seed;
  } catch (error) {
    throw new Error(
      `${file} is not readable JSON (${(error as Error).message}); delete it to make new development secrets`,
    );
  }
  if (typeof seed !== 'string' || !/^[0-9a-f]{64}$/.test(seed)) {
    throw new Error(`${file} has no valid "seed"; delete it to make new development secrets`);
  }
  return { seed };
}

export interface DevelopmentDefaultsOptions {
  /** Where to look for the repository root (default: the started script's folder, then the cwd). */
  searchFrom?: string[];
  /** Called once with what was filled in, for the service to say so. */
  report?: (message: string) => void;
}

/**
 * The environment with development defaults filled in (see the top of this file), or `env`
 * itself when not in development or not inside a clone.
 */
export function withDevelopmentDefaults(
  schema: TObject,
  env: Record<string, string | undefined>,
  options: DevelopmentDefaultsOptions = {},
): Record<string, string | undefined> {
  if (!isDevelopment(env)) return env;
  const starts = options.searchFrom ?? [
    require.main?.filename ? path.dirname(require.main.filename) : process.cwd(),
    process.cwd(),
  ];
  const root = starts.map(findWorkspaceRoot).find((found) => found !== undefined);
  if (root === undefined) return env;

  const filled: Record<string, string | undefined> = { ...env };
  const required = new Set(schema.required ?? []);
  const missingSecrets = Object.entries(schema.properties)
    .filter(
      ([name, property]) =>
        (property as { writeOnly?: boolean }).writeOnly === true && required.has(name),
    )
    .map(([name]) => name)
    .filter((name) => !env[name]);
  if (missingSecrets.length > 0) {
    const file = env.GRANTLINE_DEV_SECRETS
      ? path.resolve(env.GRANTLINE_DEV_SECRETS)
      : path.join(root, developmentSecretsFileName);
    const { seed } = readOrCreateDevelopmentSecrets(file);
    for (const name of missingSecrets) filled[name] = developmentSecret(seed, name);
    options.report?.(
      `development secrets ${missingSecrets.join(', ')} from ${file} (NODE_ENV is not production)`,
    );
  }
  for (const [name, property] of Object.entries(schema.properties)) {
    const folder = property as { default?: unknown; [dataFolderMark]?: boolean };
    if (
      folder[dataFolderMark] === true &&
      !env[name] &&
      typeof folder.default === 'string' &&
      !path.isAbsolute(folder.default)
    ) {
      filled[name] = path.join(root, folder.default);
    }
  }
  return filled;
}
