import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Database } from './client.ts';

const migrationsFolder = fileURLToPath(new URL('./migrations', import.meta.url));
const hardenSql = readFileSync(fileURLToPath(new URL('./harden.sql', import.meta.url)), 'utf8');

/** Serialises migrations across processes that start at the same time. */
const MIGRATION_LOCK = 7_470_001;

/**
 * Applies pending migrations as the owner, then hardens the app schema (FORCE
 * RLS and the request role's grants on every table). Safe to run concurrently.
 */
export async function migrate(database: Database): Promise<void> {
  if (database.kind === 'pglite') {
    const { migrate: run } = await import('drizzle-orm/pglite/migrator');
    await run(database.owner as never, { migrationsFolder });
    await database.ownerScript(hardenSql);
    return;
  }
  const { migrate: run } = await import('drizzle-orm/postgres-js/migrator');
  await database.withOwnerLock(MIGRATION_LOCK, async () => {
    await run(database.owner as never, { migrationsFolder });
    await database.ownerScript(hardenSql);
  });
}

/** True when every migration in this build has been applied. */
export async function migrationsCurrent(database: Database): Promise<boolean> {
  const journal = JSON.parse(readFileSync(`${migrationsFolder}/meta/_journal.json`, 'utf8')) as {
    entries: Array<{ when: number }>;
  };
  const newest = Math.max(...journal.entries.map((e) => e.when));
  const rows = await database
    .ownerQuery<{ created_at: string }>('select max(created_at) as created_at from drizzle.__drizzle_migrations')
    .catch(() => []);
  return Number(rows[0]?.created_at ?? 0) >= newest;
}
