import { join } from 'node:path';
import type { Database, Statement } from '../../src/db/client.ts';
import type { ApiKey } from '../api.ts';
import type { BenchRow } from '../data.ts';
import type { ServerProcess } from '../http.ts';
import { writeScript } from '../pgbench.ts';
import { type BenchUser, getEntry } from '../queries.ts';
import type { BenchSettings } from '../settings.ts';

/** What the in-process scenarios share: the database handle Palisade uses, and rows to read. */
export interface DbScenarioContext {
  /** Opened with the owner URL only, so each transaction switches role (the request role, or the bypass role). */
  database: Database;
  /** That owner URL, for the scenarios that measure the driver alone. */
  url: string;
  /** A member (admin) of every benchmark tenant. */
  user: BenchUser;
  rows: BenchRow[];
  tenantIds: string[];
  settings: BenchSettings;
}

/** What the HTTP and pgbench scenarios share: a running server, a signed-in member, and one row of their tenant. */
export interface HttpScenarioContext {
  baseUrl: string;
  /** The server's process id: its CPU is counted apart (cpu-split.ts). */
  serverPid: number;
  /** Signed in, admin of a few tenants (as most users are), among them `tenantId`. */
  user: BenchUser & { cookie: string };
  /** An admin API key of `tenantId` with the `audit:read` scope, created by `user`: how integrators call. */
  apiKey: ApiKey;
  /** Signed in, admin of every benchmark tenant, among them `tenantId`. */
  manyTenantsUser: BenchUser & { cookie: string };
  tenantId: string;
  rowId: string;
  /** Builds statements (Drizzle's toSQL) for the pgbench script; nothing runs on it. */
  database: Database;
  /** The run's database; `appUrl` logs in as the request role. */
  pg: { host: string; port: string; name: string; appUrl: string };
  /** Scratch directory for pgbench scripts and logs; removed by the run. */
  workDir: string;
  settings: BenchSettings;
}

/** What the event scenarios share: a server to create events through, and who sets their tenants up. */
export interface EventScenarioContext {
  baseUrl: string;
  /** Signed in; creates each scenario's own tenant, so that no measured tenant is touched. */
  owner: { cookie: string };
  settings: BenchSettings;
  /** Starts another server process on the run's database; the run's cleanup stops it too. */
  startServer(env: Record<string, string>): Promise<ServerProcess>;
}

export function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`missing ${what}`);
  return value;
}

/** The rows of a run walked round-robin: the n-th operation reads the same row in every variant. */
export function rowAt(ctx: DbScenarioContext, n: number): BenchRow {
  return must(ctx.rows[n % ctx.rows.length], 'sample row');
}

export function expectCount(rows: unknown[], expected: number, what: string): void {
  if (rows.length !== expected) throw new Error(`${what}: expected ${expected} rows, got ${rows.length}`);
}

/** The closed-loop settings of the in-process scenarios (their workers, unless `concurrency` says otherwise). */
export function loopOptions(ctx: DbScenarioContext, concurrency = ctx.settings.db.concurrency) {
  const { seconds, maxOperations } = ctx.settings.db;
  return { concurrency, durationMs: seconds * 1000, maxOperations };
}

/** Names the $n parameters of a statement after the values they carry. */
function namesOf(params: unknown[], names: Map<unknown, string>): string[] {
  return params.map((p) => {
    const name = names.get(p);
    if (!name) throw new Error(`unexpected statement parameter ${String(p)}`);
    return name;
  });
}

/** The pgbench variables that stand for a member principal's enter statement parameters. */
export function userVariables(user: BenchUser): Record<string, string> {
  return { user_id: user.userId, email: user.email };
}

/**
 * A pgbench script of audit.get's transaction for the context's row: BEGIN READ ONLY,
 * the given enter statement (whose parameters other than the tenant are named
 * by `principal`), the Drizzle query audit.get runs, COMMIT.
 */
export function writeAuditGetScript(
  ctx: HttpScenarioContext,
  principal: Record<string, string>,
  enter: Statement,
  fileName: string,
): { path: string; variables: Record<string, string> } {
  const variables = { tenant_id: ctx.tenantId, ...principal, row_id: ctx.rowId };
  const byValue = new Map<unknown, string>(Object.entries(variables).map(([k, v]) => [v, k]));
  const select = getEntry(ctx.database.owner, ctx.tenantId, ctx.rowId).toSQL();
  const path = join(ctx.workDir, fileName);
  writeScript(
    path,
    [
      '-- audit.get (GET /api/v1/audit-log/{id}) as one SQL transaction: what withTenant sends for it.',
      '-- Written by the benchmark from the real enter statement and the Drizzle query.',
      "-- Variables come from --define: pgbench's \\set evaluates numeric expressions only, and these are uuids and text.",
    ].join('\n'),
    [
      { text: enter.text, names: namesOf(enter.params, byValue) },
      { text: select.sql, names: namesOf(select.params, byValue) },
    ],
    // audit.get is a query: withTenant opens its transaction READ ONLY.
    'BEGIN READ ONLY',
  );
  return { path, variables };
}
