import { secretsForService, type SystemSecrets } from '@grantline/contracts';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startTestPostgres, type TestPostgres } from '@grantline/postgres/testing';
import { freshSecrets, waitFor, type ServiceProcess } from '@grantline/process-kit';
import { startApp, type AppName } from './processes';
import { listedUrls } from './registry-watch';
import { readDatabaseLedgers, readFileLedgers, type StoredLedgers, type StoreKind } from './stores';

export interface SystemOptions {
  agencies: number;
  dcus: number;
  /** The registry's HEARTBEAT_INTERVAL_MS (its TTL is three of them). */
  heartbeatIntervalMs: number;
  /** The DCUs' DAY_MS. */
  dayMs?: number;
  /** The DCUs' LOCK_STALE_MS (default: theirs, 4000). */
  lockStaleMs?: number;
  /** LOG_LEVEL of every service (default warn: the logs stay small). */
  logLevel?: string;
  /** How many registries (default 1); services register with each and read from any. */
  registries?: number;
  /** More settings for every agency or every DCU (e.g. PEER_TIMEOUT_MS). */
  env?: Partial<Record<'agency' | 'dcu', Record<string, string>>>;
  /**
   * Where the agencies and DCUs keep their state (default files: one account folder, one
   * agency folder). postgres: one database they all share, on the tests' embedded PostgreSQL
   * (or the server DATABASE_URL names); start() fails when none can be had.
   */
  store?: StoreKind;
}

export type Secrets = SystemSecrets;

/** The environment a child starts from: this one, less anything that would point it elsewhere. */
export function baseEnvironment(): Record<string, string> {
  const skip = new Set([
    'PEER_TIMEOUT_MS',
    'PEER_MAX_ANSWER_BYTES',
    'PORT',
    'HOST',
    'ADVERTISED_URL',
    'REGISTRY_URL',
    'REGISTRY_TOKEN',
    'SERVICE_TOKEN',
    'ACCOUNT_KEY_SECRET',
    'ACCOUNT_DIR',
    'DAY_MS',
    'TTL_MS',
    'HEARTBEAT_INTERVAL_MS',
    'LOCK_STALE_MS',
    'NODE_OPTIONS',
    'DATABASE_URL',
    'AGENCY_DIR',
    'AGENCY_BUDGET_CENTS',
  ]);
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (
      value !== undefined &&
      !skip.has(name) &&
      !name.startsWith('JEST') &&
      !name.startsWith('SIM_')
    )
      env[name] = value;
  }
  return env;
}

/**
 * A registry, agencies and DCUs (all on one account folder, or one database) as real processes, on free ports,
 * with fresh secrets (each service only its own: agencies and DCUs their type's registration
 * token, never REGISTRY_TOKEN), in a temp folder of their own (`root`: `accounts/` and `logs/`).
 */
export class GrantlineSystem {
  readonly root: string;
  readonly accountDir: string;
  /** The agencies' one folder (AGENCY_DIR): they share their decisions and budget. */
  readonly agencyDir: string;
  readonly logDir: string;
  readonly secrets = freshSecrets();
  registry!: ServiceProcess;
  registryPort = 0;
  /** The registries after the first, when `registries` > 1. */
  readonly moreRegistries: ServiceProcess[] = [];
  readonly agencies: ServiceProcess[] = [];
  readonly dcus: ServiceProcess[] = [];
  readonly store: StoreKind;
  /** The database the agencies and DCUs share (store postgres), once started. */
  databaseUrl: string | undefined;
  private postgres: TestPostgres | undefined;
  private started = 0;

  constructor(readonly options: SystemOptions) {
    this.root = mkdtempSync(path.join(tmpdir(), 'grantline-e2e-'));
    this.accountDir = path.join(this.root, 'accounts');
    this.logDir = path.join(this.root, 'logs');
    this.agencyDir = path.join(this.root, 'agency');
    mkdirSync(this.accountDir);
    mkdirSync(this.logDir);
    this.store = options.store ?? 'files';
  }

  get registryUrl(): string {
    return `http://127.0.0.1:${this.registryPort}`;
  }

  /** Every registry, comma-separated: what services and clients are given as REGISTRY_URL. */
  get registryUrls(): string {
    return [this.registryUrl, ...this.moreRegistries.map((registry) => registry.url!)].join(',');
  }

  get ttlMs(): number {
    return 3 * this.options.heartbeatIntervalMs;
  }

  /** Starts the registry (on a free port the first time, on the same port after), then the rest. */
  async start(): Promise<void> {
    if (this.store === 'postgres') {
      this.postgres = await startTestPostgres();
      this.databaseUrl = await this.postgres.createDatabase();
    }
    await this.startRegistry();
    for (let more = 1; more < (this.options.registries ?? 1); more++) {
      const registry = this.spawn('registry', {
        HEARTBEAT_INTERVAL_MS: String(this.options.heartbeatIntervalMs),
      });
      this.moreRegistries.push(registry);
      await registry.waitForListening();
    }
    const others = [
      ...Array.from({ length: this.options.agencies }, () => this.startService('agency')),
      ...Array.from({ length: this.options.dcus }, () => this.startService('dcu')),
    ];
    await Promise.all(others.map((service) => service.waitForListening()));
    await this.waitUntilListed(this.liveUrls(), 15_000);
  }

  /** Starts the registry: PORT=0 the first time, then the port it got, so clients find it again. */
  async startRegistry(): Promise<ServiceProcess> {
    this.registry = this.spawn('registry', {
      PORT: String(this.registryPort),
      HEARTBEAT_INTERVAL_MS: String(this.options.heartbeatIntervalMs),
    });
    const url = await this.registry.waitForListening();
    this.registryPort = Number(new URL(url).port);
    return this.registry;
  }

  /** One more agency or DCU, registered with this system's registry. */
  startService(app: 'agency' | 'dcu'): ServiceProcess {
    const extra: Record<string, string> = { REGISTRY_URL: this.registryUrls };
    // On the database store the folders are still given, so a service that wrongly kept
    // files there is caught (readLedgers finds them).
    if (this.databaseUrl !== undefined) extra.DATABASE_URL = this.databaseUrl;
    if (app === 'agency') extra.AGENCY_DIR = this.agencyDir;
    if (app === 'dcu') {
      extra.ACCOUNT_DIR = this.accountDir;
      extra.DAY_MS = String(this.options.dayMs ?? 1000);
      if (this.options.lockStaleMs !== undefined)
        extra.LOCK_STALE_MS = String(this.options.lockStaleMs);
    }
    const service = this.spawn(app, { ...extra, ...this.options.env?.[app] });
    (app === 'dcu' ? this.dcus : this.agencies).push(service);
    return service;
  }

  /** The URLs of the agencies and DCUs still running, by type. */
  liveUrls(): Record<'agency' | 'dcu', string[]> {
    const urls = (services: ServiceProcess[]) =>
      services.filter((service) => service.running && service.url).map((service) => service.url!);
    return { agency: urls(this.agencies), dcu: urls(this.dcus) };
  }

  /** Waits until the registry lists every URL in `expected` (and answers); returns when. */
  async waitUntilListed(expected: Record<string, string[]>, timeoutMs: number): Promise<number> {
    await waitFor(
      `the registry to list ${JSON.stringify(expected)}`,
      async () => {
        const listed = await listedUrls(this.registryUrl);
        if (!listed) return false;
        return Object.entries(expected).every(([type, urls]) =>
          urls.every((url) => (listed[type] ?? []).includes(url)),
        );
      },
      timeoutMs,
    );
    return Date.now();
  }

  /**
   * Every account as the store holds it, read without the DCU's code: the ledger files of the
   * account folder, or the rows of the database (whose store must then leave the folders empty).
   */
  readLedgers(): Promise<StoredLedgers> {
    if (this.store === 'files') return readFileLedgers(this.accountDir);
    if (this.databaseUrl === undefined) throw new Error('the system was not started');
    return readDatabaseLedgers(this.databaseUrl, [this.accountDir, this.agencyDir]);
  }

  /** SIGKILLs everything this system started, stops its PostgreSQL and removes its folder. */
  async destroy(): Promise<void> {
    await Promise.all(
      [this.registry, ...this.moreRegistries, ...this.agencies, ...this.dcus]
        .filter(Boolean)
        .map((s) => s.kill('SIGKILL')),
    );
    await this.postgres?.close();
    this.postgres = undefined;
    rmSync(this.root, { recursive: true, force: true });
  }

  private spawn(
    app: Exclude<AppName, 'researchers'>,
    extra: Record<string, string>,
  ): ServiceProcess {
    this.started += 1;
    const label = `${app}-${this.started}`;
    return startApp({
      label,
      app,
      env: {
        ...baseEnvironment(),
        HOST: '127.0.0.1',
        PORT: '0',
        LOG_LEVEL: this.options.logLevel ?? 'warn',
        ...secretsForService(app, this.secrets),
        ...extra,
      },
      logFile: path.join(this.logDir, `${label}.log`),
    });
  }
}
