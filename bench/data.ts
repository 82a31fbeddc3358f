import { performance } from 'node:perf_hooks';
import postgres from 'postgres';
import { generateApiKey } from '../src/auth/api-key-format.ts';
import { openDatabase } from '../src/db/client.ts';
import { migrate } from '../src/db/migrate.ts';

/**
 * Bulk data for the benchmark, loaded as the owner with generate_series (no
 * round trip per row): tenants, three people per tenant, their memberships, the
 * benchmark's two signed-up users as admins (one of every tenant, one of a few,
 * as most people are), and the audit log spread evenly over the tenants with
 * created_at scattered over 90 days. Rows of different tenants are interleaved
 * in the heap, as they are in a real table.
 */
export interface DataSpec {
  rows: number;
  tenants: number;
}

export interface BenchRow {
  tenantId: string;
  id: string;
}

export const PEOPLE_PER_TENANT = 3;

/** Who becomes admin where. The few tenants are the first ones in slug order (benchTenantIds' order). */
export interface BenchMembers {
  /** Admin of every benchmark tenant: the in-process scenarios act in all of them. */
  everyTenant: string;
  /** Admin of the first `count` tenants: the HTTP scenarios' typical user. */
  fewTenants: { userId: string; count: number };
}

export async function loadData(url: string, spec: DataSpec, members: BenchMembers): Promise<{ seconds: number }> {
  if (spec.rows % spec.tenants !== 0) throw new Error('rows must be a multiple of tenants');
  const perTenant = spec.rows / spec.tenants;
  const started = performance.now();
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql.begin(async (tx) => {
      await tx.unsafe('set local synchronous_commit = off');
      await tx.unsafe("set local maintenance_work_mem = '256MB'");
      await tx.unsafe(
        `insert into app.tenants (name, slug, plan, created_at, updated_at)
         select 'Bench tenant ' || g, 'bench-' || g,
                (array['starter', 'growth', 'business', 'enterprise'])[1 + g % 4],
                now() - interval '400 days', now()
           from generate_series(1, $1::int) g`,
        [spec.tenants],
      );
      await tx.unsafe(
        `create temporary table bench_people on commit drop as
         select t.id as tenant_id, gen_random_uuid() as user_id, k, t.slug
           from app.tenants t cross join generate_series(1, $1::int) k
          where t.slug like 'bench-%'`,
        [PEOPLE_PER_TENANT],
      );
      await tx.unsafe(
        `insert into auth.users (id, name, email, email_verified)
         select user_id, 'Bench person ' || k || ' of ' || slug, 'p' || k || '.' || slug || '@bench.example', true
           from bench_people`,
      );
      await tx.unsafe(
        `insert into app.memberships (tenant_id, user_id, role)
         select tenant_id, user_id, (array['owner', 'admin', 'member'])[k] from bench_people
         union all
         select id, $1::uuid, 'admin' from app.tenants where slug like 'bench-%'
         union all
         (select id, $2::uuid, 'admin' from app.tenants where slug like 'bench-%' order by slug limit $3::int)`,
        [members.everyTenant, members.fewTenants.userId, members.fewTenants.count],
      );
      await tx.unsafe(
        `insert into app.audit_log (tenant_id, id, actor_user_id, action, target_type, target_id, data, request_id, created_at)
         select p.tenant_id, gen_random_uuid(), p.user_id,
                (array['member.invited', 'member.role_changed', 'tenant.updated', 'invitation.accepted', 'member.removed'])[1 + i % 5],
                'member', p.user_id::text,
                jsonb_build_object('seq', i, 'source', 'bench'),
                'bench-' || i,
                now() - make_interval(secs => random() * 90 * 86400)
           from generate_series(1, $1::int) i
           join bench_people p on p.k = 1 + i % $2::int`,
        [perTenant, PEOPLE_PER_TENANT],
      );
    });
    await sql.unsafe('vacuum (analyze) app.tenants, app.memberships, auth.users, app.audit_log');
    // Writes the loaded pages out now: otherwise the checkpointer flushes them during the first comparisons.
    await sql.unsafe('checkpoint');
  } finally {
    await sql.end({ timeout: 5 });
  }
  return { seconds: (performance.now() - started) / 1000 };
}

/** A fixed random sample of existing rows; every variant of a comparison walks the same list in the same order. */
export async function sampleRows(url: string, count: number): Promise<BenchRow[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql.unsafe<Array<{ tenant_id: string; id: string }>>(
      'select tenant_id, id from app.audit_log order by random() limit $1::int',
      [count],
    );
    return rows.map((r) => ({ tenantId: r.tenant_id, id: r.id }));
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** The newest audit entry of a tenant. */
export async function newestRowOf(url: string, tenantId: string): Promise<BenchRow> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql.unsafe<Array<{ id: string }>>(
      'select id from app.audit_log where tenant_id = $1 order by created_at desc limit 1',
      [tenantId],
    );
    if (!row) throw new Error(`tenant ${tenantId} has no audit entries`);
    return { tenantId, id: row.id };
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** The bulk tenants' ids, in slug order (the order the few-tenant user's memberships follow). */
export async function benchTenantIds(url: string): Promise<string[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql.unsafe<Array<{ id: string }>>("select id from app.tenants where slug like 'bench-%' order by slug");
    return rows.map((r) => r.id);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * One owner connection, on server PostgreSQL or on a PGlite data directory, so
 * that the same bulk SQL loads either. Single connection: `begin` and `commit`
 * sent as statements enclose a transaction.
 */
export interface OwnerSql {
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
  close(): Promise<void>;
}

/** The owner of a server PostgreSQL database, over one postgres.js connection. */
export function postgresOwner(url: string): OwnerSql {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  return {
    query: <R>(text: string, params: unknown[] = []) => sql.unsafe(text, params as never[]) as unknown as Promise<R[]>,
    close: () => sql.end({ timeout: 5 }),
  };
}

/** Applies Palisade's migrations to a server PostgreSQL database, as the server does on start. */
export async function migrateServerDatabase(url: string): Promise<void> {
  const database = await openDatabase({ url, poolSize: 1 });
  try {
    await migrate(database);
  } finally {
    await database.close();
  }
}

/** The owner of a migrated PGlite database in `dataDir`, opened in this process (close it before a server opens it). */
export async function pgliteOwner(dataDir: string): Promise<OwnerSql> {
  const database = await openDatabase({ dataDir });
  await migrate(database);
  return { query: (text, params) => database.ownerQuery(text, params), close: () => database.close() };
}

/**
 * API keys of the given tenants, one each, inserted as the owner in one
 * statement: a run with 10,000 tenants cannot create them through the API (a
 * signed-in admin of every tenant) in reasonable time. The rows are those
 * `POST /api/v1/api-keys` writes (secret, display prefix and hash from the
 * module's own generateApiKey), without the audit entry and event the API adds.
 * Returns each tenant's secret.
 */
export async function insertApiKeys(
  owner: OwnerSql,
  tenantIds: readonly string[],
  key: { name: string; role: 'admin' | 'member'; scopes: string[] },
): Promise<Map<string, string>> {
  const generated = tenantIds.map(() => generateApiKey('live'));
  await owner.query(
    `insert into app.api_keys (tenant_id, name, display_prefix, secret_hash, role, scopes)
     select k.tenant_id, $1, k.display_prefix, k.secret_hash, $2, $3::text[]
       from unnest($4::uuid[], $5::text[], $6::text[]) as k(tenant_id, display_prefix, secret_hash)`,
    [key.name, key.role, key.scopes, tenantIds, generated.map((g) => g.displayPrefix), generated.map((g) => g.secretHash)],
  );
  return new Map(tenantIds.map((tenantId, i) => [tenantId, (generated[i] as { secret: string }).secret]));
}
