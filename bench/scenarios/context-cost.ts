import { withTenant } from '../../src/db/tenant.ts';
import { type Comparison, compare, type Variant } from '../compare.ts';
import { closedLoop } from '../loop.ts';
import { getEntry, principalFor } from '../queries.ts';
import { type DbScenarioContext, expectCount, loopOptions, must, rowAt } from './context.ts';

/**
 * context_cost: what the tenant transaction costs around a query. A is
 * audit.get's query inside withTenant (BEGIN, the enter statement, the query,
 * COMMIT: two round trips, the first three statements pipelined). B is the
 * same query, built the same way, as one autocommit statement: no
 * transaction, no role switch, no context. B runs on the Database's owner
 * pool, which connects with the same URL as the request pool here and has the
 * same size (the Database does not expose its request pool outside a
 * transaction).
 */
export async function contextCost(ctx: DbScenarioContext): Promise<Comparison> {
  const principals = new Map(ctx.tenantIds.map((t) => [t, principalFor(ctx.database, ctx.user, t)]));
  const tenantTransaction: Variant = {
    label: 'get by id, withTenant transaction',
    key: 'context_tx',
    measure: () =>
      closedLoop(async (n) => {
        const row = rowAt(ctx, n);
        const principal = must(principals.get(row.tenantId), 'principal');
        expectCount(await withTenant(principal, (tx) => getEntry(tx, row.tenantId, row.id)), 1, 'get in tenant transaction');
      }, loopOptions(ctx)),
  };
  const autocommit: Variant = {
    label: 'get by id, one autocommit SELECT',
    key: 'context_autocommit',
    measure: () =>
      closedLoop(async (n) => {
        const row = rowAt(ctx, n);
        expectCount(await getEntry(ctx.database.owner, row.tenantId, row.id), 1, 'autocommit get');
      }, loopOptions(ctx)),
  };
  return compare('context_cost', tenantTransaction, autocommit, { rounds: ctx.settings.db.rounds, warmup: true });
}
