import postgres from 'postgres';
import { withTenant } from '../../src/db/tenant.ts';
import { type Comparison, compare, type Variant } from '../compare.ts';
import { finishedReaders } from '../finished-readers.ts';
import { closedLoop } from '../loop.ts';
import { getEntry, principalFor } from '../queries.ts';
import { type DbScenarioContext, expectCount, loopOptions, must, rowAt } from './context.ts';

/**
 * context_cost: what the tenant transaction adds to a request's database work. A is audit.get's query inside
 * withTenant, as the query procedure runs it (BEGIN READ ONLY, the enter statement and the query pipelined in
 * one round trip; COMMIT not waited for, and sent ahead of the next transaction's BEGIN when that one starts
 * before the event loop turns, as it does in this closed loop). B is the same query, built the same way, as one autocommit
 * statement: no transaction, no role switch, no context. B runs on the Database's owner pool, which connects
 * with the same URL as the request pool here and has the same size (the Database does not expose its request
 * pool outside a transaction).
 *
 * One worker: the ratio of two latencies, each a request's own database work, which is what the tenant
 * context costs a request. context_cost_loaded runs the same pair with the in-process scenarios' four
 * workers, where the benchmark process's CPU is the bottleneck on two shared cores and the ratio becomes one
 * of client CPU per operation: a transaction is four statements to the driver, an autocommit SELECT one.
 * context_floor_loaded shows the most any client of that driver gets there: postgres.js alone, without
 * Drizzle or Palisade, a pipelined BEGIN READ ONLY, set_config, SELECT, its COMMIT carried the same way
 * (bench/finished-readers.ts), against the bare SELECT.
 */
export async function contextCost(ctx: DbScenarioContext): Promise<Comparison[]> {
  const principals = new Map(ctx.tenantIds.map((t) => [t, principalFor(ctx.database, ctx.user, t)]));
  const tenantTransaction: Variant = {
    label: 'get by id, withTenant transaction',
    key: 'context_tx',
    measure: () => closedLoop(getInTenantTransaction, loopOptions(ctx, 1)),
  };
  const autocommit: Variant = {
    label: 'get by id, one autocommit SELECT',
    key: 'context_autocommit',
    measure: () => closedLoop(getAutocommit, loopOptions(ctx, 1)),
  };
  const rounds = { rounds: ctx.settings.db.rounds, warmup: ctx.settings.warmup };
  const comparisons = [await compare('context_cost', tenantTransaction, autocommit, rounds)];
  comparisons.push(
    await compare(
      'context_cost_loaded',
      { ...tenantTransaction, key: 'context_loaded_tx', measure: () => closedLoop(getInTenantTransaction, loopOptions(ctx)) },
      { ...autocommit, key: 'context_loaded_autocommit', measure: () => closedLoop(getAutocommit, loopOptions(ctx)) },
      rounds,
    ),
  );
  comparisons.push(await contextFloor(ctx));
  return comparisons;

  async function getInTenantTransaction(n: number): Promise<void> {
    const row = rowAt(ctx, n);
    const principal = must(principals.get(row.tenantId), 'principal');
    expectCount(await withTenant(principal, (tx) => getEntry(tx, row.tenantId, row.id)), 1, 'get in tenant transaction');
  }
  async function getAutocommit(n: number): Promise<void> {
    const row = rowAt(ctx, n);
    expectCount(await getEntry(ctx.database.owner, row.tenantId, row.id), 1, 'autocommit get');
  }
}

/** context_floor_loaded: the driver alone, as described above, on a pool of the in-process scenarios' size. */
async function contextFloor(ctx: DbScenarioContext): Promise<Comparison> {
  const sql = postgres(ctx.url, { max: ctx.settings.db.poolSize, onnotice: () => {} });
  const select = getEntry(ctx.database.owner, '', '').toSQL().sql;
  const readers = finishedReaders(sql);
  const pipelined: Variant = {
    label: 'postgres.js alone: BEGIN READ ONLY, set_config, SELECT pipelined, COMMIT with the next',
    key: 'context_floor_tx',
    measure: () =>
      closedLoop(async (n) => {
        const row = rowAt(ctx, n);
        const conn = await readers.take();
        try {
          const begin = conn.unsafe('begin read only').execute();
          const set = conn.unsafe("select set_config('app.tenant_id', $1, true)", [row.tenantId], { prepare: true }).execute();
          const rows = conn.unsafe(select, [row.tenantId, row.id], { prepare: true }).execute();
          await begin;
          await set;
          expectCount(await rows, 1, 'floor get in transaction');
          readers.finish(conn);
        } catch (error) {
          await conn.unsafe('rollback').catch(() => {});
          conn.release();
          throw error;
        }
      }, loopOptions(ctx)),
  };
  const bare: Variant = {
    label: 'postgres.js alone: the SELECT',
    key: 'context_floor_select',
    measure: () =>
      closedLoop(async (n) => {
        const row = rowAt(ctx, n);
        expectCount(await sql.unsafe(select, [row.tenantId, row.id], { prepare: true }), 1, 'floor get');
      }, loopOptions(ctx)),
  };
  try {
    return await compare('context_floor_loaded', pipelined, bare, {
      rounds: ctx.settings.db.rounds,
      warmup: ctx.settings.warmup,
    });
  } finally {
    await sql.end({ timeout: 5 });
  }
}
