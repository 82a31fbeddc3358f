import { type Comparison, compare, type Variant } from '../compare.ts';
import { expectJson, runAutocannon } from '../http.ts';
import type { HttpScenarioContext } from './context.ts';
import { isTargetRow, keyHeaders, restUrl, sessionHeaders } from './http-vs-pgbench.ts';

/**
 * session_vs_api_key (informational, no target): http_vs_pgbench's request
 * with the session cookie and X-Tenant-Id (A), as a browser sends it, against
 * the same request with the API key (B), same tenant, row and connections. A
 * session request pays Better Auth's session lookup (cookie signature, session
 * and user statements) and the membership check; a key request pays one
 * statement that resolves the key. The ratio shows what the session path costs.
 */
export async function sessionVsApiKey(ctx: HttpScenarioContext): Promise<Comparison> {
  const { connections, seconds, rounds } = ctx.settings.http;
  await expectJson(restUrl(ctx), sessionHeaders(ctx), isTargetRow(ctx));
  const request = (label: string, key: string, headers: Record<string, string>): Variant => ({
    label,
    key,
    measure: () => runAutocannon({ url: restUrl(ctx), headers, connections, seconds, serverPid: ctx.serverPid }),
  });
  return compare(
    'session_vs_api_key',
    request(`REST GET, session cookie, ${connections} connections`, 'rest_session', sessionHeaders(ctx)),
    request(`REST GET, API key, ${connections} connections`, 'rest_api_key', keyHeaders(ctx)),
    { rounds, warmup: ctx.settings.warmup },
  );
}
