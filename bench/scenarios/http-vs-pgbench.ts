import { type Comparison, compare, type Variant } from '../compare.ts';
import { expectJson, runAutocannon } from '../http.ts';
import { runPgbench } from '../pgbench.ts';
import { apiKeyEnterStatementOf } from '../queries.ts';
import { type HttpScenarioContext, writeAuditGetScript } from './context.ts';

/**
 * http_vs_pgbench: GET /api/v1/audit-log/{id} through the whole server (API
 * key lookup, scope and role check, withTenant, JSON), as an integrator calls
 * it, against the floor a user would compare it with: pgbench sending only
 * the transaction withTenant sends for it (BEGIN, the API key's enter
 * statement, the same SELECT, COMMIT), prepared, as the request role, with as
 * many clients as autocannon has connections, for as long.
 */
export function restUrl(ctx: HttpScenarioContext): string {
  return `${ctx.baseUrl}/api/v1/audit-log/${ctx.rowId}`;
}

/** An integrator's request: the key alone names the tenant. */
export function keyHeaders(ctx: HttpScenarioContext): Record<string, string> {
  return { 'x-api-key': ctx.apiKey.secret };
}

/** A browser's request: the session cookie and the tenant it acts in. */
export function sessionHeaders(ctx: HttpScenarioContext): Record<string, string> {
  return { cookie: ctx.user.cookie, 'x-tenant-id': ctx.tenantId };
}

export const isTargetRow = (ctx: HttpScenarioContext) => (body: unknown) => (body as { id?: string }).id === ctx.rowId;

export async function httpVsPgbench(ctx: HttpScenarioContext): Promise<Comparison> {
  const { connections, seconds, rounds } = ctx.settings.http;
  await expectJson(restUrl(ctx), keyHeaders(ctx), isTargetRow(ctx));
  const rest: Variant = {
    label: `REST GET /api/v1/audit-log/{id}, API key, ${connections} connections`,
    key: 'http_rest_key',
    measure: () => runAutocannon({ url: restUrl(ctx), headers: keyHeaders(ctx), connections, seconds, serverPid: ctx.serverPid }),
  };
  const pgbench = apiKeyPgbench(ctx, 'pgbench');
  return compare('http_vs_pgbench', rest, pgbench, { rounds, warmup: ctx.settings.warmup });
}

/**
 * pgbench sending audit.get's transaction as an API key's request opens it (the key's enter statement), as
 * the request role, with as many clients as autocannon has connections, for as long.
 */
export function apiKeyPgbench(ctx: HttpScenarioContext, key: string): Variant {
  const { connections, seconds } = ctx.settings.http;
  const script = writeAuditGetScript(
    ctx,
    { api_key_id: ctx.apiKey.id },
    apiKeyEnterStatementOf(ctx.tenantId, ctx.apiKey.id),
    `audit-get-api-key-${key}.sql`,
  );
  return {
    label: `pgbench, same transaction, ${connections} clients`,
    key,
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
}
