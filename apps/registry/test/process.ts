import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export const repoRoot = path.resolve(__dirname, '../../..');
export const registryMain = path.join(repoRoot, 'apps/registry/dist/main.js');

export function requireBuilt(file: string): void {
  if (!existsSync(file)) throw new Error(`${path.relative(repoRoot, file)} is missing: run \`npm run build\` first`);
}

export interface Started {
  child: ChildProcess;
  url: string;
  /** Everything the process printed so far (stdout and stderr), for failure messages. */
  output: () => string;
}

/**
 * Starts a node script and resolves with the URL from its `<name> listening on <url>` line.
 * Rejects (and kills the process) if it exits first or takes longer than `timeoutMs`.
 */
export function startNode(
  script: string,
  name: string,
  env: Record<string, string>,
  timeoutMs = 15_000,
): Promise<Started> {
  const child = spawn(process.execPath, [script], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const pattern = new RegExp(`^${name} listening on (http://\\S+)$`, 'm');
  return new Promise<Started>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${name} did not start within ${timeoutMs} ms`)), timeoutMs);
    const onData = () => {
      const match = pattern.exec(output);
      if (!match?.[1]) return;
      cleanup();
      resolve({ child, url: match[1], output: () => output });
    };
    const onExit = (code: number | null, signal: string | null) =>
      fail(new Error(`${name} exited early (code ${code}, signal ${signal})`));
    function cleanup() {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
    }
    function fail(error: Error) {
      cleanup();
      child.kill('SIGKILL');
      reject(new Error(`${error.message}; output:\n${output}`));
    }
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

/** Resolves with the exit code (or signal) once the process has ended; SIGKILLs after `graceMs`. */
export function stopProcess(
  child: ChildProcess,
  signal: NodeJS.Signals = 'SIGTERM',
  graceMs = 5_000,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', (code, exitSignal) => {
      clearTimeout(timer);
      resolve({ code, signal: exitSignal });
    });
    child.kill(signal);
  });
}
