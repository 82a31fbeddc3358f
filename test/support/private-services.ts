import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { accessSync, chownSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { freeLoopbackPort } from './free-port.ts';
import { IN_CI } from './postgres.ts';

/**
 * A PostgreSQL or Redis server of a test's own, started from the machine's
 * binaries on a free loopback port, that the test may stop and start again.
 * The machine's shared services (127.0.0.1:5432, 127.0.0.1:6379) are never
 * touched: other test files run against them at the same time.
 */

/** Where initdb and postgres live; Debian's PostgreSQL 15 by default. */
export const PG_BIN = process.env.TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';

type Service = 'postgres' | 'redis';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && executable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** PostgreSQL refuses to run as root: as root, its processes run as the `postgres` OS user. */
function postgresIdentity(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

function problems(services: readonly Service[]): string[] {
  const found: string[] = [];
  if (services.includes('postgres')) {
    for (const bin of ['initdb', 'postgres']) {
      if (!executable(join(PG_BIN, bin))) found.push(`${join(PG_BIN, bin)} is missing (set TEST_PG_BIN)`);
    }
    if (process.getuid?.() === 0) {
      try {
        postgresIdentity();
      } catch {
        found.push('running as root, but there is no `postgres` OS user to run PostgreSQL as');
      }
    }
  }
  if (services.includes('redis') && !onPath('redis-server')) found.push('redis-server is not on PATH');
  return found;
}

/**
 * Whether suites that start private services should run. As with the shared
 * services (redis.ts, global-setup.ts): mandatory in CI (the test file fails
 * when a binary is missing), skipped with a visible notice elsewhere.
 */
export function privateServiceSuites(what: string, services: readonly Service[]): boolean {
  const missing = problems(services);
  if (missing.length === 0) return true;
  if (IN_CI) throw new Error(`CI=true but ${what} cannot start private services: ${missing.join('; ')}`);
  console.warn(`\n  NOTICE: ${what} are SKIPPED: ${missing.join('; ')}.\n`);
  return false;
}

/** Every private server still running, stopped hard if the test process exits without cleaning up. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Keeps the last few kilobytes a server wrote to stderr, for the error when it fails. */
function tail(child: ChildProcess): () => string {
  let text = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    text = (text + chunk).slice(-4_000);
  });
  return () => text;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function stopWithin(child: ChildProcess, signal: NodeJS.Signals, ms: number): Promise<void> {
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  await exited(child);
  clearTimeout(timer);
  running.delete(child);
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number, log: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} within ${timeoutMs} ms\n${log()}`);
}

/** A PostgreSQL 15 cluster in a temporary directory, trust authentication, TCP on 127.0.0.1 only. */
export class PrivatePostgres {
  private server: ChildProcess | undefined;
  private log: () => string = () => '';

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly identity: { uid: number; gid: number } | undefined,
  ) {}

  static async create(): Promise<PrivatePostgres> {
    const identity = postgresIdentity();
    const dir = mkdtempSync(join(tmpdir(), 'palisade-pg-'));
    if (identity) chownSync(dir, identity.uid, identity.gid);
    const pg = new PrivatePostgres(await freeLoopbackPort(), dir, identity);
    execFileSync(
      join(PG_BIN, 'initdb'),
      ['-D', join(dir, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'],
      { ...(identity ?? {}), env: { PATH: process.env.PATH ?? '', LC_ALL: 'C' }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    await pg.start();
    return pg;
  }

  /** A connection URL; `palisade_app` exists once Palisade has migrated the database. */
  url(database = 'postgres', user = 'postgres'): string {
    return `postgres://${user}@127.0.0.1:${this.port}/${database}`;
  }

  /** Starts the server on the same port and data directory, and waits until it accepts queries. */
  async start(): Promise<void> {
    const server = spawn(
      join(PG_BIN, 'postgres'),
      [
        '-D',
        join(this.dir, 'data'),
        '-p',
        String(this.port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'unix_socket_directories=',
        '-c',
        'max_connections=50',
        '-c',
        'shared_buffers=16MB',
        // A throwaway cluster: durability is not what these tests are about.
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
      ],
      { ...(this.identity ?? {}), env: { PATH: process.env.PATH ?? '', LC_ALL: 'C' }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    running.add(server);
    this.server = server;
    this.log = tail(server);
    await until(
      'PostgreSQL did not accept queries',
      async () => {
        if (server.exitCode !== null) throw new Error(`postgres exited with ${server.exitCode}\n${this.log()}`);
        const sql = postgres(this.url(), { max: 1, connect_timeout: 2, onnotice: () => {} });
        try {
          await sql`select 1`;
          return true;
        } finally {
          await sql.end({ timeout: 1 });
        }
      },
      20_000,
      this.log,
    );
  }

  /**
   * Stops the server as `pg_ctl stop` does: `fast` (SIGINT) rolls back open
   * transactions and disconnects every client; `immediate` (SIGQUIT) is a crash
   * followed by recovery at the next start.
   */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await stopWithin(server, mode === 'fast' ? 'SIGINT' : 'SIGQUIT', 15_000);
  }

  async destroy(): Promise<void> {
    await this.stop('immediate');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A Redis server without persistence on a free loopback port. */
export class PrivateRedis {
  private server: ChildProcess | undefined;
  private log: () => string = () => '';

  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  static async create(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freeLoopbackPort(), mkdtempSync(join(tmpdir(), 'palisade-redis-')));
    await redis.start();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = spawn(
      onPath('redis-server') ?? 'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    running.add(server);
    this.server = server;
    this.log = tail(server);
    await until(
      'Redis did not answer PING',
      async () => {
        if (server.exitCode !== null) throw new Error(`redis-server exited with ${server.exitCode}\n${this.log()}`);
        const probe = new Redis(this.url, {
          lazyConnect: true,
          connectTimeout: 1_000,
          maxRetriesPerRequest: 0,
          retryStrategy: () => null,
        });
        probe.on('error', () => {});
        try {
          await probe.connect();
          return (await probe.ping()) === 'PONG';
        } finally {
          probe.disconnect();
        }
      },
      10_000,
      this.log,
    );
  }

  /** SIGTERM: Redis closes every client connection and exits (nothing is saved: no persistence). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await stopWithin(server, 'SIGTERM', 10_000);
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
