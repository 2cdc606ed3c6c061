import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startApp, type AppName } from '@grantline/e2e';
import { freshSecrets, type ServiceProcess } from '@grantline/process-kit';
import type { OpenApiDocument } from './render';

export type ServiceName = Extract<AppName, 'registry' | 'agency' | 'dcu'>;

/**
 * The OpenAPI document each service serves at /openapi.json, read from the built services
 * started as real processes (port 0, throwaway secrets and folders, NODE_ENV=test so nothing
 * is generated), so the docs show exactly what a running service says of itself.
 */
export async function collectOpenApiDocuments(): Promise<Record<ServiceName, OpenApiDocument>> {
  const folder = mkdtempSync(path.join(tmpdir(), 'grantline-docs-'));
  const base: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'test',
    LOG_LEVEL: 'error',
    HOST: '127.0.0.1',
    PORT: '0',
    ...freshSecrets(),
    ACCOUNT_DIR: path.join(folder, 'accounts'),
    AGENCY_DIR: path.join(folder, 'agency'),
  };
  const started: ServiceProcess[] = [];
  const start = (app: ServiceName, env: Record<string, string>) => {
    const service = startApp({ label: app, app, env: { ...base, ...env } });
    started.push(service);
    return service.waitForListening();
  };
  try {
    const registryUrl = await start('registry', {});
    const [agencyUrl, dcuUrl] = await Promise.all([
      start('agency', { REGISTRY_URL: registryUrl }),
      start('dcu', { REGISTRY_URL: registryUrl }),
    ]);
    const read = async (url: string): Promise<OpenApiDocument> => {
      const answer = await fetch(`${url}/openapi.json`);
      if (answer.status !== 200) throw new Error(`${url}/openapi.json answered ${answer.status}`);
      return (await answer.json()) as OpenApiDocument;
    };
    return {
      registry: await read(registryUrl),
      agency: await read(agencyUrl!),
      dcu: await read(dcuUrl!),
    };
  } finally {
    await Promise.all(started.map((service) => service.stop()));
    rmSync(folder, { recursive: true, force: true });
  }
}
