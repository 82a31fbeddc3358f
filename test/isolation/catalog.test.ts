import { afterAll, beforeAll, expect, it } from 'vitest';
import { APP_ROLE } from '../../src/db/tenant-table.ts';
import { describeEachBackend, startTestServer, type TestServer } from '../support/harness.ts';

/**
 * The isolation checklist (ENGINEERING.md section 3) read from the system
 * catalog of a freshly migrated database. Every rule is a query; every
 * violation becomes one human-readable line, so a failing build names the
 * table, policy, function or grant to fix.
 */

/**
 * Tables in schema `app` that are deliberately not keyed by tenant_id. Adding
 * one is a design decision: say here why it is global and how it is still
 * protected. Global tables still need RLS ENABLE + FORCE.
 */
const GLOBAL_TABLES: Record<string, string> = {
  // The root of isolation: a tenant row is identified by its own id. Its
  // policies show the current tenant, the tenants the user belongs to or is
  // invited to, and all tenants only inside an audited platform-admin
  // transaction; writes are limited to the current tenant.
  tenants: 'the tenant registry itself (policies on id, not tenant_id)',
  // The background work queue holds ids and times only, never tenant data. A
  // tenant transaction may only enqueue for its own tenant (insert policy on
  // tenant_id); only a worker transaction (app.worker = 'on', set by
  // withWorker in src/db/tenant.ts, which needs the raw database that no
  // module holds) may read, claim or delete jobs. Each job is then processed
  // inside its own tenant's context.
  jobs: 'job queue of ids across tenants, visible to worker transactions only',
};

/**
 * Permissive policies on tenant tables that do not compare tenant_id with the
 * transaction's tenant. Permissive policies are OR-ed, so each one widens
 * what the request role sees; each must be reviewed. Only SELECT is ever
 * acceptable here: a permissive write policy would let rows cross tenants.
 */
const REVIEWED_EXTRA_POLICIES: Record<string, string> = {
  // A user lists and switches between their own tenants; they see only rows
  // with their own user_id (or all inside an audited platform transaction).
  'memberships.memberships_own_select': 'own memberships across tenants',
  // An invitee sees invitations addressed to their verified email, or the one
  // whose token they present while accepting it.
  'invitations.invitations_invitee_select': 'invitations addressed to the caller',
};

/**
 * Unique keys on tenant tables that do not include tenant_id. Such a key is
 * shared by all tenants: a conflict tells one tenant that another holds the
 * value. Each needs a reason why that reveals nothing.
 */
const REVIEWED_GLOBAL_UNIQUE_KEYS: Record<string, string> = {
  // The invitee presents the token without knowing the tenant, so its hash is
  // looked up across tenants; it is the SHA-256 of 32 random bytes, which no
  // one can choose to collide with.
  'invitations.invitations_token_key': 'random token hash, looked up across tenants',
};

/** Columns that hold secrets: the request role must never read them. */
const SECRET_COLUMNS: Array<[table: string, column: string]> = [
  ['auth.accounts', 'password'],
  ['auth.accounts', 'access_token'],
  ['auth.accounts', 'refresh_token'],
  ['auth.accounts', 'id_token'],
  ['auth.sessions', 'token'],
  ['auth.verifications', 'value'],
];

type OwnerQuery = <R = Record<string, unknown>>(text: string, params?: unknown[]) => Promise<R[]>;

const REFERENCES_TENANT_SETTING = /current_setting\(\s*'app\.tenant_id'/;
const COMMANDS = { select: 'r', insert: 'a', update: 'w', delete: 'd' } as const;

/** Splits a `string_agg(..., ',')` result; role, column and option names here contain no commas. */
const list = (value: string | null | undefined): string[] => (value ? value.split(',') : []);

interface TableFacts {
  name: string;
  rls_enabled: boolean;
  rls_forced: boolean;
  tenant_id_type: string | null;
  tenant_id_not_null: boolean | null;
  has_tenant_index: boolean;
}

interface PolicyFacts {
  table_name: string;
  name: string;
  cmd: string;
  permissive: boolean;
  roles: string | null;
  using_expr: string | null;
  check_expr: string | null;
}

/** Every violation of the isolation checklist that the catalog can show, as sentences. */
async function catalogProblems(ownerQuery: OwnerQuery): Promise<string[]> {
  const problems: string[] = [];

  // --- tables of schema app ---------------------------------------------------
  const tables = await ownerQuery<TableFacts>(`
    select c.relname as name,
           c.relrowsecurity as rls_enabled,
           c.relforcerowsecurity as rls_forced,
           (select format_type(a.atttypid, a.atttypmod) from pg_attribute a
             where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped) as tenant_id_type,
           (select a.attnotnull from pg_attribute a
             where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped) as tenant_id_not_null,
           exists (select 1 from pg_index i
                     join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
                    where i.indrelid = c.oid and a.attname = 'tenant_id' and i.indpred is null) as has_tenant_index
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'app' and c.relkind in ('r', 'p')
     order by c.relname`);
  const policies = await ownerQuery<PolicyFacts>(`
    select c.relname as table_name, p.polname as name, p.polcmd::text as cmd, p.polpermissive as permissive,
           (select string_agg(case when r = 0 then 'public' else pg_get_userbyid(r)::text end, ',') from unnest(p.polroles) r) as roles,
           pg_get_expr(p.polqual, p.polrelid) as using_expr,
           pg_get_expr(p.polwithcheck, p.polrelid) as check_expr
      from pg_policy p join pg_class c on c.oid = p.polrelid join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'app'
     order by c.relname, p.polname`);

  const tenantTables = new Set<string>();
  for (const table of tables) {
    const name = `app.${table.name}`;
    if (!table.rls_enabled) problems.push(`${name}: row level security is not enabled`);
    if (!table.rls_forced) problems.push(`${name}: row level security is not forced (the owner would bypass it)`);
    if (table.name in GLOBAL_TABLES) continue;
    tenantTables.add(table.name);

    if (table.tenant_id_type !== 'uuid' || table.tenant_id_not_null !== true) {
      problems.push(`${name}: has no "tenant_id uuid not null" column and is not on the reviewed list of global tables`);
    }
    if (!table.has_tenant_index) problems.push(`${name}: no (non-partial) index whose first column is tenant_id`);

    const appliesToAppRole = (p: PolicyFacts) => list(p.roles).some((r) => r === APP_ROLE || r === 'public');
    const own = policies.filter((p) => p.table_name === table.name && p.permissive && appliesToAppRole(p));
    for (const [command, code] of Object.entries(COMMANDS)) {
      const covering = own.filter((p) => p.cmd === code || p.cmd === '*');
      const bound = covering.some((p) => {
        const usingOk = REFERENCES_TENANT_SETTING.test(p.using_expr ?? '');
        const checkOk = REFERENCES_TENANT_SETTING.test(p.check_expr ?? '');
        if (command === 'insert') return checkOk;
        // UPDATE without WITH CHECK re-uses USING for the new row.
        if (command === 'update') return usingOk && (p.check_expr === null || checkOk);
        return usingOk;
      });
      if (!bound) problems.push(`${name}: no ${command} policy for ${APP_ROLE} bound to current_setting('app.tenant_id')`);
    }
    for (const policy of policies.filter((p) => p.table_name === table.name && p.permissive)) {
      const expressions = [policy.using_expr, policy.check_expr].filter((e): e is string => e !== null);
      const tenantBound = expressions.length > 0 && expressions.every((e) => REFERENCES_TENANT_SETTING.test(e));
      if (tenantBound) continue;
      const key = `${table.name}.${policy.name}`;
      if (policy.cmd !== COMMANDS.select) {
        problems.push(`${name}: permissive policy ${policy.name} allows writes without the tenant check`);
      } else if (!(key in REVIEWED_EXTRA_POLICIES)) {
        problems.push(`${name}: permissive policy ${policy.name} widens reads beyond the tenant and is not on the reviewed list`);
      }
    }
  }

  const uniqueKeys = await ownerQuery<{ table_name: string; name: string; has_tenant_id: boolean }>(`
    select c.relname as table_name, ic.relname as name,
           exists (select 1 from unnest(i.indkey::int2[]) with ordinality k(attnum, ord)
                     join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
                    where k.ord <= i.indnkeyatts and a.attname = 'tenant_id') as has_tenant_id
      from pg_index i
      join pg_class c on c.oid = i.indrelid join pg_namespace n on n.oid = c.relnamespace
      join pg_class ic on ic.oid = i.indexrelid
     where n.nspname = 'app' and i.indisunique
     order by 1, 2`);
  for (const key of uniqueKeys) {
    if (!tenantTables.has(key.table_name) || key.has_tenant_id) continue;
    if (!(`${key.table_name}.${key.name}` in REVIEWED_GLOBAL_UNIQUE_KEYS)) {
      problems.push(`app.${key.table_name}: unique key ${key.name} does not include tenant_id and is not on the reviewed list`);
    }
  }

  // --- the request role ------------------------------------------------------
  const [role] = await ownerQuery<{ rolsuper: boolean; rolbypassrls: boolean }>(
    'select rolsuper, rolbypassrls from pg_roles where rolname = $1',
    [APP_ROLE],
  );
  if (!role) {
    problems.push(`role ${APP_ROLE} does not exist`);
    return problems;
  }
  if (role.rolsuper) problems.push(`role ${APP_ROLE} is a superuser`);
  if (role.rolbypassrls) problems.push(`role ${APP_ROLE} has BYPASSRLS`);
  // Neither attribute is inherited, but membership lets the role SET ROLE to one that has it.
  const escalations = await ownerQuery<{ rolname: string }>(
    `select r.rolname from pg_roles r
      where (r.rolsuper or r.rolbypassrls) and r.rolname <> $1 and pg_has_role($1, r.oid, 'MEMBER')
      order by 1`,
    [APP_ROLE],
  );
  for (const r of escalations) problems.push(`role ${APP_ROLE} can SET ROLE ${r.rolname}, which is superuser or BYPASSRLS`);

  // Owning an object (or being a member of its owner, which allows SET ROLE)
  // lets the role ALTER it, disable RLS or drop policies.
  const owned = await ownerQuery<{ name: string }>(
    `select n.nspname || '.' || c.relname || ' (' || c.relkind::text || ')' as name
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname in ('app', 'auth') and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
        and pg_has_role($1, c.relowner, 'MEMBER')
     union all
     select p.oid::regprocedure::text || ' (function)'
       from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname in ('app', 'auth') and pg_has_role($1, p.proowner, 'MEMBER')
     union all
     select n.nspname || ' (schema)' from pg_namespace n
      where n.nspname in ('app', 'auth') and pg_has_role($1, n.nspowner, 'MEMBER')
     order by 1`,
    [APP_ROLE],
  );
  for (const o of owned) problems.push(`${APP_ROLE} owns ${o.name}`);

  const schemaCreate = await ownerQuery<{ nspname: string }>(
    `select nspname from pg_namespace where nspname in ('app', 'auth') and has_schema_privilege($1, oid, 'CREATE')`,
    [APP_ROLE],
  );
  for (const s of schemaCreate) problems.push(`${APP_ROLE} may CREATE objects in schema ${s.nspname}`);

  // TRUNCATE ignores row level security; TRIGGER lets the role attach code to every tenant's writes.
  const tablePrivileges = await ownerQuery<{ name: string; privilege: string }>(
    `select n.nspname || '.' || c.relname as name, priv as privilege
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      cross join unnest(array['TRUNCATE', 'TRIGGER', 'INSERT', 'UPDATE', 'DELETE']) priv
      where c.relkind in ('r', 'p')
        and ((n.nspname = 'app' and priv in ('TRUNCATE', 'TRIGGER')) or n.nspname = 'auth')
        and has_table_privilege($1, c.oid, priv)
      order by 1, 2`,
    [APP_ROLE],
  );
  for (const p of tablePrivileges) {
    problems.push(
      p.name.startsWith('auth.')
        ? `${APP_ROLE} has ${p.privilege} on ${p.name} (only the auth library's owner connection writes auth tables)`
        : `${APP_ROLE} has ${p.privilege} on ${p.name}`,
    );
  }

  for (const [table, column] of SECRET_COLUMNS) {
    const [row] = await ownerQuery<{ allowed: boolean }>('select has_column_privilege($1, $2, $3, $4) as allowed', [
      APP_ROLE,
      table,
      column,
      'SELECT',
    ]);
    if (row?.allowed !== false) problems.push(`${APP_ROLE} can SELECT the secret column ${table}.${column}`);
  }

  // --- views and functions ---------------------------------------------------
  // A view runs with its owner's rights unless security_invoker is set, which
  // would read every tenant's rows; a materialized view always does.
  const views = await ownerQuery<{ name: string; kind: string; options: string | null }>(
    `select n.nspname || '.' || c.relname as name, c.relkind::text as kind, array_to_string(c.reloptions, ',') as options
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname in ('app', 'auth') and c.relkind in ('v', 'm')
      order by 1`,
  );
  for (const view of views) {
    if (view.kind === 'm') problems.push(`${view.name}: materialized views bypass row level security`);
    else if (!list(view.options).some((o) => /^security_invoker=(true|on|yes|1)$/i.test(o))) {
      problems.push(`${view.name}: view is not security_invoker`);
    }
  }

  const definers = await ownerQuery<{ name: string; config: string | null }>(
    `select p.oid::regprocedure::text as name, array_to_string(p.proconfig, ',') as config
       from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname in ('app', 'auth') and p.prosecdef
      order by 1`,
  );
  for (const fn of definers) {
    const searchPath = list(fn.config).find((c) => c.startsWith('search_path='));
    if (!searchPath) problems.push(`${fn.name}: SECURITY DEFINER function does not pin search_path`);
  }

  // --- foreign keys between tenant tables --------------------------------------
  // A key without tenant_id could point a row at another tenant's row (and its
  // violations would reveal that the other row exists).
  const foreignKeys = await ownerQuery<{
    name: string;
    from_table: string;
    to_table: string;
    from_cols: string;
    to_cols: string;
  }>(
    `select con.conname as name, src.relname as from_table, dst.relname as to_table,
            (select string_agg(a.attname, ',' order by k.ord) from unnest(con.conkey) with ordinality k(attnum, ord)
               join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.attnum) as from_cols,
            (select string_agg(a.attname, ',' order by k.ord) from unnest(con.confkey) with ordinality k(attnum, ord)
               join pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.attnum) as to_cols
       from pg_constraint con
       join pg_class src on src.oid = con.conrelid join pg_namespace sn on sn.oid = src.relnamespace
       join pg_class dst on dst.oid = con.confrelid join pg_namespace dn on dn.oid = dst.relnamespace
      where con.contype = 'f' and sn.nspname = 'app' and dn.nspname = 'app'
      order by 1`,
  );
  for (const fk of foreignKeys) {
    if (!tenantTables.has(fk.from_table) || !tenantTables.has(fk.to_table)) continue;
    const from = list(fk.from_cols);
    const to = list(fk.to_cols);
    const position = from.indexOf('tenant_id');
    if (position < 0 || to[position] !== 'tenant_id') {
      problems.push(
        `app.${fk.from_table}: foreign key ${fk.name} to app.${fk.to_table} does not include tenant_id on both sides`,
      );
    }
  }

  return problems;
}

describeEachBackend('isolation catalog', (backend) => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer(backend);
  });
  afterAll(() => t?.close());

  it('finds no violation of the isolation checklist in the migrated schema', async () => {
    const problems = await catalogProblems(t.ownerQuery);
    expect(problems, `isolation checklist violations:\n  ${problems.join('\n  ')}`).toEqual([]);
  });

  it('inspects the tables it is meant to inspect', async () => {
    // Guards against a check that passes because its query matched nothing.
    const tables = await t.ownerQuery<{ relname: string }>(
      `select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'app' and c.relkind in ('r', 'p') order by 1`,
    );
    expect(tables.map((r) => r.relname)).toEqual(expect.arrayContaining(['audit_log', 'invitations', 'memberships', 'tenants']));
    const policies = await t.ownerQuery<{ n: number }>(
      `select count(*)::int as n from pg_policy p join pg_class c on c.oid = p.polrelid
         join pg_namespace ns on ns.oid = c.relnamespace where ns.nspname = 'app'`,
    );
    expect(policies[0]?.n).toBeGreaterThanOrEqual(16);
    for (const table of Object.keys(GLOBAL_TABLES)) expect(tables.map((r) => r.relname)).toContain(table);
  });
});

describeEachBackend('isolation catalog catches violations', (backend) => {
  // Its own server and database: the deliberately bad objects never meet the real check.
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer(backend);
  });
  afterAll(() => t?.close());

  it('reports each deliberately bad object, and nothing once they are gone', async () => {
    expect(await catalogProblems(t.ownerQuery)).toEqual([]);
    const breakIt = [
      // No tenant_id, no RLS, no policies, no index, owned by the request role.
      'create table app.bad_table (id int primary key, note text)',
      `alter table app.bad_table owner to ${APP_ROLE}`,
      // A tenant table done right except for a foreign key and a unique key
      // without tenant_id, and two unreviewed permissive policies.
      `create table app.bad_child (
         tenant_id uuid not null references app.tenants(id),
         id uuid not null,
         invitation_token text references app.invitations(token_hash),
         code text unique,
         primary key (tenant_id, id))`,
      'alter table app.bad_child enable row level security',
      'alter table app.bad_child force row level security',
      ...(['select', 'insert', 'update', 'delete'] as const).map((cmd) => {
        const predicate = "tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid";
        const clause = cmd === 'insert' ? `with check (${predicate})` : `using (${predicate})`;
        return `create policy bad_child_${cmd} on app.bad_child for ${cmd} to ${APP_ROLE} ${clause}`;
      }),
      `create policy bad_child_everyone on app.bad_child for select to ${APP_ROLE} using (true)`,
      `create policy bad_child_write_all on app.bad_child for update to ${APP_ROLE} using (true)`,
      'create view app.bad_view as select id, name from app.tenants',
      "create function app.bad_definer() returns int language sql security definer as 'select 1'",
      `grant truncate on app.audit_log to ${APP_ROLE}`,
      `grant select (password) on auth.accounts to ${APP_ROLE}`,
      `grant insert on auth.sessions to ${APP_ROLE}`,
    ];
    const repair = [
      'drop view if exists app.bad_view',
      'drop function if exists app.bad_definer()',
      'drop table if exists app.bad_child',
      'drop table if exists app.bad_table',
      `revoke truncate on app.audit_log from ${APP_ROLE}`,
      `revoke select (password) on auth.accounts from ${APP_ROLE}`,
      `revoke insert on auth.sessions from ${APP_ROLE}`,
    ];
    // Role attributes are cluster-wide on server PostgreSQL, where other test
    // files share the role at the same time; PGlite's cluster is this test's own.
    if (backend === 'pglite') {
      breakIt.push(`alter role ${APP_ROLE} bypassrls`, `grant postgres to ${APP_ROLE}`);
      repair.push(`alter role ${APP_ROLE} nobypassrls`, `revoke postgres from ${APP_ROLE}`);
    }
    let problems: string[];
    try {
      for (const statement of breakIt) await t.ownerQuery(statement);
      problems = await catalogProblems(t.ownerQuery);
    } finally {
      for (const statement of repair) await t.ownerQuery(statement);
    }

    const expected = [
      'app.bad_table: row level security is not enabled',
      'app.bad_table: row level security is not forced',
      'app.bad_table: has no "tenant_id uuid not null" column',
      'app.bad_table: no (non-partial) index whose first column is tenant_id',
      ...['select', 'insert', 'update', 'delete'].map((cmd) => `app.bad_table: no ${cmd} policy for ${APP_ROLE}`),
      `${APP_ROLE} owns app.bad_table (r)`,
      'app.bad_child: foreign key bad_child_invitation_token_fkey to app.invitations does not include tenant_id',
      'app.bad_child: unique key bad_child_code_key does not include tenant_id',
      'app.bad_child: permissive policy bad_child_everyone widens reads beyond the tenant',
      'app.bad_child: permissive policy bad_child_write_all allows writes without the tenant check',
      'app.bad_view: view is not security_invoker',
      'app.bad_definer(): SECURITY DEFINER function does not pin search_path',
      `${APP_ROLE} has TRUNCATE on app.audit_log`,
      `${APP_ROLE} can SELECT the secret column auth.accounts.password`,
      `${APP_ROLE} has INSERT on auth.sessions`,
      ...(backend === 'pglite' ? [`role ${APP_ROLE} has BYPASSRLS`, `role ${APP_ROLE} can SET ROLE postgres`] : []),
    ];
    expect.assertions(expected.length + 3);
    for (const fragment of expected) {
      expect(
        problems.some((p) => p.startsWith(fragment)),
        `expected a problem starting with: ${fragment}\ngot:\n  ${problems.join('\n  ')}`,
      ).toBe(true);
    }
    // The correct parts of bad_child pass: only its two keys and its two extra policies are reported.
    expect(problems.filter((p) => p.startsWith('app.bad_child:'))).toHaveLength(4);
    expect(await catalogProblems(t.ownerQuery)).toEqual([]);
  });
});
