import { fileURLToPath } from 'node:url';
import { freeLoopbackPort } from '../../test/support/free-port.ts';
import { type Comparison, compare, type Variant } from '../compare.ts';
import { expectJson, runAutocannon, type ServerProcess, spawnListening } from '../http.ts';
import { apiKeyEnterStatementOf, getEntry } from '../queries.ts';
import type { HttpScenarioContext } from './context.ts';
import { apiKeyPgbench, isTargetRow, keyHeaders, restUrl } from './http-vs-pgbench.ts';

const FLOOR_ENTRY = fileURLToPath(new URL('../floor-server.ts', import.meta.url));

/**
 * http_floor_vs_pgbench and http_vs_floor (informational): where http_vs_pgbench's ceiling lies on this
 * machine. The floor server (bench/floor-server.ts) is the least a Node.js HTTP server can do for audit.get:
 * one Fastify route sending the very transaction Palisade sends (BEGIN READ ONLY, the API key's enter
 * statement, the SELECT, COMMIT not waited for) over postgres.js, and nothing else. Its rate against pgbench's
 * is the most any Node.js server reaches here; Palisade's rate against the floor's is how much of that the
 * product keeps while authenticating, validating, logging and measuring every request.
 */
export async function httpFloor(ctx: HttpScenarioContext): Promise<Comparison[]> {
  const { connections, seconds, rounds } = ctx.settings.http;
  const enter = apiKeyEnterStatementOf(ctx.tenantId, ctx.apiKey.id);
  const select = getEntry(ctx.database.owner, ctx.tenantId, ctx.rowId).toSQL();
  if (select.params[0] !== ctx.tenantId || select.params[1] !== ctx.rowId) throw new Error('unexpected audit.get parameters');
  // Stopped below; it also exits by itself when the benchmark process goes away.
  const floor = await startFloorServer({
    FLOOR_DATABASE_URL: ctx.pg.appUrl,
    FLOOR_POOL_SIZE: String(ctx.settings.http.serverPoolSize),
    FLOOR_TENANT_ID: ctx.tenantId,
    FLOOR_STATEMENTS: JSON.stringify({ enter, select: select.sql }),
  });
  const floorUrl = `${floor.url}/audit-log/${ctx.rowId}`;
  await expectJson(floorUrl, {}, (body) => (body as { id?: string }).id === ctx.rowId);
  await expectJson(restUrl(ctx), keyHeaders(ctx), isTargetRow(ctx));
  const floorVariant: Variant = {
    label: `floor: bare Fastify + postgres.js, same transaction, ${connections} connections`,
    key: 'http_floor',
    measure: () => runAutocannon({ url: floorUrl, headers: {}, connections, seconds, serverPid: floor.pid }),
  };
  const pgbench = apiKeyPgbench(ctx, 'floor_pgbench');
  const rest: Variant = {
    label: `REST GET /api/v1/audit-log/{id}, API key, ${connections} connections`,
    key: 'floor_rest',
    measure: () => runAutocannon({ url: restUrl(ctx), headers: keyHeaders(ctx), connections, seconds, serverPid: ctx.serverPid }),
  };
  try {
    const comparisons: Comparison[] = [];
    comparisons.push(await compare('http_floor_vs_pgbench', floorVariant, pgbench, { rounds, warmup: ctx.settings.warmup }));
    comparisons.push(await compare('http_vs_floor', rest, floorVariant, { rounds, warmup: ctx.settings.warmup }));
    return comparisons;
  } finally {
    await floor.stop();
  }
}

/** Starts the floor server on a free loopback port. */
async function startFloorServer(env: Record<string, string>): Promise<ServerProcess> {
  const port = await freeLoopbackPort();
  return spawnListening(FLOOR_ENTRY, {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    PORT: String(port),
    ...env,
  });
}
