import { type Comparison, compareWithParts, type Variant } from '../compare.ts';
import { insertApiKeys, type OwnerSql } from '../data.ts';
import { measurementOf, type PlannedRequest, runPlannedRequests } from '../http.ts';
import type { Observation } from '../report.ts';
import type { BenchSettings } from '../settings.ts';
import { must } from './context.ts';
import type { CrmLayout } from './tenant-scale-crm.ts';

/**
 * tenant_scale, tenant_scale_get, tenant_scale_list (issue 9): do the
 * requests users make most, a contact by id and the first page of contacts,
 * get slower when the same rows are spread over many more tenants? Through
 * the real server, over REST, as integrators call it: each tenant has an API
 * key of its own (role member, scope crm:read) and every request carries the
 * key of the tenant it reads.
 *
 * The rows are the CRM contacts of the crm_*_tenant_scale load
 * (tenant-scale-crm.ts, loadCrmLayouts): the same `crm.contacts` contacts in
 * one more layout over `tenantScale.manyTenants` tenants (A: 10,000), against
 * its 10-tenant layout (B), in the same table with the same indexes and
 * statistics. Both variants alternate `GET /api/v1/crm/contacts/{id}` (a
 * fixed random sample of contacts of the layout, evenly over its tenants,
 * walked in order) and `GET /api/v1/crm/contacts` (the first page, sorted by
 * name, the default; the layout's tenants walked in turn), at the HTTP
 * scenarios' connections and round lengths, in paired rounds. Every response
 * is checked: the get must return the contact asked for, the list a full
 * page. The ratios divide p95 latencies, A over B: of all requests
 * (tenant_scale), of the gets and of the lists alone.
 */
const MAX_REQUESTS_PER_RUN = 50_000;

export interface TenantScaleContext {
  /** A server on the database holding the layouts. */
  baseUrl: string;
  /** The owner of that database: samples contacts, inserts the keys. */
  owner: OwnerSql;
  /** A: the many-tenant layout; B: the few-tenant one; the same contacts. */
  many: CrmLayout;
  few: CrmLayout;
  contacts: number;
  settings: BenchSettings;
}

/** JSON, or undefined: a check must not throw inside autocannon. */
function parsed(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

interface Target {
  tenantId: string;
  id: string;
}

/** `perLayout` contacts of the layout, the same number from each tenant, ordered so that consecutive ones are of different tenants. */
async function sampleContacts(owner: OwnerSql, layout: CrmLayout, perLayout: number): Promise<Target[]> {
  const perTenant = Math.max(1, Math.ceil(perLayout / layout.tenants));
  const rows = await owner.query<{ tenant_id: string; id: string }>(
    `select tenant_id, id
       from (select tenant_id, id, row_number() over (partition by tenant_id order by random()) as r
               from app.crm_contacts where tenant_id = any($1::uuid[])) s
      where r <= $2::int order by r, tenant_id`,
    [layout.tenantIds, perTenant],
  );
  if (rows.length < Math.min(perLayout, perTenant * layout.tenants))
    throw new Error(`tenant_scale: sample of ${layout.label} too small`);
  return rows.map((r) => ({ tenantId: r.tenant_id, id: r.id }));
}

/**
 * One unmeasured request per key (a page of one contact), in both layouts, before measuring. The scenario
 * models integrators whose keys are in use: a server process remembers a resolved key and resolves it again
 * in the background while it is used (auth/principal.ts), so only a key's first request in five minutes
 * waits for its resolution. Without this pass, A's 10,000 keys would be met for the first time during the
 * rounds and B's 10 at once, and the ratio would measure that instead of the tenant count.
 */
async function warmKeys(ctx: TenantScaleContext, tenantIds: string[], keys: Map<string, string>): Promise<void> {
  let n = 0;
  let failure: string | undefined;
  const next = (): PlannedRequest => {
    const tenantId = must(tenantIds[n++ % tenantIds.length], 'tenant');
    return {
      kind: 'warm-up',
      method: 'GET',
      path: '/api/v1/crm/contacts?limit=1',
      headers: { 'x-api-key': must(keys.get(tenantId), 'key') },
      check(status, body) {
        if (status !== 200) failure ??= `warm-up in ${tenantId}: ${status} ${body.slice(0, 200)}`;
      },
    };
  };
  const { connections } = ctx.settings.http;
  await runPlannedRequests({ url: ctx.baseUrl, clients: [{ connections, next }], seconds: 300, maxRequests: tenantIds.length });
  if (failure) throw new Error(`tenant_scale: ${failure}`);
}

export async function tenantScale(ctx: TenantScaleContext): Promise<{ comparisons: Comparison[]; keys: Observation }> {
  const { connections, seconds, rounds } = ctx.settings.http;
  const { many, few } = ctx;
  console.error(`\ntenant_scale: API keys for ${many.tenants + few.tenants} tenants, sampling contacts ...`);
  const keys = await insertApiKeys(ctx.owner, [...many.tenantIds, ...few.tenantIds], {
    name: 'tenant scale bench',
    role: 'member',
    scopes: ['crm:read'],
  });
  await warmKeys(ctx, [...many.tenantIds, ...few.tenantIds], keys);
  const samples = ctx.settings.tenantScale.getSamplesPerLayout;
  const [manySample, fewSample] = [await sampleContacts(ctx.owner, many, samples), await sampleContacts(ctx.owner, few, samples)];
  const startedAt = new Date();

  const variant = (layout: CrmLayout, sample: Target[], key: string): Variant => {
    let n = 0;
    let failure: string | undefined;
    const fail = (message: string) => {
      failure ??= message;
    };
    const next = (): PlannedRequest => {
      const i = n++;
      const half = Math.floor(i / 2);
      if (i % 2 === 0) {
        const target = must(sample[half % sample.length], 'sample contact');
        return {
          kind: 'get',
          method: 'GET',
          path: `/api/v1/crm/contacts/${target.id}`,
          headers: { 'x-api-key': must(keys.get(target.tenantId), 'key') },
          check(status, body) {
            if (status !== 200 || (parsed(body) as { id?: string } | undefined)?.id !== target.id) {
              fail(`get ${target.id}: ${status} ${body.slice(0, 200)}`);
            }
          },
        };
      }
      const tenantId = must(layout.tenantIds[half % layout.tenantIds.length], 'tenant');
      return {
        kind: 'list',
        method: 'GET',
        path: '/api/v1/crm/contacts',
        headers: { 'x-api-key': must(keys.get(tenantId), 'key') },
        check(status, body) {
          const page =
            status === 200 ? (parsed(body) as { items?: unknown[]; nextCursor?: string | null } | undefined) : undefined;
          // Every tenant of either layout has more contacts than a page (20).
          if (page?.items?.length !== 20 || !page.nextCursor) fail(`list in ${tenantId}: ${status} ${body.slice(0, 200)}`);
        },
      };
    };
    return {
      label: `REST get by id and list, ${layout.label} x ${(ctx.contacts / layout.tenants).toLocaleString('en')} contacts`,
      key,
      async measure() {
        const run = await runPlannedRequests({
          url: ctx.baseUrl,
          clients: [{ connections, next }],
          seconds,
          maxRequests: MAX_REQUESTS_PER_RUN,
        });
        if (failure) throw new Error(`tenant_scale, ${layout.label}: ${failure}`);
        if (run.socketErrors > 0) throw new Error(`tenant_scale, ${layout.label}: ${run.socketErrors} socket errors or timeouts`);
        return measurementOf(run);
      },
    };
  };

  const comparisons = await compareWithParts(
    'tenant_scale',
    variant(many, manySample, 'tenant_scale_many'),
    variant(few, fewSample, 'tenant_scale_few'),
    { rounds, warmup: ctx.settings.warmup, metric: 'p95' },
    [
      { part: 'get', name: 'tenant_scale_get', label: 'GET /api/v1/crm/contacts/{id}' },
      { part: 'list', name: 'tenant_scale_list', label: 'GET /api/v1/crm/contacts' },
    ],
  );
  // Resolving a key writes its last_used_at when that is older than a minute (app.resolve_api_key): on the key's
  // first request, then in the background every five minutes while it is in use. How many keys it touched:
  const [touched] = await ctx.owner.query<{ many: number; few: number }>(
    `select count(*) filter (where tenant_id = any($1::uuid[]))::int as many,
            count(*) filter (where tenant_id = any($2::uuid[]))::int as few
       from app.api_keys where last_used_at >= $3`,
    [many.tenantIds, few.tenantIds, startedAt],
  );
  const summary = [
    `keys whose last_used_at was written while measuring (by a background resolution, every five minutes while in use): ` +
      `${touched?.many ?? 0} of ${many.tenants} (A), ${touched?.few ?? 0} of ${few.tenants} (B)`,
  ];
  console.error(`  ${summary[0]}`);
  return {
    comparisons,
    keys: {
      name: 'tenant_scale (API keys)',
      ratios: {},
      figures: {
        tenant_scale_tenants_many: many.tenants,
        tenant_scale_tenants_few: few.tenants,
        tenant_scale_keys_written_many: touched?.many ?? 0,
        tenant_scale_keys_written_few: touched?.few ?? 0,
      },
      summary,
    },
  };
}
