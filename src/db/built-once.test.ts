import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createFreshDatabase, type FreshDatabase } from '../../test/support/postgres.ts';
import { auditLog } from '../audit/schema.ts';
import { type Database, openDatabase, type Tx } from './client.ts';
import { migrate } from './migrate.ts';
import { builtOnce, withSystemTenant } from './tenant.ts';

/**
 * builtOnce: the recorded query runs in the calling transaction, under its tenant context, and answers
 * exactly what the same query built by Drizzle on every call answers.
 */
const entryColumns = { id: auditLog.id, action: auditLog.action, data: auditLog.data, createdAt: auditLog.createdAt };
const entryById = builtOnce((db) =>
  db
    .select(entryColumns)
    .from(auditLog)
    .where(and(eq(auditLog.tenantId, sql.placeholder('tenantId')), eq(auditLog.id, sql.placeholder('id')))),
);
const builtEachTime = (tx: Tx, tenantId: string, id: string) =>
  tx
    .select(entryColumns)
    .from(auditLog)
    .where(and(eq(auditLog.tenantId, tenantId), eq(auditLog.id, id)));

/** All of a tenant's entries, oldest first: a recorded query without placeholders. */
const everyEntry = builtOnce((db) => db.select({ id: auditLog.id }).from(auditLog).orderBy(auditLog.createdAt));

for (const backend of ['pglite', 'postgres'] as const) {
  const available = backend === 'pglite' || inject('serverPostgres');
  (available ? describe : describe.skip)(`builtOnce [${backend}]`, () => {
    let fresh: FreshDatabase | undefined;
    let database: Database;
    const tenants: string[] = [];
    const entries = new Map<string, string>();

    beforeAll(async () => {
      if (backend === 'postgres') fresh = await createFreshDatabase();
      database = await openDatabase(fresh ? { url: fresh.url, poolSize: 2 } : { dataDir: 'memory://' });
      await migrate(database);
      for (const slug of ['built-once-a', 'built-once-b']) {
        const [tenant] = await database.ownerQuery<{ id: string }>(
          'insert into app.tenants (name, slug) values ($1, $1) returning id',
          [slug],
        );
        const [entry] = await database.ownerQuery<{ id: string }>(
          `insert into app.audit_log (tenant_id, action, target_type, data) values ($1, 'test.recorded', 'test', $2::jsonb) returning id`,
          [tenant?.id, JSON.stringify({ slug })],
        );
        if (!tenant || !entry) throw new Error('setup inserted nothing');
        tenants.push(tenant.id);
        entries.set(tenant.id, entry.id);
      }
    });
    afterAll(async () => {
      await database?.close();
      await fresh?.drop();
    });

    it('answers what the query built on every call answers, rows mapped alike', async () => {
      for (const tenantId of tenants) {
        const id = entries.get(tenantId) ?? '';
        const [recorded, built] = await withSystemTenant(database, tenantId, async (tx) => [
          await entryById(tx, { tenantId, id }),
          await builtEachTime(tx, tenantId, id),
        ]);
        expect(recorded).toHaveLength(1);
        expect(recorded).toEqual(built);
        expect(recorded?.[0]?.createdAt).toBeInstanceOf(Date);
      }
    });

    it("runs under the calling transaction's tenant: another tenant's row stays invisible even when named", async () => {
      const [a, b] = tenants as [string, string];
      const bEntry = entries.get(b) ?? '';
      // Row-level security, not the placeholder, keeps tenant B's entry out of tenant A's transaction.
      const named = await withSystemTenant(database, a, (tx) => entryById(tx, { tenantId: b, id: bEntry }));
      expect(named).toEqual([]);
      const all = await withSystemTenant(database, a, (tx) => everyEntry(tx, {}));
      expect(all.map((row) => row.id)).toEqual([entries.get(a)]);
      // The same recorded query, in tenant B's transaction, sees B's entry alone.
      const outside = await withSystemTenant(database, b, (tx) => everyEntry(tx, {}));
      expect(outside.map((row) => row.id)).toEqual([bEntry]);
    });

    it('refuses a missing placeholder value rather than sending the query without it', async () => {
      const [a] = tenants as [string];
      const missing = withSystemTenant(database, a, (tx) => entryById(tx, { tenantId: a } as never));
      await expect(missing).rejects.toThrow(/placeholder/i);
    });
  });
}
