import { type Comparison, compare, type Variant } from '../compare.ts';
import { SERVER_URL } from '../database.ts';
import { runPgbench } from '../pgbench.ts';
import { bypassEnterStatementOf, enterStatementOf } from '../queries.ts';
import { type HttpScenarioContext, userVariables, writeAuditGetScript } from './context.ts';

/**
 * rls_cost_get_sql (informational, no target): rls_cost_get without the
 * Node.js client. pgbench runs audit.get's transaction once switching to the
 * request role (policies apply) and once switching to the BYPASSRLS role,
 * everything else equal. With almost no client cost in the way, this shows
 * what the policies cost the database itself; rls_cost_get shows what is left
 * of that once Palisade's own per-transaction work is added.
 */
export async function rlsCostSql(ctx: HttpScenarioContext): Promise<Comparison> {
  const { clients, seconds, rounds } = ctx.settings.sql;
  // The same user as rls_cost_get's principals, so the two ratios differ only by the client.
  const user = ctx.manyTenantsUser;
  const underRls = writeAuditGetScript(ctx, userVariables(user), enterStatementOf(user, ctx.tenantId), 'audit-get-rls.sql');
  const bypass = writeAuditGetScript(
    ctx,
    userVariables(user),
    bypassEnterStatementOf(user, ctx.tenantId),
    'audit-get-bypass.sql',
  );
  // The owner login: the bypass role cannot log in, and both variants must connect the same way.
  const owner = decodeURIComponent(new URL(SERVER_URL).username) || 'postgres';
  const variant = (label: string, key: string, script: { path: string; variables: Record<string, string> }): Variant => ({
    label,
    key,
    measure: () =>
      runPgbench({
        script: script.path,
        variables: script.variables,
        host: ctx.pg.host,
        port: ctx.pg.port,
        user: owner,
        database: ctx.pg.name,
        clients,
        seconds,
        workDir: ctx.workDir,
      }),
  });
  return compare(
    'rls_cost_get_sql',
    variant(`pgbench audit.get transaction, request role (RLS), ${clients} clients`, 'sql_get_rls', underRls),
    variant(`pgbench audit.get transaction, BYPASSRLS role, ${clients} clients`, 'sql_get_bypass', bypass),
    { rounds, warmup: ctx.settings.warmup },
  );
}
