import { spawn } from 'node:child_process';
import path from 'node:path';

/**
 * `nx run-many -t build`, quietly: Nx rebuilds only what changed (about a second when nothing
 * did). The output is shown only when the build fails.
 */
export function buildStale(root: string): Promise<{ ok: boolean; output: string }> {
  const nx = path.join(root, 'node_modules', 'nx', 'dist', 'bin', 'nx.js');
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const child = spawn(
      process.execPath,
      [nx, 'run-many', '-t', 'build', '--output-style=static'],
      {
        cwd: root,
        env: { ...process.env, NX_TUI: 'false', NX_DAEMON: 'false' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.once('error', (error) =>
      resolve({ ok: false, output: `could not run nx: ${error.message}` }),
    );
    child.once('close', (code) =>
      resolve({ ok: code === 0, output: Buffer.concat(chunks).toString('utf8') }),
    );
  });
}
