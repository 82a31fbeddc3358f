import { type Comparison, compare, type Variant } from '../compare.ts';
import { expectJson, runAutocannon } from '../http.ts';
import { runPgbench } from '../pgbench.ts';
import { enterStatementOf } from '../queries.ts';
import { type HttpScenarioContext, writeAuditGetScript } from './context.ts';

/**
 * http_vs_pgbench: GET /api/v1/audit-log/{id} through the whole server
 * (session cookie, X-Tenant-Id, Better Auth session lookup, membership check,
 * withTenant, JSON) against the floor a user would compare it with: pgbench
 * sending only the transaction withTenant sends for it (BEGIN, the enter
 * statement, the same SELECT, COMMIT), prepared, as the request role, with as
 * many clients as autocannon has connections, for as long.
 */
export function restUrl(ctx: HttpScenarioContext): string {
  return `${ctx.baseUrl}/api/v1/audit-log/${ctx.rowId}`;
}

export function sessionHeaders(ctx: HttpScenarioContext): Record<string, string> {
  return { cookie: ctx.user.cookie, 'x-tenant-id': ctx.tenantId };
}

export async function httpVsPgbench(ctx: HttpScenarioContext): Promise<Comparison> {
  const { connections, seconds, rounds } = ctx.settings.http;
  await expectJson(restUrl(ctx), sessionHeaders(ctx), (body) => (body as { id?: string }).id === ctx.rowId);
  const script = writeAuditGetScript(ctx, ctx.user, enterStatementOf(ctx.user, ctx.tenantId), 'audit-get.sql');
  const rest: Variant = {
    label: `REST GET /api/v1/audit-log/{id}, ${connections} connections`,
    key: 'http_rest',
    measure: () => runAutocannon({ url: restUrl(ctx), headers: sessionHeaders(ctx), connections, seconds }),
  };
  const pgbench: Variant = {
    label: `pgbench, same transaction, ${connections} clients`,
    key: 'pgbench',
    measure: () =>
      runPgbench({
        script: script.path,
        variables: script.variables,
        host: ctx.pg.host,
        port: ctx.pg.port,
        user: 'palisade_app',
        database: ctx.pg.name,
        clients: connections,
        seconds,
        workDir: ctx.workDir,
      }),
  };
  return compare('http_vs_pgbench', rest, pgbench, { rounds, warmup: true });
}
