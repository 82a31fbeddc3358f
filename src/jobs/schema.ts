import { sql } from 'drizzle-orm';
import { index, integer, pgPolicy, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { appRole, appSchema, CURRENT_TENANT_SQL, IS_WORKER_SQL, tenants } from '../db/tenant-table.ts';

/**
 * The background work queue: ids and times only, no tenant data. A tenant
 * transaction may enqueue jobs for its own tenant; only a worker transaction
 * (app.worker = 'on', see db/tenant.ts) may see, claim or finish them, and it
 * then processes each job inside that job's tenant. Claims are leases
 * (`claimed_until`), renewed while a handler runs, so a crashed process's
 * jobs are retried by another. `attempts` counts claims and identifies the
 * current one: a runner finishes a job only while it still holds that claim.
 * `failed_attempts` counts only handlers that threw; at the runner's limit the
 * job gets `dead_at` and stays for inspection without being claimed again.
 * A reviewed global table (see the catalog test).
 */
export const jobs = appSchema
  .table(
    'jobs',
    {
      id: uuid('id').primaryKey().defaultRandom(),
      tenantId: uuid('tenant_id')
        .notNull()
        .references(() => tenants.id, { onDelete: 'cascade' }),
      kind: text('kind').notNull(),
      refId: uuid('ref_id').notNull(),
      runAt: timestamp('run_at', { withTimezone: true, mode: 'date' }).notNull().default(sql`now()`),
      attempts: integer('attempts').notNull().default(0),
      failedAttempts: integer('failed_attempts').notNull().default(0),
      claimedUntil: timestamp('claimed_until', { withTimezone: true, mode: 'date' }),
      lastError: text('last_error'),
      deadAt: timestamp('dead_at', { withTimezone: true, mode: 'date' }),
      createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().default(sql`now()`),
    },
    (t) => [
      // Dead jobs stay in the table; the claiming scan never walks past them.
      index('jobs_due_idx').on(t.runAt).where(sql`dead_at is null`),
      index('jobs_tenant_idx').on(t.tenantId, t.kind),
      pgPolicy('jobs_enqueue', { for: 'insert', to: appRole, withCheck: sql.raw(`tenant_id = ${CURRENT_TENANT_SQL}`) }),
      pgPolicy('jobs_worker_select', { for: 'select', to: appRole, using: sql.raw(IS_WORKER_SQL) }),
      pgPolicy('jobs_worker_update', {
        for: 'update',
        to: appRole,
        using: sql.raw(IS_WORKER_SQL),
        withCheck: sql.raw(IS_WORKER_SQL),
      }),
      pgPolicy('jobs_worker_delete', { for: 'delete', to: appRole, using: sql.raw(IS_WORKER_SQL) }),
    ],
  )
  .enableRLS();
