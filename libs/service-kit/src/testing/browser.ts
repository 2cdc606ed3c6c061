import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type LaunchOptions } from 'playwright-core';

/**
 * A headless Chromium for the browser tests, with nothing installed by hand: the system's
 * Chromium when there is one (`CHROMIUM_PATH`, else `/usr/bin/chromium`), otherwise the one
 * shipped compressed inside the npm package `@sparticuz/chromium`. Never a skip: when neither
 * works, launching throws and the test fails.
 *
 * `GRANTLINE_BROWSER=npm` forces the npm Chromium (to prove that path on a machine that has a
 * system one); `GRANTLINE_BROWSER=system` insists on the system one.
 */
export interface BrowserExecutable {
  source: 'system' | 'npm';
  executablePath: string;
  args: string[];
  /** Extra environment for the browser process (the npm Chromium's fonts). */
  env: Record<string, string>;
}

const systemChromium = '/usr/bin/chromium';
// Root in CI containers has no user namespaces for the sandbox; the pages are our own.
const systemArgs = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'];

export async function findBrowser(
  env: NodeJS.ProcessEnv = process.env,
): Promise<BrowserExecutable> {
  const wanted = env.GRANTLINE_BROWSER ?? 'auto';
  if (!['auto', 'system', 'npm'].includes(wanted)) {
    throw new Error(`GRANTLINE_BROWSER must be auto, system or npm, not ${JSON.stringify(wanted)}`);
  }
  if (wanted !== 'npm') {
    const candidate = env.CHROMIUM_PATH || systemChromium;
    if (existsSync(candidate))
      return { source: 'system', executablePath: candidate, args: systemArgs, env: {} };
    if (wanted === 'system' || env.CHROMIUM_PATH) {
      throw new Error(
        `no Chromium at ${candidate} (GRANTLINE_BROWSER=${wanted}, CHROMIUM_PATH=${env.CHROMIUM_PATH ?? ''})`,
      );
    }
  }
  return npmChromium();
}

/** Launches headless Chromium (see `findBrowser`); the caller closes it. */
export async function launchBrowser(options: LaunchOptions = {}): Promise<Browser> {
  const found = await findBrowser();
  return chromium.launch({
    headless: true,
    timeout: 60_000,
    ...options,
    executablePath: found.executablePath,
    args: [...found.args, ...(options.args ?? [])],
    env: { ...process.env, ...found.env, ...options.env },
  });
}

let unpacking: Promise<BrowserExecutable> | undefined;

/**
 * The npm Chromium, unpacked once per package version into the temp folder. The package
 * unpacks into `os.tmpdir()` itself and trusts any file already there, so a run killed
 * half-way, or two test processes at once, could leave or read a torn binary: it unpacks
 * into a private folder in a child process (the package is ESM-only, which Jest's module
 * system cannot load) and the folder is renamed into place whole.
 */
function npmChromium(): Promise<BrowserExecutable> {
  unpacking ??= unpackNpmChromium().catch((error: unknown) => {
    unpacking = undefined;
    throw error;
  });
  return unpacking;
}

async function unpackNpmChromium(): Promise<BrowserExecutable> {
  const entry = require.resolve('@sparticuz/chromium');
  const packageJson = path.join(path.dirname(entry), '..', 'package.json');
  const { version } = JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string };
  const cacheRoot = path.join(os.tmpdir(), 'grantline-chromium');
  const finalDir = path.join(cacheRoot, version);
  const executablePath = path.join(finalDir, 'chromium');

  let args: string[];
  if (existsSync(path.join(finalDir, 'args.json'))) {
    args = JSON.parse(readFileSync(path.join(finalDir, 'args.json'), 'utf8')) as string[];
  } else {
    mkdirSync(cacheRoot, { recursive: true });
    const partialDir = await mkdtemp(path.join(cacheRoot, `${version}.partial-`));
    try {
      args = await unpackInChild(entry, partialDir);
      writeFileSync(path.join(partialDir, 'fonts.conf'), fontsConf(finalDir));
      renameSync(partialDir, finalDir);
    } catch (error) {
      rmSync(partialDir, { recursive: true, force: true });
      // Another process won the race: its complete copy is as good as ours.
      if (!existsSync(path.join(finalDir, 'args.json'))) throw error;
      args = JSON.parse(readFileSync(path.join(finalDir, 'args.json'), 'utf8')) as string[];
    }
  }
  return {
    source: 'npm',
    executablePath,
    args: npmArgs(args),
    env: { FONTCONFIG_FILE: path.join(finalDir, 'fonts.conf') },
  };
}

/**
 * The package's flags are made for AWS Lambda; a test wants an ordinary browser. Kept out:
 * `--single-process` (the browser dies when a test closes its first context), the flags that
 * turn web security off (a test must see what users see) and `--headless` (Playwright's job).
 */
function npmArgs(packageArgs: string[]): string[] {
  const dropped = [
    /^--single-process$/,
    /^--headless/,
    /^--disable-web-security$/,
    /^--allow-running-insecure-content$/,
    /^--disable-site-isolation-trials$/,
    /^--disable-features=/,
    /^--enable-features=/,
  ];
  const kept = packageArgs.filter((arg) => !dropped.some((pattern) => pattern.test(arg)));
  return [...new Set([...systemArgs, ...kept])];
}

// The package's own fonts.conf names Lambda's folders; a bare machine may have no fonts at
// all, so the page gets the package's Open Sans plus whatever the system has.
function fontsConf(dir: string): string {
  return [
    '<?xml version="1.0"?>',
    '<!DOCTYPE fontconfig SYSTEM "fonts.dtd">',
    '<fontconfig>',
    `  <dir>${path.join(dir, 'fonts', 'fonts')}</dir>`,
    '  <dir>/usr/share/fonts</dir>',
    `  <cachedir>${path.join(dir, 'fonts-cache')}</cachedir>`,
    '</fontconfig>',
    '',
  ].join('\n');
}

function unpackInChild(entry: string, intoDir: string): Promise<string[]> {
  const script = `
    import { writeFileSync } from 'node:fs';
    import { join } from 'node:path';
    const { default: chromium } = await import(process.argv[1]);
    const executablePath = await chromium.executablePath();
    if (executablePath !== join(process.env.TMPDIR, 'chromium')) throw new Error('unpacked to ' + executablePath);
    writeFileSync(join(process.env.TMPDIR, 'args.json'), JSON.stringify(chromium.args));
  `;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', script, pathToFileURL(entry).href],
      { env: { ...process.env, TMPDIR: intoDir }, timeout: 120_000 },
      (error, _stdout, stderr) => {
        if (error) {
          reject(new Error(`unpacking @sparticuz/chromium failed: ${error.message}\n${stderr}`));
          return;
        }
        resolve(JSON.parse(readFileSync(path.join(intoDir, 'args.json'), 'utf8')) as string[]);
      },
    );
  });
}
