import { type Comparison, compare, type Variant } from '../compare.ts';
import { expectJson, runAutocannon } from '../http.ts';
import type { HttpScenarioContext } from './context.ts';
import { isTargetRow, keyHeaders, restUrl } from './http-vs-pgbench.ts';

/**
 * trpc_vs_rest: the same procedure (audit.get) over both transports, same
 * API key, same row, same connections. Both end in the same procedure call;
 * the ratio is what tRPC's HTTP handling costs relative to the REST adapter.
 */
export async function trpcVsRest(ctx: HttpScenarioContext): Promise<Comparison> {
  const { connections, seconds, rounds } = ctx.settings.http;
  const trpcUrl = `${ctx.baseUrl}/trpc/audit.get?input=${encodeURIComponent(JSON.stringify({ id: ctx.rowId }))}`;
  await expectJson(
    trpcUrl,
    keyHeaders(ctx),
    (body) => (body as { result?: { data?: { id?: string } } }).result?.data?.id === ctx.rowId,
  );
  await expectJson(restUrl(ctx), keyHeaders(ctx), isTargetRow(ctx));
  const trpc: Variant = {
    label: `tRPC GET /trpc/audit.get, ${connections} connections`,
    key: 'trpc',
    measure: () => runAutocannon({ url: trpcUrl, headers: keyHeaders(ctx), connections, seconds, serverPid: ctx.serverPid }),
  };
  const rest: Variant = {
    label: `REST GET /api/v1/audit-log/{id}, ${connections} connections`,
    key: 'trpc_baseline_rest',
    measure: () => runAutocannon({ url: restUrl(ctx), headers: keyHeaders(ctx), connections, seconds, serverPid: ctx.serverPid }),
  };
  return compare('trpc_vs_rest', trpc, rest, { rounds, warmup: ctx.settings.warmup });
}
