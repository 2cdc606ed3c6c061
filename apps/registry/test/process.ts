import { existsSync } from 'node:fs';
import path from 'node:path';
import { ServiceProcess } from '@grantline/process-kit';

export const repoRoot = path.resolve(__dirname, '../../..');
export const registryMain = path.join(repoRoot, 'apps/registry/dist/main.js');

export function requireBuilt(file: string): void {
  if (!existsSync(file)) throw new Error(`${path.relative(repoRoot, file)} is missing: run \`npm run build\` first`);
}

export interface Started {
  service: ServiceProcess;
  url: string;
}

/**
 * Starts a node script (through the process kit) with a small test environment and resolves
 * once it prints its `<name> listening on <url>` line. Kills it if it exits first or takes
 * longer than `timeoutMs`.
 */
export async function startNode(
  script: string,
  name: string,
  env: Record<string, string>,
  timeoutMs = 15_000,
): Promise<Started> {
  const service = new ServiceProcess({
    label: name,
    script,
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', LOG_LEVEL: 'warn', ...env },
  });
  try {
    return { service, url: await service.waitForListening(timeoutMs) };
  } catch (error) {
    await service.kill();
    throw error;
  }
}
