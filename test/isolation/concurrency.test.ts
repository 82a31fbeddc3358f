import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/db/client.ts';
import { type ApiClient, type ApiResponse, createTenant, type TenantFixture } from '../support/client.ts';
import { type Backend, describeEachBackend, startTestServer, type TestServer } from '../support/harness.ts';
import { createFreshDatabase, type FreshDatabase } from '../support/postgres.ts';
import { type LeakyDatabase, leakyPglite, leakyPostgres } from './leaky-database.ts';

/**
 * Many tenants' requests interleaved over a small connection pool, every
 * response checked against what its caller's tenant may see. A tenant context
 * that outlives its transaction (a session-level SET on a pooled connection)
 * shows up here as responses built under another tenant's context; the second
 * half of the suite injects exactly that bug and requires the checker to see it.
 */

const TENANTS = 6;
const REQUESTS = 1_200;
const IN_FLIGHT = 32;
const POOL_SIZE = 3;
/** A request that takes longer than this counts as an error instead of hanging the suite. */
const REQUEST_TIMEOUT_MS = 20_000;
const SEED = 0x5eed_0001;

type Operation = 'members.list' | 'audit.list' | 'tenants.current' | 'invitations.list' | 'tenants.update' | 'invitations.create';

/** Relative frequencies: mostly reads, with writes that other tenants' reads must never see. */
const MIX: Array<[Operation, number]> = [
  ['members.list', 28],
  ['audit.list', 16],
  ['tenants.current', 18],
  ['invitations.list', 8],
  ['tenants.update', 16],
  ['invitations.create', 14],
];
/** Members may list members and read the tenant; the rest needs an admin or owner. */
const MEMBER_MAY = new Set<Operation>(['members.list', 'tenants.current']);

interface LoadTenant {
  index: number;
  id: string;
  fixture: TenantFixture;
  users: Set<string>;
  /** Emails of invitations accepted while building the fixture. */
  fixtureEmails: Set<string>;
}

/** Marks everything a request of tenant `i` writes: invitation emails, settings, and audit request ids. */
const markerOf = (tenantIndex: number, seq: number) => `load-${tenantIndex}-${seq}`;
const tenantOfMarker = (text: string | null | undefined): number | undefined => {
  const match = /^load-(\d+)-\d+/.exec(text ?? '');
  return match ? Number(match[1]) : undefined;
};

/** Deterministic pseudo-random numbers (mulberry32), so a failing load can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface PlannedRequest {
  seq: number;
  tenant: number;
  actor: 'owner' | 'admin' | 'member';
  operation: Operation;
  /** Name the tenant with X-Tenant-Id, or rely on the session's active tenant. */
  viaHeader: boolean;
}

function plan(count: number, tenants: number, seed: number): PlannedRequest[] {
  const next = random(seed);
  const total = MIX.reduce((sum, [, weight]) => sum + weight, 0);
  const pick = (): Operation => {
    let roll = next() * total;
    for (const [operation, weight] of MIX) {
      roll -= weight;
      if (roll < 0) return operation;
    }
    return 'members.list';
  };
  return Array.from({ length: count }, (_, seq) => {
    const operation = pick();
    const roles = MEMBER_MAY.has(operation) ? (['owner', 'admin', 'member'] as const) : (['owner', 'admin'] as const);
    return {
      seq,
      tenant: Math.floor(next() * tenants),
      actor: roles[Math.floor(next() * roles.length)] ?? 'owner',
      operation,
      viaHeader: next() < 0.5,
    };
  });
}

interface LoadReport {
  requests: number;
  /** The most requests that were in flight at once. */
  maxInFlight: number;
  byOperation: Record<string, number>;
  /** Rows in a response that belong to another tenant. */
  foreignRows: number;
  /**
   * Successful responses that are not the caller's tenant's view: its own rows
   * missing, another tenant's id or settings. With every query also filtered
   * by tenant_id in the handlers, a wrong context usually shows up this way
   * rather than as foreign rows.
   */
  wrongTenantViews: number;
  /** Statuses other than the expected success, and timeouts. */
  errors: number;
  /** Every isolation failure: foreign rows plus wrong-tenant views. */
  leaks: number;
  /** The first few failures, for the assertion message. */
  samples: string[];
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function emptyReport(): LoadReport {
  return { requests: 0, maxInFlight: 0, byOperation: {}, foreignRows: 0, wrongTenantViews: 0, errors: 0, leaks: 0, samples: [] };
}

/**
 * Checks one response against what the calling tenant may see and adds the
 * verdict to the report. A row's tenant is known from its content: member
 * user ids, audit actors and request ids, invitation emails and settings
 * markers all name exactly one tenant.
 */
function inspect(report: LoadReport, tenants: LoadTenant[], request: PlannedRequest, res: ApiResponse | 'timeout'): void {
  const tenant = tenants[request.tenant] as LoadTenant;
  const marker = markerOf(tenant.index, request.seq);
  const userTenant = new Map<string, number>();
  for (const other of tenants) for (const user of other.users) userTenant.set(user, other.index);
  const label = `#${request.seq} ${request.operation} by tenant ${tenant.index}'s ${request.actor}`;
  const note = (what: string) => {
    if (report.samples.length < 10) report.samples.push(`${label}: ${what}`);
  };

  report.requests++;
  report.byOperation[request.operation] = (report.byOperation[request.operation] ?? 0) + 1;
  const expected = request.operation === 'invitations.create' ? 201 : 200;
  if (res === 'timeout' || res.status !== expected) {
    report.errors++;
    note(res === 'timeout' ? 'timed out' : `${res.status} ${JSON.stringify(res.body?.error ?? res.body)}`);
    return;
  }

  /** Counts rows that `tenantOf` attributes to another tenant (or to none: an unknown row is foreign too). */
  const foreign = (rows: unknown[], tenantOf: (row: any) => number | undefined) => {
    const count = rows.filter((row) => tenantOf(row) !== tenant.index).length;
    if (count > 0) note(`${count} rows of other tenants`);
    report.foreignRows += count;
  };
  const wrongView = (why: string) => {
    report.wrongTenantViews++;
    note(why);
  };
  const body = res.body;
  switch (request.operation) {
    case 'members.list': {
      const items = body.items as Array<{ userId: string }>;
      foreign(items, (m) => userTenant.get(m.userId));
      const seen = new Set(items.map((m) => m.userId));
      if (seen.size !== tenant.users.size || [...tenant.users].some((u) => !seen.has(u))) {
        wrongView(`members are not exactly the tenant's (${items.length} listed)`);
      }
      break;
    }
    case 'audit.list': {
      const items = body.items as Array<{ actorUserId: string | null; requestId: string | null }>;
      foreign(items, (e) => {
        const byActor = e.actorUserId ? userTenant.get(e.actorUserId) : undefined;
        const byRequest = tenantOfMarker(e.requestId);
        return byRequest === undefined || byRequest === byActor ? byActor : -1;
      });
      if (items.length === 0) wrongView('empty audit log (the tenant has entries)');
      break;
    }
    case 'invitations.list': {
      const items = body.items as Array<{ email: string }>;
      foreign(items, (i) => (tenant.fixtureEmails.has(i.email) ? tenant.index : (tenantOfMarker(i.email) ?? -1)));
      if (items.length === 0) wrongView('no invitations (the tenant has some)');
      break;
    }
    case 'tenants.current':
    case 'tenants.update': {
      if (body.id !== tenant.id) wrongView(`tenant ${body.id} instead of the caller's`);
      const settingsMarker = body.settings?.marker as string | undefined;
      if (request.operation === 'tenants.update' && settingsMarker !== marker) wrongView('settings not the ones just written');
      if (settingsMarker !== undefined) foreign([settingsMarker], tenantOfMarker);
      break;
    }
    case 'invitations.create': {
      if (body.email !== `${marker}@load.example`) wrongView('a different invitation came back');
      break;
    }
  }
}

function send(tenants: LoadTenant[], request: PlannedRequest): Promise<ApiResponse> {
  const tenant = tenants[request.tenant] as LoadTenant;
  const actor: ApiClient = tenant.fixture[request.actor];
  const marker = markerOf(tenant.index, request.seq);
  const headers: Record<string, string> = { 'x-request-id': marker };
  if (request.viaHeader) headers['x-tenant-id'] = tenant.id;
  switch (request.operation) {
    case 'members.list':
      return actor.get('/api/v1/members?limit=100', headers);
    case 'audit.list':
      return actor.get('/api/v1/audit-log?limit=100', headers);
    case 'tenants.current':
      return actor.get('/api/v1/tenants/current', headers);
    case 'invitations.list':
      return actor.get('/api/v1/invitations?limit=100', headers);
    case 'tenants.update':
      return actor.patch('/api/v1/tenants/current', { settings: { marker } }, headers);
    case 'invitations.create':
      return actor.post('/api/v1/invitations', { email: `${marker}@load.example`, role: 'member' }, headers);
  }
}

/** Runs the planned requests with IN_FLIGHT workers and checks every response. */
async function runLoad(tenants: LoadTenant[], requests: PlannedRequest[]): Promise<LoadReport> {
  const report = emptyReport();
  let nextIndex = 0;
  let inFlight = 0;
  const worker = async () => {
    while (nextIndex < requests.length) {
      const request = requests[nextIndex++] as PlannedRequest;
      inFlight++;
      report.maxInFlight = Math.max(report.maxInFlight, inFlight);
      const res = await withTimeout(send(tenants, request), REQUEST_TIMEOUT_MS);
      inFlight--;
      inspect(report, tenants, request, res);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  report.leaks = report.foreignRows + report.wrongTenantViews;
  return report;
}

/** Rows the load wrote, each checked against the tenant its marker names. */
async function misplacedRows(t: TestServer, tenants: LoadTenant[]): Promise<string[]> {
  const indexOf = new Map(tenants.map((x) => [x.id, x.index]));
  const problems: string[] = [];
  const invitations = await t.ownerQuery<{ tenant_id: string; email: string }>(
    "select tenant_id, email from app.invitations where email like 'load-%'",
  );
  for (const row of invitations) {
    if (tenantOfMarker(row.email) !== indexOf.get(row.tenant_id))
      problems.push(`invitation ${row.email} in tenant ${row.tenant_id}`);
  }
  const audit = await t.ownerQuery<{ tenant_id: string; request_id: string }>(
    "select tenant_id, request_id from app.audit_log where request_id like 'load-%'",
  );
  for (const row of audit) {
    if (tenantOfMarker(row.request_id) !== indexOf.get(row.tenant_id))
      problems.push(`audit entry ${row.request_id} in tenant ${row.tenant_id}`);
  }
  const settings = await t.ownerQuery<{ id: string; marker: string | null }>(
    "select id, settings->>'marker' as marker from app.tenants where settings ? 'marker'",
  );
  for (const row of settings) {
    if (tenantOfMarker(row.marker) !== indexOf.get(row.id)) problems.push(`tenant ${row.id} has settings marker ${row.marker}`);
  }
  return problems;
}

async function buildTenants(t: TestServer): Promise<LoadTenant[]> {
  const fixtures = await Promise.all(Array.from({ length: TENANTS }, (_, i) => createTenant(t.url, t.inbox, `load${i}`)));
  return fixtures.map((fixture, index) => ({
    index,
    id: fixture.id,
    fixture,
    users: new Set([fixture.owner.userId, fixture.admin.userId, fixture.member.userId]),
    fixtureEmails: new Set([fixture.admin.email, fixture.member.email]),
  }));
}

const requests = plan(REQUESTS, TENANTS, SEED);

describe('the planned load', () => {
  it('is big, mixed and spread over every tenant', () => {
    expect(requests.length).toBeGreaterThanOrEqual(1_000);
    for (const [operation] of MIX)
      expect(requests.filter((r) => r.operation === operation).length, operation).toBeGreaterThan(30);
    for (let i = 0; i < TENANTS; i++) expect(requests.filter((r) => r.tenant === i).length).toBeGreaterThan(100);
    expect(TENANTS).toBeGreaterThanOrEqual(5);
  });
});

describe('the response checker', () => {
  // Synthetic responses, so every rule of the checker is shown to fire. (With
  // the handlers filtering by tenant_id on top of RLS, the leaky database
  // below produces wrong-tenant views rather than foreign rows.)
  const tenant = (index: number): LoadTenant => ({
    index,
    id: `00000000-0000-4000-8000-00000000000${index}`,
    fixture: undefined as unknown as TenantFixture,
    users: new Set([`user-${index}-a`, `user-${index}-b`]),
    fixtureEmails: new Set([`fixture-${index}@test.example`]),
  });
  const tenants = [tenant(0), tenant(1)];
  const ok = (body: unknown, status = 200): ApiResponse => ({ status, body, headers: new Headers() });
  const request = (operation: Operation, seq = 7): PlannedRequest => ({
    seq,
    tenant: 0,
    actor: 'owner',
    operation,
    viaHeader: false,
  });
  const verdict = (operation: Operation, res: ApiResponse | 'timeout') => {
    const report = emptyReport();
    inspect(report, tenants, request(operation), res);
    return { foreign: report.foreignRows, wrong: report.wrongTenantViews, errors: report.errors };
  };

  const verdicts: Array<
    [what: string, operation: Operation, response: ApiResponse | 'timeout', foreign: number, wrong: number, errors: number]
  > = [
    ['own members', 'members.list', ok({ items: [{ userId: 'user-0-a' }, { userId: 'user-0-b' }] }), 0, 0, 0],
    ['own audit entry', 'audit.list', ok({ items: [{ actorUserId: 'user-0-a', requestId: 'load-0-3' }] }), 0, 0, 0],
    [
      'own invitations',
      'invitations.list',
      ok({ items: [{ email: 'fixture-0@test.example' }, { email: 'load-0-2@x' }] }),
      0,
      0,
      0,
    ],
    ['own settings', 'tenants.update', ok({ id: tenants[0]?.id, settings: { marker: 'load-0-7' } }), 0, 0, 0],
    [
      'a foreign member',
      'members.list',
      ok({ items: [{ userId: 'user-0-a' }, { userId: 'user-0-b' }, { userId: 'user-1-a' }] }),
      1,
      1,
      0,
    ],
    ['own members missing', 'members.list', ok({ items: [] }), 0, 1, 0],
    ['a foreign actor', 'audit.list', ok({ items: [{ actorUserId: 'user-1-a', requestId: null }] }), 1, 0, 0],
    ["another tenant's request id", 'audit.list', ok({ items: [{ actorUserId: 'user-0-a', requestId: 'load-1-4' }] }), 1, 0, 0],
    ['a foreign invitation', 'invitations.list', ok({ items: [{ email: 'load-1-2@x' }] }), 1, 0, 0],
    ['another tenant', 'tenants.current', ok({ id: tenants[1]?.id, settings: { marker: 'load-1-3' } }), 1, 1, 0],
    ['stale settings', 'tenants.update', ok({ id: tenants[0]?.id, settings: { marker: 'load-0-6' } }), 0, 1, 0],
    ['a refusal', 'invitations.create', ok({ error: { code: 'NOT_FOUND' } }, 404), 0, 0, 1],
    ['a timeout', 'members.list', 'timeout', 0, 0, 1],
  ];

  it.each(verdicts)('%s: %s', (_what, operation, response, foreign, wrong, errors) => {
    expect(verdict(operation, response)).toEqual({ foreign, wrong, errors });
  });
});

describeEachBackend('concurrent tenants over a small pool', (backend) => {
  describe('the real database', () => {
    let t: TestServer;
    let tenants: LoadTenant[];

    beforeAll(async () => {
      t = await startTestServer(backend, { DATABASE_POOL_SIZE: String(POOL_SIZE) });
      tenants = await buildTenants(t);
    });
    afterAll(() => t?.close());

    it(`answers ${REQUESTS} interleaved requests of ${TENANTS} tenants with only the caller's rows`, async () => {
      const report = await runLoad(tenants, requests);
      const summary = JSON.stringify({ ...report, samples: undefined });
      expect(report.requests, summary).toBe(REQUESTS);
      expect(report.maxInFlight, summary).toBe(IN_FLIGHT);
      expect(report.leaks, `${summary}\n${report.samples.join('\n')}`).toBe(0);
      expect(report.errors, `${summary}\n${report.samples.join('\n')}`).toBe(0);
      expect(await misplacedRows(t, tenants)).toEqual([]);
      // The writes really happened, each in its own tenant.
      const [written] = await t.ownerQuery<{ n: number }>(
        "select count(*)::int as n from app.invitations where email like 'load-%'",
      );
      expect(written?.n).toBe(report.byOperation['invitations.create']);
    }, 180_000);
  });

  describe('a database that sets the tenant context per session (the seed-001 bug)', () => {
    let t: TestServer;
    let tenants: LoadTenant[];
    let leaky: LeakyDatabase;
    let real: Database;
    let fresh: FreshDatabase | undefined;

    beforeAll(async () => {
      ({ real, leaky, fresh } = await openLeaky(backend));
      t = await startTestServer(backend, { DATABASE_POOL_SIZE: String(POOL_SIZE) }, { database: leaky.database });
      // Fixtures are built through the correct path; only the load runs broken.
      tenants = await buildTenants(t);
    });
    afterAll(async () => {
      await t?.close();
      await leaky?.close();
      await real?.close();
      await fresh?.drop();
    });

    it('is caught by the same checker', async () => {
      leaky.control.leaking = true;
      const report = await runLoad(tenants, requests);
      leaky.control.leaking = false;
      expect(leaky.control.leakyTransactions, 'no withTenant/withUser statement was recognised (see contextOf)').toBeGreaterThan(
        0,
      );
      expect(report.requests).toBe(REQUESTS);
      // Errors are expected too (writes refused by WITH CHECK, membership
      // checks made under a stranger's context); what matters is that
      // responses built under another tenant's context are detected.
      expect(report.leaks, JSON.stringify({ ...report, samples: undefined })).toBeGreaterThan(0);
    }, 180_000);
  });
});

/** The real database of a fresh test database, and the broken wrapper around it. */
async function openLeaky(backend: Backend): Promise<{ real: Database; leaky: LeakyDatabase; fresh?: FreshDatabase }> {
  if (backend === 'pglite') {
    const real = await openDatabase({ dataDir: 'memory://' });
    return { real, leaky: leakyPglite(real) };
  }
  const fresh = await createFreshDatabase();
  const real = await openDatabase({ url: fresh.url, appUrl: fresh.appUrl, poolSize: POOL_SIZE });
  return { real, leaky: leakyPostgres(real, fresh.appUrl, POOL_SIZE), fresh };
}
