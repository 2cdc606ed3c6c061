import { mkdtempSync, readFileSync, rmSync, statSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { ServiceProcess, waitFor } from '@grantline/process-kit';
import { buildApps, listedUrls, REPO_ROOT, startApp } from '../src';

/**
 * The development path of API.md ("Processes and configuration"): with no secret exported and
 * NODE_ENV unset, the registry, an agency and a DCU, each started in its own project folder as
 * `nx serve` does, make one development secrets file between them and work together; with
 * NODE_ENV=production nothing is made and the service names what is missing. The secrets file
 * is put in a temp folder (GRANTLINE_DEV_SECRETS) so the test leaves the clone alone.
 */
let temp: string;

beforeAll(() => buildApps('registry', 'agency', 'dcu'), 120_000);

beforeEach(() => {
  temp = mkdtempSync(path.join(os.tmpdir(), 'grantline-dev-defaults-'));
});

afterEach(async () => {
  await ServiceProcess.killAll();
  rmSync(temp, { recursive: true, force: true });
});

/** This environment without anything that would configure a service. */
function bareEnvironment(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG']) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, LOG_LEVEL: 'warn', PORT: '0', ...extra };
}

function start(app: 'registry' | 'agency' | 'dcu', env: Record<string, string>): ServiceProcess {
  return startApp({ label: app, app, env, cwd: path.join(REPO_ROOT, 'apps', app) });
}

describe('development defaults', () => {
  it('start the services with nothing exported, sharing secrets made once in a 0600 file', async () => {
    const secretsFile = path.join(temp, '.dev-secrets.json');
    const common = { GRANTLINE_DEV_SECRETS: secretsFile };
    const registry = start('registry', bareEnvironment(common));
    const registryUrl = await registry.waitForListening();
    const withRegistry = { ...common, REGISTRY_URL: registryUrl };
    // Started at the same moment: only one of them may make the file.
    const agency = start(
      'agency',
      bareEnvironment({ ...withRegistry, AGENCY_DIR: path.join(temp, 'agency') }),
    );
    const dcu = start(
      'dcu',
      bareEnvironment({ ...withRegistry, ACCOUNT_DIR: path.join(temp, 'accounts') }),
    );
    const [agencyUrl, dcuUrl] = await Promise.all([
      agency.waitForListening(),
      dcu.waitForListening(),
    ]);

    expect(statSync(secretsFile).mode & 0o777).toBe(0o600);
    const made = readFileSync(secretsFile, 'utf8');
    // Registered with the registry's development REGISTRY_TOKEN …
    await waitFor(
      'the agency and the DCU to be listed',
      async () => {
        const listed = await listedUrls(registryUrl);
        return listed?.agency?.includes(agencyUrl) && listed.dcu?.includes(dcuUrl);
      },
      15_000,
    );
    // … and the agency opens an account on the DCU with the shared SERVICE_TOKEN.
    const answer = await request(`${agencyUrl}/proposals`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'dev-defaults-proposal-1' },
      body: JSON.stringify({
        title: 'Development defaults',
        investigator: 'Ada Lovelace',
        amountCents: 40_000_000,
        durationDays: 10,
      }),
    });
    const body = (await answer.body.json()) as { status?: string; dcuUrl?: string };
    expect(answer.statusCode).toBe(201);
    expect(body).toMatchObject({ status: 'accepted', dcuUrl });
    expect(readFileSync(secretsFile, 'utf8')).toBe(made);
    for (const service of [registry, agency, dcu]) {
      expect(service.output).not.toMatch(/[0-9a-f]{32}/);
    }
  });

  it('with NODE_ENV=production make nothing, and the service names the missing secret', async () => {
    const secretsFile = path.join(temp, '.dev-secrets.json');
    const dcu = start(
      'dcu',
      bareEnvironment({
        NODE_ENV: 'production',
        GRANTLINE_DEV_SECRETS: secretsFile,
        ACCOUNT_DIR: path.join(temp, 'accounts'),
      }),
    );
    const exit = await dcu.exited;
    expect(exit.code).not.toBe(0);
    expect(dcu.output).toMatch(/REGISTRY_TOKEN is required but not set/);
    expect(dcu.output).toMatch(/SERVICE_TOKEN is required but not set/);
    expect(dcu.output).toMatch(/ACCOUNT_KEY_SECRET is required but not set/);
    expect(existsSync(secretsFile)).toBe(false);
  });
});
