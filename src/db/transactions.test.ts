import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createFreshDatabase, type FreshDatabase } from '../../test/support/postgres.ts';
import { type Database, openDatabase, type Tx } from './client.ts';
import { migrate } from './migrate.ts';
import { queryRows } from './tenant.ts';

/**
 * The transactions `withTenant` opens, at the level of the database handle: a read-only transaction (a
 * query procedure's) refuses writes on either engine, and on server PostgreSQL, where its COMMIT is not
 * waited for, its connection carries nothing else into it.
 */
const TENANT = '00000000-0000-4000-8000-0000000000aa';
const enterTenant = { text: "select pg_catalog.set_config('app.tenant_id', $1, true)", params: [TENANT] };
const contextOf = (tx: Tx) =>
  queryRows<{ tenant: string; readOnly: string }>(
    tx,
    sql`select current_setting('app.tenant_id', true) as tenant, current_setting('transaction_read_only') as "readOnly"`,
  );

for (const backend of ['pglite', 'postgres'] as const) {
  const available = backend === 'pglite' || inject('serverPostgres');
  (available ? describe : describe.skip)(`read-only transactions [${backend}]`, () => {
    let fresh: FreshDatabase | undefined;
    let database: Database;

    beforeAll(async () => {
      if (backend === 'postgres') fresh = await createFreshDatabase();
      // One connection on server PostgreSQL: whatever waits for it must wait for the transaction's COMMIT.
      database = await openDatabase(fresh ? { url: fresh.url, poolSize: 1 } : { dataDir: 'memory://' });
      await migrate(database);
    });
    afterAll(async () => {
      await database?.close();
      await fresh?.drop();
    });

    it('refuse every write, and let read-write transactions write', async () => {
      const write = sql`create temporary table scratch (x int) on commit drop`;
      const refused = await database
        .transaction(enterTenant, (tx) => queryRows(tx, write), 'read only')
        .catch((error: unknown) => error);
      // Drizzle wraps the driver's error; PostgreSQL's code is on its cause.
      expect((refused as { cause?: { code?: string } }).cause?.code).toBe('25006');
      const [context] = await database.transaction(enterTenant, (tx) => contextOf(tx), 'read only');
      expect(context).toEqual({ tenant: TENANT, readOnly: 'on' });
      await expect(database.transaction(enterTenant, (tx) => queryRows(tx, write))).resolves.toEqual([]);
    });

    // Only server PostgreSQL has a pool whose connections statements wait for.
    if (backend === 'postgres') {
      it('hand their connection to the next statement only after their COMMIT, never into the transaction', async () => {
        // A statement queued for the pool's one connection while a read-only transaction holds it. postgres.js
        // sends a statement a tick after it is issued; a connection released as soon as the COMMIT was issued
        // went to the waiting statement first, which then ran inside the transaction, with its tenant.
        const seen: Array<{ tenant: string; readOnly: string }> = [];
        for (let round = 0; round < 100; round++) {
          const transaction = database.transaction(enterTenant, (tx) => contextOf(tx), 'read only');
          const statement = database.statement<{ tenant: string; readOnly: string }>({
            text: `select coalesce(current_setting('app.tenant_id', true), '') as tenant, current_setting('transaction_read_only') as "readOnly"`,
            params: [],
          });
          const [[inside], outside] = await Promise.all([transaction, statement]);
          expect(inside).toEqual({ tenant: TENANT, readOnly: 'on' });
          seen.push(...outside);
        }
        expect(seen).toHaveLength(100);
        expect(seen.filter((row) => row.tenant !== '' || row.readOnly !== 'off')).toEqual([]);
      });

      it('end before the next transaction on their connection begins, also when its BEGIN carries their COMMIT', async () => {
        // The second transaction starts before the event loop turns, so it takes the reader's connection and
        // sends the reader's COMMIT ahead of its own BEGIN. Without that COMMIT its BEGIN would only warn, and
        // it would run inside the reader's transaction: read only, with the reader's start time.
        const OTHER = '00000000-0000-4000-8000-0000000000bb';
        const transactionOf = (tx: Tx) =>
          queryRows<{ pid: number; started: string; tenant: string; readOnly: string }>(
            tx,
            sql`select pg_backend_pid() as pid, now()::text as started, current_setting('app.tenant_id', true) as tenant,
                current_setting('transaction_read_only') as "readOnly"`,
          );
        for (let round = 0; round < 20; round++) {
          const [reader] = await database.transaction(enterTenant, transactionOf, 'read only');
          const [next] = await database.transaction({ text: enterTenant.text, params: [OTHER] }, transactionOf);
          expect(reader).toMatchObject({ tenant: TENANT, readOnly: 'on' });
          expect(next).toMatchObject({ pid: reader?.pid, tenant: OTHER, readOnly: 'off' });
          expect(next?.started).not.toBe(reader?.started);
        }
      });

      it('leave their connection to a transaction that was waiting for one rather than to a newcomer', async () => {
        const startedAt = (tx: Tx) =>
          queryRows<{ at: number }>(tx, sql`select extract(epoch from now())::float8 as at, pg_sleep(0.02)`);
        for (let round = 0; round < 5; round++) {
          const reader = database.transaction(enterTenant, startedAt, 'read only');
          // Waits for the pool's one connection, which the reader holds.
          const waiter = database.transaction(enterTenant, startedAt, 'read only');
          await reader;
          // Starts before the event loop turns, when the reader's connection is still at hand.
          const newcomer = database.transaction(enterTenant, startedAt, 'read only');
          const [[waited], [came]] = await Promise.all([waiter, newcomer]);
          expect(waited?.at).toBeLessThan(came?.at ?? 0);
        }
      });
    }
  });
}
