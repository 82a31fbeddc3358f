import { sql } from 'drizzle-orm';
import type { Statement } from '../../src/db/client.ts';
import { queryRows, type TenantPrincipal, withTenant } from '../../src/db/tenant.ts';
import { type Comparison, compare, type Variant } from '../compare.ts';
import { closedLoop } from '../loop.ts';
import { bypassEnterStatementOf, getEntry, LIST_ROWS, listEntries, principalFor } from '../queries.ts';
import { type DbScenarioContext, expectCount, loopOptions, must, rowAt } from './context.ts';

/**
 * rls_cost_get and rls_cost_list: what row-level security itself costs. A is
 * withTenant, unchanged: one transaction that switches to the request role,
 * enters the tenant (app.enter_tenant), then runs the query under the
 * policies. B is the same Database.transaction (READ ONLY, as the query
 * procedures' are) with the same enter statement and the same query, but
 * switching to a BYPASSRLS role, so only the query's
 * explicit tenant_id predicate applies. The ratio A/B of throughputs is 1.0
 * when the policies cost nothing.
 */
interface Prepared {
  principals: Map<string, TenantPrincipal>;
  bypassEnter: Map<string, Statement>;
}

function prepare(ctx: DbScenarioContext): Prepared {
  return {
    principals: new Map(ctx.tenantIds.map((t) => [t, principalFor(ctx.database, ctx.user, t)])),
    bypassEnter: new Map(ctx.tenantIds.map((t) => [t, bypassEnterStatementOf(ctx.user, t)])),
  };
}

/** Proves the variants are what they claim: A sees only its tenant's rows, B sees every tenant's. */
async function checkVariants(ctx: DbScenarioContext, prepared: Prepared): Promise<void> {
  const tenantId = must(ctx.tenantIds[0], 'tenant');
  const othersVisible = sql`select exists (select 1 from app.audit_log where tenant_id <> ${tenantId}) as visible`;
  const [rls] = await withTenant(must(prepared.principals.get(tenantId), 'principal'), (tx) =>
    queryRows<{ visible: boolean }>(tx, othersVisible),
  );
  const [bypass] = await ctx.database.transaction(must(prepared.bypassEnter.get(tenantId), 'bypass statement'), (tx) =>
    queryRows<{ visible: boolean }>(tx, othersVisible),
  );
  if (rls?.visible !== false) throw new Error('RLS variant sees other tenants: the comparison would be meaningless');
  if (bypass?.visible !== true) throw new Error('bypass variant does not bypass RLS');
}

export async function rlsCostGet(ctx: DbScenarioContext): Promise<Comparison> {
  const prepared = prepare(ctx);
  await checkVariants(ctx, prepared);
  const underRls: Variant = {
    label: 'get by id, withTenant (RLS)',
    key: 'rls_get_rls',
    measure: () =>
      closedLoop(async (n) => {
        const row = rowAt(ctx, n);
        const principal = must(prepared.principals.get(row.tenantId), 'principal');
        expectCount(await withTenant(principal, (tx) => getEntry(tx, row.tenantId, row.id)), 1, 'get under RLS');
      }, loopOptions(ctx)),
  };
  const bypass: Variant = {
    label: 'get by id, BYPASSRLS role',
    key: 'rls_get_bypass',
    measure: () =>
      closedLoop(async (n) => {
        const row = rowAt(ctx, n);
        const enter = must(prepared.bypassEnter.get(row.tenantId), 'bypass statement');
        expectCount(
          await ctx.database.transaction(enter, (tx) => getEntry(tx, row.tenantId, row.id), 'read only'),
          1,
          'get bypassing RLS',
        );
      }, loopOptions(ctx)),
  };
  return compare('rls_cost_get', underRls, bypass, { rounds: ctx.settings.db.rounds, warmup: ctx.settings.warmup });
}

export async function rlsCostList(ctx: DbScenarioContext): Promise<Comparison> {
  const prepared = prepare(ctx);
  const tenantAt = (n: number) => must(ctx.tenantIds[n % ctx.tenantIds.length], 'tenant');
  const underRls: Variant = {
    label: `list ${LIST_ROWS - 1} newest, withTenant (RLS)`,
    key: 'rls_list_rls',
    measure: () =>
      closedLoop(async (n) => {
        const tenantId = tenantAt(n);
        const principal = must(prepared.principals.get(tenantId), 'principal');
        expectCount(await withTenant(principal, (tx) => listEntries(tx, tenantId)), LIST_ROWS, 'list under RLS');
      }, loopOptions(ctx)),
  };
  const bypass: Variant = {
    label: `list ${LIST_ROWS - 1} newest, BYPASSRLS role`,
    key: 'rls_list_bypass',
    measure: () =>
      closedLoop(async (n) => {
        const tenantId = tenantAt(n);
        const enter = must(prepared.bypassEnter.get(tenantId), 'bypass statement');
        expectCount(
          await ctx.database.transaction(enter, (tx) => listEntries(tx, tenantId), 'read only'),
          LIST_ROWS,
          'list bypassing RLS',
        );
      }, loopOptions(ctx)),
  };
  return compare('rls_cost_list', underRls, bypass, { rounds: ctx.settings.db.rounds, warmup: ctx.settings.warmup });
}
