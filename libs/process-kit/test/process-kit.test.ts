import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  exitCodeOf,
  freshSecrets,
  isRunning,
  listeningUrlIn,
  mulberry32,
  ServiceProcess,
  waitFor,
} from '../src';

const fixture = (name: string) => path.join(__dirname, 'fixtures', name);
const env = { PATH: process.env.PATH ?? '' };

afterEach(() => ServiceProcess.killAll());

describe('ServiceProcess', () => {
  it('reads the URL of the listening line, keeps stdout and stderr, and writes the log file', async () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'process-kit-'));
    try {
      const logFile = path.join(folder, 'ready.log');
      const ready = new ServiceProcess({
        label: 'ready',
        script: fixture('ready.js'),
        env: { ...env, FAKE_PORT: '4999' },
        logFile,
      });
      expect(await ready.waitForListening(10_000)).toBe('http://127.0.0.1:4999');
      expect(ready.url).toBe('http://127.0.0.1:4999');
      expect(ready.running).toBe(true);
      const exit = await ready.stop(10_000);
      expect(exit).toEqual({ code: 0, signal: null });
      expect(ready.running).toBe(false);
      expect(ready.lines).toEqual(
        expect.arrayContaining(['starting', 'a line on stderr', 'stopping on SIGTERM']),
      );
      expect(readFileSync(logFile, 'utf8')).toContain('ready listening on http://127.0.0.1:4999\n');
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('fails the wait with the last lines when the process exits before listening', async () => {
    const failing = new ServiceProcess({ label: 'bad config', script: fixture('fails.js'), env });
    await expect(failing.waitForListening(10_000)).rejects.toThrow(
      /bad config exited before listening \(exit code 3\):\nREGISTRY_TOKEN is missing/,
    );
    expect(exitCodeOf(await failing.exited)).toBe(3);
  });

  it('counts a script that cannot start as an exit', async () => {
    const missing = new ServiceProcess({
      label: 'missing',
      script: fixture('no-such-file.js'),
      env,
    });
    await expect(missing.waitForListening(10_000)).rejects.toThrow(
      /missing exited before listening/,
    );
  });

  it('stops a process that ignores SIGTERM with SIGKILL after the grace, and its group with it', async () => {
    const stubborn = new ServiceProcess({ label: 'stubborn', script: fixture('stubborn.js'), env });
    await stubborn.waitForListening(10_000);
    const grandchild = Number(/^grandchild (\d+)$/m.exec(stubborn.output)?.[1]);
    expect(isRunning(grandchild)).toBe(true);
    const exit = await stubborn.stop(300);
    expect(exit.signal).toBe('SIGKILL');
    expect(stubborn.lines).toContain('SIGTERM ignored');
    expect(exitCodeOf(exit)).toBe(137);
    await waitFor('the grandchild to be gone', () => !isRunning(grandchild), 10_000);
  });

  it('killAll leaves nothing it started running', async () => {
    const services = [1, 2].map(
      (index) => new ServiceProcess({ label: `ready ${index}`, script: fixture('ready.js'), env }),
    );
    await Promise.all(services.map((service) => service.waitForListening(10_000)));
    await ServiceProcess.killAll();
    expect(services.map((service) => service.running)).toEqual([false, false]);
    expect(ServiceProcess.all.size).toBe(0);
  });

  it('with stopWithParent, the child stops itself when its parent is SIGKILLed', async () => {
    if (!existsSync(path.join(__dirname, '..', 'dist', 'index.js')))
      throw new Error('libs/process-kit/dist is missing: run `npx tsc -b libs/process-kit` first');
    const parent = new ServiceProcess({ label: 'parent', script: fixture('parent.js'), env });
    const line = await waitFor(
      'the parent to print its child',
      () => {
        if (!parent.running) throw new Error(`the parent exited:\n${parent.output}`);
        return parent.lines.find((text) => /^child \d+$/.test(text));
      },
      10_000,
    );
    const childPid = Number(/^child (\d+)$/.exec(line)?.[1]);
    expect(childPid).toBeGreaterThan(0);
    // Only the parent: the child has a process group of its own.
    process.kill(parent.pid!, 'SIGKILL');
    await parent.exited;
    await waitFor('the orphaned child to stop itself', () => !isRunning(childPid), 10_000);
  });
});

describe('listeningUrlIn', () => {
  it('finds the URL of a service that says it is ready, and nothing in other lines', () => {
    expect(listeningUrlIn('dcu listening on http://127.0.0.1:41234')).toBe(
      'http://127.0.0.1:41234',
    );
    expect(listeningUrlIn('{"level":30,"msg":"Server listening at http://127.0.0.1:1"}')).toBe(
      undefined,
    );
  });
});

describe('exitCodeOf', () => {
  it('gives the code, or 128 + the signal number as a shell does', () => {
    expect(exitCodeOf({ code: 0, signal: null })).toBe(0);
    expect(exitCodeOf({ code: null, signal: 'SIGINT' })).toBe(130);
    expect(exitCodeOf({ code: null, signal: 'SIGTERM' })).toBe(143);
  });
});

describe('waitFor', () => {
  it('returns the first truthy answer', async () => {
    let calls = 0;
    expect(
      await waitFor('the third call', () => (++calls >= 3 ? `call ${calls}` : undefined), 5_000, 1),
    ).toBe('call 3');
  });

  it('fails naming what it waited for', async () => {
    await expect(waitFor('Godot', () => false, 30, 5)).rejects.toThrow(
      'timed out after 30 ms waiting for Godot',
    );
  });
});

describe('mulberry32', () => {
  it('gives the sequence of the reference implementation for a seed', () => {
    const random = mulberry32(42);
    expect([random(), random(), random()]).toEqual([
      0.6011037519201636, 0.44829055899754167, 0.8524657934904099,
    ]);
    const wide = mulberry32(0xffffffff);
    expect([wide(), wide()]).toEqual([0.8964226141106337, 0.189478256739676]);
  });
});

describe('freshSecrets', () => {
  it('makes three different 32-character secrets, new each time', () => {
    const first = freshSecrets();
    const second = freshSecrets();
    const all = [...Object.values(first), ...Object.values(second)];
    expect(new Set(all).size).toBe(6);
    for (const secret of all) expect(secret).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });
});
