import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { waitUntil } from './wait.ts';

/** The server PostgreSQL the suites use; a fresh database is created on it per test file. */
export const SERVER_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

let reachable: Promise<boolean> | undefined;

export function serverPostgresReachable(): Promise<boolean> {
  reachable ??= (async () => {
    const sql = postgres(SERVER_URL, { max: 1, connect_timeout: 3, onnotice: () => {} });
    try {
      await sql`select 1`;
      return true;
    } catch {
      return false;
    } finally {
      await sql.end({ timeout: 1 });
    }
  })();
  return reachable;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

export interface FreshDatabase {
  name: string;
  /** Owner (superuser here) connection string. */
  url: string;
  /** The request role's own login, as production would configure APP_DATABASE_URL. */
  appUrl: string;
  drop(): Promise<void>;
}

/** A new, empty database on the server, dropped again by `drop()`. */
export async function createFreshDatabase(): Promise<FreshDatabase> {
  const name = `palisade_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(SERVER_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = withDatabase(SERVER_URL, name);
  const app = new URL(url);
  app.username = 'palisade_app';
  app.password = '';
  return {
    name,
    url,
    appUrl: app.toString(),
    async drop() {
      const sql = postgres(SERVER_URL, { max: 1, onnotice: () => {} });
      await sql.unsafe(`drop database if exists ${name} with (force)`);
      await sql.end();
    },
  };
}

/**
 * Waits until some connection to this database waits for a lock: the request under test has queued behind
 * the lock `sql` holds, so what the holder commits next is what that request finds when it goes on.
 */
export async function untilALockIsAwaited(sql: postgres.Sql | postgres.TransactionSql): Promise<void> {
  await waitUntil('a connection waiting for a lock', async () => {
    const [row] = await sql<{ n: number }[]>`select count(*)::int as n from pg_stat_activity
                                              where datname = current_database() and wait_event_type = 'Lock'`;
    return (row?.n ?? 0) > 0;
  });
}
