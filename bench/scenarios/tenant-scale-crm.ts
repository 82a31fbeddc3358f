import { performance } from 'node:perf_hooks';
import type { Database } from '../../src/db/client.ts';
import { type TenantPrincipal, withTenant } from '../../src/db/tenant.ts';
import { type Comparison, compare, type Variant } from '../compare.ts';
import type { OwnerSql } from '../data.ts';
import { closedLoop } from '../loop.ts';
import { CONTACTS_PAGE_ROWS, type ContactsPageInput, contactsPage, contactsPageInput, principalFor } from '../queries.ts';
import type { BenchSettings } from '../settings.ts';
import { must } from './context.ts';

/**
 * crm_list_tenant_scale, crm_search_tenant_scale and crm_tenant_scale (issue
 * 6): does listing and searching contacts slow down when the same contacts
 * are spread over many more tenants? The same contacts (same names, emails,
 * titles, dates) are loaded twice into app.crm_contacts of the run's
 * database: layout A over `manyTenants` tenants (1,000), layout B over
 * `fewTenants` (10), so both layouts share one table, its indexes and its
 * statistics, and differ only in how the rows are spread over tenants. Both
 * variants run contacts.list's very query (its columns, contactWhere, the
 * keyset ORDER BY and LIMIT, built with the module's own exports) through
 * withTenant as an admin of every benchmark CRM tenant, walking the same
 * sequence of queries over the tenants of their layout. The ratio is A's p95
 * latency over B's (lower is better; 1.0 when the tenant count costs nothing).
 */

export interface CrmLayout {
  label: string;
  tenants: number;
  tenantIds: string[];
}

export interface CrmData {
  user: { userId: string; email: string };
  many: CrmLayout;
  few: CrmLayout;
  contacts: number;
  seconds: number;
}

// Twenty of each, so that in the full run every first name and every last name occurs about 50 times in each
// of the 1,000-contact tenants: the searches below fill a page (20 + 1 rows) in either layout.
export const FIRST_NAMES = [
  'Abigail',
  'Benjamin',
  'Charlotte',
  'Daniel',
  'Elena',
  'Fatima',
  'Gabriel',
  'Hannah',
  'Isaac',
  'Julia',
  'Kenji',
  'Laura',
  'Marco',
  'Nadia',
  'Oliver',
  'Priya',
  'Rafael',
  'Sofia',
  'Tomas',
  'Yuki',
];
export const LAST_NAMES = [
  'Garcia',
  'Nguyen',
  'Smith',
  'Kowalski',
  'Okafor',
  'Rossi',
  'Tanaka',
  'Dubois',
  'Silva',
  'Novak',
  'Jensen',
  'Haddad',
  'Kim',
  'Petrov',
  'Moreau',
  'Lopez',
  'Schmidt',
  'Ivanova',
  'Costa',
  'Walsh',
];
const TITLES = [
  'Engineer',
  'Sales manager',
  'Founder',
  'Buyer',
  'Designer',
  'Accountant',
  'Director',
  'Analyst',
  'Consultant',
  'Recruiter',
];
const DOMAINS = ['acme.test', 'globex.test', 'initech.test', 'umbrella.test', 'hooli.test'];

/** Prefix searches (`prefix=`, name or email starting with): each matches one first name. */
export const PREFIXES = ['ab', 'da', 'el', 'ju', 'ma', 'so'];
/** Full-text searches (`q=`, every word as a prefix): last names, whole or begun. */
export const WORDS = ['garcia', 'nguy', 'smith', 'tanaka', 'ross', 'okafor'];

/** Our constants as an SQL array literal (letters, dots and spaces only, checked). */
function arrayLiteral(values: string[]): string {
  for (const v of values) if (!/^[A-Za-z. ]+$/.test(v)) throw new Error(`unexpected constant ${v}`);
  return `array[${values.map((v) => `'${v}'`).join(', ')}]::text[]`;
}

/** A value of one of our arrays picked by a hash of g: deterministic, evenly spread, unrelated to the tenant. */
const pick = (values: string[], hashed: string) =>
  `(${arrayLiteral(values)})[1 + mod(${hashed}::bigint + 2147483648, ${values.length})::int]`;

/** One way of spreading the contacts over tenants: `tenants` tenants with slugs crm-<key>-NNNNN. */
export interface CrmLayoutSpec {
  /** One lowercase letter. */
  key: string;
  tenants: number;
}

export interface CrmLoad {
  user: { userId: string; email: string };
  /** By key. */
  layouts: Map<string, CrmLayout>;
  contacts: number;
  seconds: number;
}

/**
 * Loads each layout as the owner with generate_series: the tenants (slugs crm-<key>-NNNNN, apart from the
 * audit data's bench-NNNN), one user admin of all of them, and `contacts` contacts per layout (with the
 * table's secondary indexes dropped during the insert and rebuilt after it, the same definitions). Contact g
 * (1..contacts) is the same in every layout; only its tenant differs. Rows of a layout's tenants are
 * interleaved in the heap. Plain SQL over one owner connection, so it loads server PostgreSQL and PGlite alike.
 */
export async function loadCrmLayouts(owner: OwnerSql, contacts: number, specs: CrmLayoutSpec[]): Promise<CrmLoad> {
  for (const spec of specs) {
    if (!/^[a-z]$/.test(spec.key)) throw new Error(`crm layout key ${spec.key}: one lowercase letter`);
    if (spec.tenants > 99_999) throw new Error('crm layouts have at most 99,999 tenants');
    if (contacts % spec.tenants !== 0) throw new Error("crm contacts must be a multiple of every layout's tenant count");
  }
  const started = performance.now();
  await owner.query('begin');
  let user: CrmLoad['user'];
  try {
    await owner.query('set local synchronous_commit = off');
    await owner.query("set local maintenance_work_mem = '256MB'");
    const [created] = await owner.query<{ id: string; email: string }>(
      `insert into auth.users (id, name, email, email_verified)
       values (gen_random_uuid(), 'CRM bench user', 'crm-user@bench.example', true)
       returning id, email`,
    );
    const userId = must(created, 'crm bench user').id;
    // Maintaining ten indexes (one GIN) row by row is most of the load time: drop the secondary indexes and
    // rebuild them afterwards from their own definitions (pg_get_indexdef), as a bulk load would.
    const indexes = await owner.query<{ name: string; definition: string }>(
      `select i.indexrelid::regclass::text as name, pg_get_indexdef(i.indexrelid) as definition
         from pg_index i
        where i.indrelid = 'app.crm_contacts'::regclass
          and not exists (select 1 from pg_constraint c where c.conindid = i.indexrelid)`,
    );
    for (const index of indexes) await owner.query(`drop index ${index.name}`);
    for (const { key, tenants } of specs) {
      const perTenant = contacts / tenants;
      await owner.query(
        `insert into app.tenants (name, slug, plan, created_at, updated_at)
         select 'CRM bench ${key} ' || g, 'crm-${key}-' || lpad(g::text, 5, '0'), 'business',
                now() - interval '400 days', now()
           from generate_series(1, $1::int) g`,
        [tenants],
      );
      await owner.query(
        `insert into app.memberships (tenant_id, user_id, role)
         select id, $1::uuid, 'admin' from app.tenants where slug like 'crm-${key}-%'`,
        [userId],
      );
      await owner.query(
        `insert into app.crm_contacts (tenant_id, name, email, title, source, created_at, updated_at)
         select tenant_id, first || ' ' || last,
                lower(first) || '.' || lower(last) || '.' || g || '@' || domain,
                title, 'bench', created, created
           from (select t.id as tenant_id, g.g,
                        ${pick(FIRST_NAMES, 'hashint4(g.g)')} as first,
                        ${pick(LAST_NAMES, 'hashint4(-g.g)')} as last,
                        (${arrayLiteral(TITLES)})[1 + mod(g.g, ${TITLES.length})] as title,
                        (${arrayLiteral(DOMAINS)})[1 + mod(g.g / 7, ${DOMAINS.length})] as domain,
                        now() - make_interval(secs => mod(hashint4(g.g * 3)::bigint + 2147483648, 365 * 86400)::double precision) as created
                   from generate_series(1, $1::int) i
                  cross join (select id, split_part(slug, '-', 3)::int as k from app.tenants where slug like 'crm-${key}-%') t
                  cross join lateral (select (t.k - 1) * $1::int + i as g) g
                  order by i, t.k) c`,
        [perTenant],
      );
    }
    for (const index of indexes) await owner.query(index.definition);
    await owner.query('commit');
    user = { userId, email: must(created, 'crm bench user').email };
  } catch (error) {
    await owner.query('rollback').catch(() => {});
    throw error;
  }
  await owner.query('vacuum (analyze) app.tenants, app.memberships, auth.users, app.crm_contacts');
  // As loadData: the loaded pages are written out before anything is measured.
  await owner.query('checkpoint');
  const loaded = await owner.query<{ layout: string; tenants: number; contacts: number }>(
    `select split_part(t.slug, '-', 2) as layout, count(distinct t.id)::int as tenants, count(*)::int as contacts
       from app.crm_contacts c join app.tenants t on t.id = c.tenant_id
      where t.slug like 'crm-%' group by 1 order by 1`,
  );
  const expected = specs
    .map((s) => ({ layout: s.key, tenants: s.tenants, contacts }))
    .sort((x, y) => x.layout.localeCompare(y.layout));
  if (JSON.stringify(loaded) !== JSON.stringify(expected)) throw new Error(`crm layouts loaded wrong: ${JSON.stringify(loaded)}`);
  const layouts = new Map<string, CrmLayout>();
  for (const { key, tenants } of specs) {
    const rows = await owner.query<{ id: string }>(`select id from app.tenants where slug like 'crm-${key}-%' order by slug`);
    layouts.set(key, { label: `${tenants.toLocaleString('en')} tenants`, tenants, tenantIds: rows.map((r) => r.id) });
  }
  return { user, layouts, contacts, seconds: (performance.now() - started) / 1000 };
}

/** The crm_*_tenant_scale layouts: A (key a) over `manyTenants`, B (key b) over `fewTenants`. */
export const CRM_LAYOUTS = (spec: BenchSettings['crm']): CrmLayoutSpec[] => [
  { key: 'a', tenants: spec.manyTenants },
  { key: 'b', tenants: spec.fewTenants },
];

/** The crm_*_tenant_scale view of a load that includes CRM_LAYOUTS. */
export function crmDataOf(load: CrmLoad): CrmData {
  return {
    user: load.user,
    many: must(load.layouts.get('a'), 'crm layout a'),
    few: must(load.layouts.get('b'), 'crm layout b'),
    contacts: load.contacts,
    seconds: load.seconds,
  };
}

interface Query {
  kind: 'list' | 'prefix' | 'q';
  input: ContactsPageInput;
}

const LIST: Query = { kind: 'list', input: contactsPageInput({}) };
const PREFIX_QUERIES: Query[] = PREFIXES.map((prefix) => ({ kind: 'prefix', input: contactsPageInput({ prefix }) }));
const WORD_QUERIES: Query[] = WORDS.map((q) => ({ kind: 'q', input: contactsPageInput({ q }) }));
/** Prefix and full-text searches, alternating. */
const SEARCHES: Query[] = PREFIX_QUERIES.flatMap((p, i) => [p, must(WORD_QUERIES[i], 'word query')]);
/** The list's first page, a prefix search and a full-text search, in turn. */
const MIXED: Query[] = PREFIX_QUERIES.flatMap((p, i) => [LIST, p, must(WORD_QUERIES[i], 'word query')]);

export interface CrmScenarioContext {
  database: Database;
  data: CrmData;
  settings: BenchSettings;
}

/**
 * One variant: the n-th operation runs query n mod |queries| in tenant floor(n / |queries|) mod |tenants|, so
 * both layouts run the same queries in the same order, each walking all of its tenants. The list's first page
 * must be full (20 + 1 rows: every tenant has at least 100 contacts); a search must return at most a page (in
 * quick mode a 100-contact tenant may have no match for a query: checkSearches checks that each finds some).
 */
function variant(ctx: CrmScenarioContext, layout: CrmLayout, queries: Query[], what: string, key: string): Variant {
  const principals: TenantPrincipal[] = layout.tenantIds.map((t) => principalFor(ctx.database, ctx.data.user, t));
  const { concurrency, seconds, maxOperations } = ctx.settings.db;
  return {
    label: `${what}, ${layout.label} x ${(ctx.data.contacts / layout.tenants).toLocaleString('en')} contacts`,
    key,
    measure: () =>
      closedLoop(
        async (n) => {
          const query = must(queries[n % queries.length], 'query');
          const index = Math.floor(n / queries.length) % principals.length;
          const principal = must(principals[index], 'principal');
          const tenantId = must(layout.tenantIds[index], 'tenant');
          const rows = await withTenant(principal, (tx) => contactsPage(tx, tenantId, query.input));
          const full = rows.length === CONTACTS_PAGE_ROWS;
          if (query.kind === 'list' ? !full : rows.length > CONTACTS_PAGE_ROWS) {
            throw new Error(`crm ${query.kind} in ${layout.label}: unexpected ${rows.length} rows`);
          }
        },
        { concurrency, durationMs: seconds * 1000, maxOperations },
      ),
  };
}

/**
 * Before measuring: every search finds contacts in each layout (summed over its first ten tenants), and
 * returns only contacts that match it, so that no variant measures empty or wrong results.
 */
async function checkSearches(ctx: CrmScenarioContext): Promise<void> {
  for (const layout of [ctx.data.many, ctx.data.few]) {
    for (const query of [...PREFIX_QUERIES, ...WORD_QUERIES]) {
      let found = 0;
      for (const tenantId of layout.tenantIds.slice(0, 10)) {
        const principal = principalFor(ctx.database, ctx.data.user, tenantId);
        const rows = await withTenant(principal, (tx) => contactsPage(tx, tenantId, query.input));
        for (const row of rows) {
          const text = `${row.name} ${row.email ?? ''}`.toLowerCase();
          const wanted = query.input.prefix ?? query.input.q ?? '';
          const matches =
            query.kind === 'prefix' ? text.startsWith(wanted) || (row.email ?? '').startsWith(wanted) : text.includes(wanted);
          if (!matches) throw new Error(`crm ${query.kind} ${wanted} in ${layout.label}: ${row.name} does not match`);
        }
        found += rows.length;
      }
      if (found === 0) throw new Error(`crm ${query.kind} finds nothing in ${layout.label}`);
    }
  }
}

export async function crmTenantScale(ctx: CrmScenarioContext): Promise<Comparison[]> {
  const { many, few } = ctx.data;
  await checkSearches(ctx);
  const options = { rounds: ctx.settings.db.rounds, warmup: ctx.settings.warmup, metric: 'p95' as const };
  const scenarios: Array<[string, Query[], string, string]> = [
    ['crm_list_tenant_scale', [LIST], 'contacts list first page by name', 'crm_list'],
    ['crm_search_tenant_scale', SEARCHES, 'contacts prefix and full-text search', 'crm_search'],
    ['crm_tenant_scale', MIXED, 'contacts list, prefix and full-text search', 'crm_mixed'],
  ];
  const comparisons: Comparison[] = [];
  for (const [name, queries, what, key] of scenarios) {
    comparisons.push(
      await compare(
        name,
        variant(ctx, many, queries, what, `${key}_many_tenants`),
        variant(ctx, few, queries, what, `${key}_few_tenants`),
        options,
      ),
    );
  }
  return comparisons;
}
