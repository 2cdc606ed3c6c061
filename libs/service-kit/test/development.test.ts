import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Type } from '@sinclair/typebox';
import { DataFolder, Secret, withDevelopmentDefaults } from '../src';

const schema = Type.Object({
  REGISTRY_TOKEN: Secret('registers'),
  SERVICE_TOKEN: Secret('opens accounts'),
  ACCOUNT_DIR: DataFolder('account_files', 'accounts'),
  PORT: Type.Integer({ default: 9002 }),
});

describe('development defaults', () => {
  let clone: string;
  let projectDir: string;

  beforeEach(() => {
    clone = mkdtempSync(path.join(os.tmpdir(), 'grantline-dev-clone-'));
    writeFileSync(
      path.join(clone, 'package.json'),
      JSON.stringify({ name: 'clone', workspaces: ['apps/*'] }),
    );
    projectDir = path.join(clone, 'apps', 'dcu', 'dist');
    mkdirSync(projectDir, { recursive: true });
    writeFileSync(path.join(clone, 'apps', 'dcu', 'package.json'), JSON.stringify({ name: 'dcu' }));
  });
  afterEach(() => rmSync(clone, { recursive: true, force: true }));

  const fill = (env: Record<string, string | undefined>) =>
    withDevelopmentDefaults(schema, env, { searchFrom: [projectDir] });

  it('makes the secrets once at the root of the clone, 0600, and gives every service the same', () => {
    const first = fill({});
    const file = path.join(clone, '.dev-secrets.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(first.REGISTRY_TOKEN).toMatch(/^[0-9a-f]{32}$/);
    expect(first.SERVICE_TOKEN).toMatch(/^[0-9a-f]{32}$/);
    expect(first.SERVICE_TOKEN).not.toBe(first.REGISTRY_TOKEN);
    const written = JSON.parse(readFileSync(file, 'utf8')) as { secrets: Record<string, string> };
    expect(written.secrets.REGISTRY_TOKEN).toBe(first.REGISTRY_TOKEN);
    const again = fill({ NODE_ENV: 'development' });
    expect(again.REGISTRY_TOKEN).toBe(first.REGISTRY_TOKEN);
    expect(again.SERVICE_TOKEN).toBe(first.SERVICE_TOKEN);
  });

  it('keeps what the environment gives', () => {
    const filled = fill({ REGISTRY_TOKEN: 'exported-registry-token', ACCOUNT_DIR: 'mine' });
    expect(filled.REGISTRY_TOKEN).toBe('exported-registry-token');
    expect(filled.ACCOUNT_DIR).toBe('mine');
  });

  it('puts a data folder left at its default at the root of the clone, not where the service started', () => {
    expect(
      fill({ REGISTRY_TOKEN: 'a'.repeat(16), SERVICE_TOKEN: 'b'.repeat(16) }).ACCOUNT_DIR,
    ).toBe(path.join(clone, 'account_files'));
  });

  it.each(['production', 'test'])(
    'with NODE_ENV=%s changes nothing and makes no file',
    (nodeEnv) => {
      const env = { NODE_ENV: nodeEnv };
      expect(fill(env)).toBe(env);
      expect(existsSync(path.join(clone, '.dev-secrets.json'))).toBe(false);
    },
  );

  it('outside a clone changes nothing', () => {
    const outside = mkdtempSync(path.join(os.tmpdir(), 'grantline-not-a-clone-'));
    try {
      const env = {};
      expect(withDevelopmentDefaults(schema, env, { searchFrom: [outside] })).toBe(env);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('names a damaged secrets file and how to recover, instead of making other secrets', () => {
    writeFileSync(path.join(clone, '.dev-secrets.json'), '{"seed": 12');
    expect(() => fill({})).toThrow(/\.dev-secrets\.json is not readable JSON .*delete it/);
  });
});
