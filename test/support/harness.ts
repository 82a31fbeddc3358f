import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DestinationStream } from 'pino';
import { describe, inject } from 'vitest';
import { type Config, loadConfig } from '../../src/config.ts';
import { type Database, openDatabase } from '../../src/db/client.ts';
import { createServer, type PalisadeServer } from '../../src/server.ts';
import { freeLoopbackPort } from './free-port.ts';
import { createFreshDatabase, type FreshDatabase } from './postgres.ts';
import { TestInbox } from './smtp.ts';

export type Backend = 'pglite' | 'postgres';

/** One per test file (vitest loads this module once per file). */
const FILE_REDIS_PREFIX = `palisade-test-${randomBytes(6).toString('hex')}:`;

/**
 * Runs a suite once per database: always on PGlite, and on server PostgreSQL
 * when it is reachable (mandatory in CI, see global-setup.ts).
 */
export function describeEachBackend(name: string, body: (backend: Backend) => void): void {
  describe(`${name} [pglite]`, () => body('pglite'));
  const serverPostgres = inject('serverPostgres');
  (serverPostgres ? describe : describe.skip)(`${name} [postgres]`, () => body('postgres'));
}

export interface TestServer {
  url: string;
  /** Everything the server emailed, received over real SMTP. */
  inbox: TestInbox;
  server: PalisadeServer;
  config: Config;
  backend: Backend;
  /** A statement as the owner, for checking what is really stored (bypasses the API, not the facts). */
  ownerQuery<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
  close(): Promise<void>;
}

/** A Palisade server on a fresh database of the given backend, listening on a free loopback port. */
export interface TestServerOptions {
  /** Use this database instead of a fresh one (it must be migrated by the server; the caller closes it). */
  database?: Database;
  /** Capture log lines instead of discarding them. */
  logDestination?: DestinationStream;
}

export async function startTestServer(
  backend: Backend,
  env: Record<string, string> = {},
  options: TestServerOptions = {},
): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'palisade-test-'));
  let fresh: FreshDatabase | undefined;
  if (backend === 'postgres') fresh = await createFreshDatabase();
  const port = await freeLoopbackPort();
  const inbox = new TestInbox();
  const smtpUrl = await inbox.start();
  const config = loadConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    DATA_DIR: dataDir,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    SEED_DEMO: 'false',
    SMTP_URL: smtpUrl,
    AUTH_SECRET: 'test-secret-that-is-at-least-32-characters-long',
    // Every suite signs up many users from 127.0.0.1: limits and headers stay on, a thousand times wider.
    // test/api/rate-limit.test.ts runs with the real numbers.
    RATE_LIMIT_MULTIPLIER: '1000',
    // Test files share the machine's Redis: servers of one file share counts and events, other files' do not.
    REDIS_KEY_PREFIX: FILE_REDIS_PREFIX,
    ...(fresh ? { DATABASE_URL: fresh.url, APP_DATABASE_URL: fresh.appUrl, DATABASE_POOL_SIZE: '4' } : {}),
    ...env,
  });
  // PGlite in memory: each test server gets its own throwaway database.
  const ownDatabase = !options.database && backend === 'pglite' ? await openDatabase({ dataDir: 'memory://' }) : undefined;
  const server = await createServer(config, {
    database: options.database ?? ownDatabase,
    logDestination: options.logDestination,
  });
  const url = await server.start();
  return {
    url,
    inbox,
    server,
    config,
    backend,
    ownerQuery: (text, params) => server.database.ownerQuery(text, params),
    async close() {
      await server.stop();
      await ownDatabase?.close();
      await inbox.stop();
      await fresh?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
