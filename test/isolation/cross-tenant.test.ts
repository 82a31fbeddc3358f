import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProcedureMeta } from '../../src/api/procedures.ts';
import { tenantProcedure } from '../../src/api/procedures.ts';
import { type RestRoute, restRoutes } from '../../src/api/rest.ts';
import { appRouter } from '../../src/api/router.ts';
import { queryRows } from '../../src/db/tenant.ts';
import { type ApiClient, type ApiResponse, apiKeyClient, createTenant, signUp, type TenantFixture } from '../support/client.ts';
import { describeEachBackend, startTestServer, type TestServer } from '../support/harness.ts';
import { EXCLUDED_TENANT_ROUTES, type RouteKey, type Target, TENANT_ROUTES } from './tenant-procedures.ts';

/**
 * Cross-tenant isolation over HTTP for every tenant-scoped route (the registry
 * in tenant-procedures.ts), plus the database-level guarantee that a
 * transaction without a tenant context sees nothing and writes nothing.
 */

// --- which procedures are tenant-scoped ---------------------------------------

interface WithMiddlewares {
  _def: { middlewares: unknown[] };
}
const middlewaresOf = (procedure: unknown) => (procedure as WithMiddlewares)._def.middlewares;

/**
 * The middleware that tenantProcedure adds to authedProcedure: it resolves the
 * tenant and checks membership. adminProcedure and ownerProcedure are built on
 * tenantProcedure, so every tenant-scoped procedure carries this very function
 * object in its chain.
 *
 * Why identity rather than the alternatives: a tag or meta convention is one
 * more thing a new module can forget, and it is exactly the forgetful module
 * this check exists for; probing routes alone depends on what inputs a route
 * accepts. "Built from tenantProcedure" is a fact of the router that needs no
 * cooperation from the module. The suite also probes every route with a user
 * who has no active tenant and requires NO_ACTIVE_TENANT from exactly these
 * routes, which catches a tenant check hand-rolled outside tenantProcedure.
 */
const tenantMiddleware = middlewaresOf(tenantProcedure).at(-1);

const isTenantScoped = (procedure: unknown) => middlewaresOf(procedure).includes(tenantMiddleware);
const keyOf = (route: RestRoute) => `${route.method} ${route.path}` as RouteKey;
const tenantRoutes = () => restRoutes().filter((r) => isTenantScoped(r.procedure));

describe('tenant route registry', () => {
  it('classifies known procedures correctly', () => {
    // A sanity check of the classifier itself; new modules only add to these lists.
    const scoped = new Set(tenantRoutes().map((r) => r.procedurePath));
    const known = [
      'members.list',
      'members.changeRole',
      'members.remove',
      'members.leave',
      'invitations.list',
      'invitations.create',
    ];
    const knownToo = [
      'invitations.cancel',
      'invitations.resend',
      'tenants.current',
      'tenants.update',
      'tenants.delete',
      'audit.list',
      'audit.get',
    ];
    for (const path of [...known, ...knownToo]) expect(scoped.has(path), path).toBe(true);
    const notScoped = [
      'me.get',
      'tenants.create',
      'tenants.switch',
      'invitations.mine',
      'invitations.accept',
      'platform.tenants',
    ];
    for (const path of notScoped) expect(scoped.has(path), path).toBe(false);
  });

  it('lists every tenant-scoped route, or excludes it with a reason', () => {
    const missing = tenantRoutes()
      .map(keyOf)
      .filter((key) => !(key in TENANT_ROUTES) && !(key in EXCLUDED_TENANT_ROUTES));
    expect(missing, `add these routes to TENANT_ROUTES in test/isolation/tenant-procedures.ts: ${missing.join(', ')}`).toEqual(
      [],
    );
  });

  it('lists nothing that is not a tenant-scoped route', () => {
    const actual = new Set(tenantRoutes().map(keyOf));
    const stale = [...Object.keys(TENANT_ROUTES), ...Object.keys(EXCLUDED_TENANT_ROUTES)].filter(
      (key) => !actual.has(key as RouteKey),
    );
    expect(stale, 'registry entries that match no tenant-scoped route').toEqual([]);
  });

  it('reaches every tenant-scoped procedure over REST', () => {
    // A tRPC-only tenant procedure would escape the registry, which is keyed by REST route.
    const procedures = appRouter._def.procedures as unknown as Record<string, unknown>;
    const withRest = new Set(restRoutes().map((r) => r.procedurePath));
    const unreachable = Object.entries(procedures)
      .filter(([path, procedure]) => isTenantScoped(procedure) && !withRest.has(path))
      .map(([path]) => path);
    expect(unreachable).toEqual([]);
  });
});

// --- HTTP helpers ----------------------------------------------------------------

type Variant = 'plain' | 'smuggled' | 'header';
type Transport = 'rest' | 'trpc';

const fill = (template: string, params: Record<string, string> = {}) =>
  template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`no value for path parameter ${name} in ${template}`);
    return encodeURIComponent(value);
  });

const queryString = (input: Record<string, unknown>) => {
  const entries = Object.entries(input).map(([k, v]): [string, string] => [k, String(v)]);
  return entries.length > 0 ? `?${new URLSearchParams(entries)}` : '';
};

/**
 * The request a route's target describes, as `actor`, over one transport.
 * `smuggled` adds tenant A's id as tenantId and tenant_id to the input and the
 * query string; `header` sends `X-Tenant-Id: <A>`.
 */
function send(
  actor: ApiClient,
  route: RestRoute,
  target: Target,
  tenantA: string,
  variant: Variant,
  transport: Transport,
): Promise<ApiResponse> {
  const smuggle = variant === 'smuggled' ? { tenantId: tenantA, tenant_id: tenantA } : {};
  const input = { ...(target.input ?? {}), ...smuggle };
  const headers: Record<string, string> = variant === 'header' ? { 'x-tenant-id': tenantA } : {};
  if (transport === 'trpc') {
    const trpcInput = { ...input, ...(target.params ?? {}) };
    return actor.get(`/trpc/${route.procedurePath}?input=${encodeURIComponent(JSON.stringify(trpcInput))}`, headers);
  }
  const path = fill(route.path, target.params);
  if (route.method === 'GET' || route.method === 'DELETE')
    return actor.request(route.method, `${path}${queryString(input)}`, undefined, headers);
  return actor.request(route.method, `${path}${queryString(smuggle)}`, input, headers);
}

/** tRPC wraps results as { result: { data } }; errors have the same { error: { code } } shape as REST. */
const dataOf = (res: ApiResponse, transport: Transport) => (transport === 'trpc' ? res.body?.result?.data : res.body);

describeEachBackend('cross-tenant isolation', (backend) => {
  let t: TestServer;
  let tenantTables: string[];

  beforeAll(async () => {
    t = await startTestServer(backend, { WORKER_ENABLED: 'false' }); // background work would change A's rows while they are compared
    const rows = await t.ownerQuery<{ name: string }>(
      `select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'app' and c.relkind in ('r', 'p')
          and exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped)
        order by 1`,
    );
    tenantTables = rows.map((r) => r.name);
  });
  afterAll(() => t?.close());

  /**
   * Everything stored for a tenant: its tenants row and, per tenant table, the
   * row count and a hash of the rows. Any insert, update or delete changes it.
   */
  async function fingerprint(tenantId: string): Promise<Record<string, string>> {
    const result: Record<string, string> = {};
    const [tenant] = await t.ownerQuery<{ row: string }>('select x::text as row from app.tenants x where id = $1', [tenantId]);
    result.tenants = tenant?.row ?? 'missing';
    for (const table of tenantTables) {
      const [row] = await t.ownerQuery<{ n: number; hash: string | null }>(
        `select count(*)::int as n, md5(string_agg(x::text, '|' order by x::text)) as hash from app."${table}" x where tenant_id = $1`,
        [tenantId],
      );
      result[table] = `${row?.n}:${row?.hash ?? ''}`;
    }
    return result;
  }

  it('has tenant tables to check', () => {
    expect(tenantTables).toEqual(expect.arrayContaining(['audit_log', 'invitations', 'memberships']));
  });

  // Each route gets its own tenants A and B, so the routes run side by side.
  for (const [key, routeCase] of Object.entries(TENANT_ROUTES)) {
    it.concurrent(`${key}: tenant B's owner, admin and API key cannot reach tenant A`, async ({ expect }) => {
      const route = restRoutes().find((r) => keyOf(r) === key);
      if (!route) throw new Error(`${key} is not a REST route (see the registry tests)`);
      const [a, b] = await Promise.all([createTenant(t.url, t.inbox, 'a'), createTenant(t.url, t.inbox, 'b')]);
      // B's most powerful key: admin ceiling, no scope restriction.
      const bKey = await apiKeyClient(b.admin, { role: 'admin' });
      const keyScope = (route.procedure as { _def: { meta?: ProcedureMeta } })._def.meta?.scope;
      const target = await routeCase.arrange({ t, a });
      const isRead = route.method === 'GET';
      const transports: Transport[] = isRead ? ['rest', 'trpc'] : ['rest'];
      const before = await fingerprint(a.id);
      let checked = 0;

      const noMarkers = (res: ApiResponse, what: string) => {
        const text = JSON.stringify(res.body ?? '');
        const leaked = target.markers.filter((m) => text.includes(m));
        expect(leaked, `${what}: response reveals tenant A's data`).toEqual([]);
      };

      for (const [actorName, actor] of [
        ['owner', b.owner],
        ['admin', b.admin],
        ['API key', bKey],
      ] as const) {
        // Routes without a key scope refuse keys outright, wherever they are aimed.
        const keyRefused = actorName === 'API key' && keyScope === undefined;
        const expectKeyRefused = (res: ApiResponse, what: string) => {
          expect(res.status, what).toBe(403);
          expect(res.body?.error?.code, what).toBe('API_KEY_NOT_ALLOWED');
        };
        for (const transport of transports) {
          const what = (variant: Variant) => `${key} as B's ${actorName} (${variant}, ${transport})`;

          // 1. Aimed at A's object or list, from B's own active tenant.
          if (routeCase.shape === 'object' || routeCase.shape === 'list') {
            const res = await send(actor, route, target, a.id, 'plain', transport);
            if (keyRefused) {
              expectKeyRefused(res, what('plain'));
            } else if (routeCase.shape === 'object') {
              expect(res.status, what('plain')).toBe(404);
              expect(res.body?.error?.code).toBe('NOT_FOUND');
            } else {
              expect(res.status, what('plain')).toBe(200);
              expect(Array.isArray(dataOf(res, transport)?.items), what('plain')).toBe(true);
            }
            noMarkers(res, what('plain'));
            expect(await fingerprint(a.id), what('plain')).toEqual(before);
            checked++;
          }

          // 2. tenantId / tenant_id naming A in the input and the query string: never honoured.
          const bBefore = await fingerprint(b.id);
          const smuggled = await send(actor, route, target, a.id, 'smuggled', transport);
          if (keyRefused) expectKeyRefused(smuggled, what('smuggled'));
          else if (routeCase.shape === 'object') expect(smuggled.status, what('smuggled')).toBe(404);
          else if (routeCase.shape === 'list') expect(smuggled.status, what('smuggled')).toBe(200);
          else expect(smuggled.status, what('smuggled')).toBeLessThan(500);
          if (routeCase.shape === 'create' && smuggled.status < 300) {
            // Accepted: the row must have landed in B.
            expect(await fingerprint(b.id), `${what('smuggled')} was accepted, so it must have written to B`).not.toEqual(
              bBefore,
            );
          }
          noMarkers(smuggled, what('smuggled'));
          expect(await fingerprint(a.id), what('smuggled')).toEqual(before);
          checked++;

          // 3. X-Tenant-Id naming A: refused before anything runs, in A or in B.
          const bBeforeHeader = await fingerprint(b.id);
          const header = await send(actor, route, target, a.id, 'header', transport);
          expect(header.status, what('header')).toBe(403);
          expect(header.body?.error?.code, what('header')).toBe('TENANT_ACCESS_DENIED');
          noMarkers(header, what('header'));
          expect(await fingerprint(a.id), what('header')).toEqual(before);
          expect(await fingerprint(b.id), `${what('header')} changed tenant B`).toEqual(bBeforeHeader);
          checked++;
        }
      }

      // 4. Positive control: the same request made inside A succeeds, so the
      // refusals above came from isolation, not from a malformed request.
      const controlActor = target.controlActor ?? a.owner;
      for (const transport of transports) {
        const res = await send(controlActor, route, target, a.id, 'plain', transport);
        expect(res.status, `${key} as a member of A (${transport}): ${JSON.stringify(res.body)}`).toBe(route.status);
        if (isRead) {
          // Every marker is in A's own view, so its absence above means something.
          expect(target.markers.length).toBeGreaterThan(0);
          const text = JSON.stringify(res.body);
          expect(target.markers.filter((m) => !text.includes(m))).toEqual([]);
        }
        checked++;
      }
      if (!isRead) expect(await fingerprint(a.id), `${key} inside A must change A`).not.toEqual(before);

      const perActor = transports.length * (routeCase.shape === 'object' || routeCase.shape === 'list' ? 3 : 2);
      expect(checked).toBe(3 * perActor + transports.length);
    });
  }

  describe('without an active tenant', () => {
    let loner: ApiClient;
    beforeAll(async () => {
      loner = await signUp(t.url, 'loner');
    });

    it('every tenant-scoped route answers NO_ACTIVE_TENANT, over REST and tRPC', async () => {
      const routes = tenantRoutes();
      expect(routes.length).toBeGreaterThan(0);
      expect.assertions(1 + routes.length * 4);
      const target: Target = { params: {}, markers: [] };
      for (const route of routes) {
        const params = Object.fromEntries([...route.path.matchAll(/\{(\w+)\}/g)].map((m) => [m[1] as string, randomUUID()]));
        const rest = await send(loner, route, { ...target, params }, randomUUID(), 'plain', 'rest');
        expect(rest.status, route.path).toBe(403);
        expect(rest.body?.error?.code, `${route.method} ${route.path}`).toBe('NO_ACTIVE_TENANT');
        const kind = route.method === 'GET' ? 'query' : 'mutation';
        const trpc = await loner.trpc(kind, route.procedurePath, { ...params });
        expect(trpc.status, route.procedurePath).toBe(403);
        expect(trpc.body?.error?.code, route.procedurePath).toBe('NO_ACTIVE_TENANT');
      }
    });

    it('no other route answers NO_ACTIVE_TENANT (a tenant check outside tenantProcedure would)', async () => {
      const others = restRoutes().filter((r) => !isTenantScoped(r.procedure));
      expect(others.length).toBeGreaterThan(0);
      const codes: string[] = [];
      for (const route of others) {
        const params = Object.fromEntries([...route.path.matchAll(/\{(\w+)\}/g)].map((m) => [m[1] as string, randomUUID()]));
        const res = await send(loner, route, { params, markers: [] }, randomUUID(), 'plain', 'rest');
        codes.push(`${route.method} ${route.path}: ${res.body?.error?.code ?? res.status}`);
      }
      expect(codes.filter((c) => c.endsWith('NO_ACTIVE_TENANT'))).toEqual([]);
    });
  });

  describe('switching tenants', () => {
    let a: TenantFixture;
    let b: TenantFixture;
    beforeAll(async () => {
      [a, b] = await Promise.all([createTenant(t.url, t.inbox, 'a'), createTenant(t.url, t.inbox, 'b')]);
    });

    it("B's owner and admin cannot switch to A; B stays active", async () => {
      expect.assertions(8);
      for (const actor of [b.owner, b.admin]) {
        const switched = await actor.post('/api/v1/tenants/switch', { tenantId: a.id });
        expect(switched.status).toBe(403);
        expect(switched.body.error.code).toBe('TENANT_ACCESS_DENIED');
        const me = await actor.get('/api/v1/me');
        expect(me.body.activeTenantId).toBe(b.id);
        expect(me.body.tenants.map((x: { id: string }) => x.id)).toEqual([b.id]);
      }
    });

    it('the same switch over tRPC is refused too', async () => {
      const switched = await b.admin.trpc('mutation', 'tenants.switch', { tenantId: a.id });
      expect(switched.status).toBe(403);
      expect(switched.body.error.code).toBe('TENANT_ACCESS_DENIED');
      expect((await b.admin.get('/api/v1/me')).body.activeTenantId).toBe(b.id);
    });
  });

  describe('without a tenant context in the database', () => {
    // The request role inside a transaction, as withTenant opens it but with
    // no tenant set (or set to ''): RLS must yield nothing and refuse writes,
    // never fail the statement and never show every row.
    const contexts = {
      unset: "select pg_catalog.set_config('role', 'palisade_app', true)",
      empty: "select pg_catalog.set_config('role', 'palisade_app', true), pg_catalog.set_config('app.tenant_id', '', true)",
      'unknown tenant': `select pg_catalog.set_config('role', 'palisade_app', true), pg_catalog.set_config('app.tenant_id', '${randomUUID()}', true)`,
    };
    let appTables: string[];

    beforeAll(async () => {
      const tenants = await Promise.all([createTenant(t.url, t.inbox, 'ctx-a'), createTenant(t.url, t.inbox, 'ctx-b')]);
      // Rows that live only while a model call or a QR sign-in is in flight, which the routes above leave none of.
      for (const { id } of tenants) {
        await t.ownerQuery(
          `insert into app.ai_budget_reservations (tenant_id, period, amount, expires_at)
           values ($1, date_trunc('month', now())::date, 0.01, now() + interval '1 minute')`,
          [id],
        );
        await t.ownerQuery(
          `insert into app.qr_sign_ins (poll_hash, approve_hash, expires_at)
           values (md5(random()::text), md5(random()::text), now() + interval '1 minute')`,
        );
      }
      const rows = await t.ownerQuery<{ name: string }>(
        `select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = 'app' and c.relkind in ('r', 'p') order by 1`,
      );
      appTables = rows.map((r) => r.name);
    });

    const codeOf = (error: unknown): unknown => {
      const e = error as { code?: unknown; cause?: unknown } | null;
      return e?.code ?? (e?.cause as { code?: unknown } | undefined)?.code;
    };

    for (const [label, enter] of Object.entries(contexts)) {
      it(`${label}: every app table reads as empty and refuses inserts with 42501`, async () => {
        expect(appTables).toEqual(expect.arrayContaining(['tenants', ...tenantTables]));
        expect.assertions(1 + appTables.length * 3);
        for (const table of appTables) {
          const [sample] = await t.ownerQuery<{ row: unknown; n: number }>(
            `select to_jsonb(x) as row, (select count(*)::int from app."${table}") as n from app."${table}" x limit 1`,
          );
          // There are rows of several tenants, so "no rows" is a real answer.
          expect(sample?.n ?? 0, `app.${table} has rows`).toBeGreaterThan(1);
          const visible = await t.server.database.transaction({ text: enter, params: [] }, (tx) =>
            queryRows(tx, sql`select * from ${sql.identifier('app')}.${sql.identifier(table)}`),
          );
          expect(visible, `app.${table} under context "${label}"`).toEqual([]);
          // A copy of an existing row: WITH CHECK runs before unique keys are
          // checked, so anything but 42501 means the policy let it through.
          // Generated columns (a tsvector, say) take no value, so the copy names the others.
          const writable = await t.ownerQuery<{ name: string }>(
            `select attname as name from pg_attribute
              where attrelid = ('app.' || quote_ident($1))::regclass and attnum > 0 and not attisdropped and attgenerated = ''
              order by attnum`,
            [table],
          );
          const columns = sql.join(
            writable.map((c) => sql.identifier(c.name)),
            sql`, `,
          );
          const insert = t.server.database.transaction({ text: enter, params: [] }, (tx) =>
            tx.execute(
              sql`insert into ${sql.identifier('app')}.${sql.identifier(table)} (${columns}) select ${columns} from jsonb_populate_record(null::${sql.identifier('app')}.${sql.identifier(table)}, ${JSON.stringify(sample?.row)}::jsonb)`,
            ),
          );
          const code = await insert.then(
            () => 'inserted',
            (error: unknown) => codeOf(error),
          );
          expect(code, `insert into app.${table} under context "${label}"`).toBe('42501');
        }
      });
    }
  });
});
