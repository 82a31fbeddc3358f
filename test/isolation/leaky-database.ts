import { setTimeout as sleep } from 'node:timers/promises';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import type { Database, Statement, Tx } from '../../src/db/client.ts';

/**
 * A deliberately broken Database for the concurrency suite's leak proof: the
 * classic bug of seed 001, where the tenant context is SET for the session on
 * whichever pooled connection happens to run that statement, and the
 * request's queries then run on the pool outside any transaction, on whatever
 * connection (and whatever context) they get.
 *
 * It wraps a real Database: migrations, the auth library and everything that
 * is not a tenant or user transaction go to the real one unchanged, and so
 * does everything while `control.leaking` is false (fixtures are built that way).
 */
export interface LeakControl {
  /** Off while fixtures are built, on for the load. */
  leaking: boolean;
  /** Transactions that took the broken path. */
  leakyTransactions: number;
}

export interface LeakyDatabase {
  database: Database;
  control: LeakControl;
  /** Releases what the wrapper opened itself (not the real database). */
  close(): Promise<void>;
}

interface SessionContext {
  tenantId: string;
  userId: string;
  email: string;
}

/**
 * The context a withTenant / withUser statement (src/db/tenant.ts) would set
 * transaction-locally, read from its parameters. Other statements (platform
 * admin, operator actions) are not part of the load and keep the real path.
 */
function contextOf(enter: Statement): SessionContext | undefined {
  const [first, second, third] = enter.params.map((p) => (p === null || p === undefined ? '' : String(p)));
  if (enter.text.includes('app.enter_tenant(')) return { tenantId: first ?? '', userId: second ?? '', email: third ?? '' };
  if (enter.text.includes('app.enter_user(')) return { tenantId: '', userId: first ?? '', email: second ?? '' };
  return undefined;
}

const SET_SESSION_CONTEXT =
  "select pg_catalog.set_config('app.tenant_id', $1, false), pg_catalog.set_config('app.user_id', $2, false), pg_catalog.set_config('app.user_email', $3, false)";

/**
 * Server PostgreSQL: a second postgres.js pool on the same database, logged
 * in as the request role. The context goes to one pooled connection at
 * session level; fn's queries go to the pool, one connection each.
 */
export function leakyPostgres(real: Database, appUrl: string, poolSize: number): LeakyDatabase {
  const pool = postgres(appUrl, { max: poolSize, onnotice: () => {} });
  const onPool = drizzle(pool) as unknown as Tx;
  const control: LeakControl = { leaking: false, leakyTransactions: 0 };
  const database = withTransaction(real, async (enter, fn) => {
    const context = contextOf(enter);
    if (!control.leaking || !context) return real.transaction(enter, fn);
    control.leakyTransactions++;
    await pool.unsafe(SET_SESSION_CONTEXT, [context.tenantId, context.userId, context.email]);
    return fn(onPool);
  });
  return { database, control, close: () => pool.end({ timeout: 5 }) };
}

/**
 * PGlite has one connection, so the same bug needs interleaving to show: the
 * context is set for the session, the request yields to the event loop (as
 * a real handler would between awaits) and other requests overwrite it, and
 * its queries then run as the request role with whatever context is current.
 */
export function leakyPglite(real: Database): LeakyDatabase {
  const control: LeakControl = { leaking: false, leakyTransactions: 0 };
  const database = withTransaction(real, async (enter, fn) => {
    const context = contextOf(enter);
    if (!control.leaking || !context) return real.transaction(enter, fn);
    control.leakyTransactions++;
    await real.ownerQuery(SET_SESSION_CONTEXT, [context.tenantId, context.userId, context.email]);
    await sleep(1);
    // Only the role is switched (the owner would bypass RLS); the tenant is whatever the session holds now.
    return real.transaction({ text: "select pg_catalog.set_config('role', 'palisade_app', true)", params: [] }, fn);
  });
  return { database, control, close: async () => {} };
}

/**
 * The real database with another transaction(). Everything else (owner
 * queries, migrations, LISTEN, whatever the interface grows next) reaches the
 * real one unchanged; the harness closes the real one itself.
 */
function withTransaction(real: Database, transaction: Database['transaction']): Database {
  return new Proxy(real, {
    get: (target, property, receiver) => (property === 'transaction' ? transaction : Reflect.get(target, property, receiver)),
  });
}
