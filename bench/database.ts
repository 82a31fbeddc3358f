import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

/**
 * The server PostgreSQL the benchmark runs against, and the throwaway database
 * and BYPASSRLS role it creates there. Loopback only: the benchmark refuses any
 * other host, so it can never load a million rows into a shared server by accident.
 */
export const SERVER_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A role used only by the benchmark's reference variant: BYPASSRLS, no login, no other rights than SELECT. */
export const BYPASS_ROLE = 'palisade_bench_bypass';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

export function assertLoopback(url: string, variable = 'BENCH_DATABASE_URL'): void {
  const host = new URL(url).hostname;
  if (!LOOPBACK.has(host)) throw new Error(`the benchmark targets loopback only; ${variable} points at ${host}`);
}

function withDatabase(url: string, name: string, user?: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  if (user) {
    u.username = user;
    u.password = '';
  }
  return u.toString();
}

export interface BenchDatabase {
  name: string;
  /** Owner (superuser) connection string. */
  url: string;
  /** The request role's own login, as production configures APP_DATABASE_URL. */
  appUrl: string;
  host: string;
  port: string;
  /** Grants the bypass role read access to the tables the reference variant reads. */
  createBypassRole(): Promise<void>;
  /** Drops the database (forcing out any connection left) and the bypass role if this one created it. Safe to call twice. */
  drop(): Promise<void>;
}

async function admin<T>(fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(SERVER_URL, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export async function createBenchDatabase(): Promise<BenchDatabase> {
  assertLoopback(SERVER_URL);
  const name = `palisade_bench_${process.pid}_${randomBytes(3).toString('hex')}`;
  await admin((sql) => sql.unsafe(`create database ${name}`));
  const url = withDatabase(SERVER_URL, name);
  const parsed = new URL(url);
  let dropped = false;
  let roleCreated = false;
  return {
    name,
    url,
    appUrl: withDatabase(SERVER_URL, name, 'palisade_app'),
    host: parsed.hostname,
    port: parsed.port || '5432',
    async createBypassRole() {
      roleCreated = true;
      await admin(async (sql) => {
        // Roles are cluster-wide: a leftover from an interrupted run is reused.
        await sql.unsafe(`do $$ begin
            create role ${BYPASS_ROLE} nologin bypassrls noinherit;
          exception when duplicate_object then null; end $$`);
      });
      const sql = postgres(url, { max: 1, onnotice: () => {} });
      try {
        await sql.unsafe(`grant usage on schema app to ${BYPASS_ROLE}`);
        await sql.unsafe(`grant select on app.audit_log, app.memberships, app.tenants to ${BYPASS_ROLE}`);
      } finally {
        await sql.end({ timeout: 5 });
      }
    },
    async drop() {
      if (dropped) return;
      dropped = true;
      await admin(async (sql) => {
        await sql.unsafe(`drop database if exists ${name} with (force)`);
        if (!roleCreated) return;
        // Fails only if another database still grants it something (a concurrent run); then it is left in place.
        await sql.unsafe(`drop role if exists ${BYPASS_ROLE}`).catch((error: unknown) => {
          console.warn(`bench: role ${BYPASS_ROLE} kept: ${error instanceof Error ? error.message : error}`);
        });
      });
    },
  };
}
