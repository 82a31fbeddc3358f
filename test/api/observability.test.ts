import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { grantPlatformAdmin } from '../../src/db/bootstrap.ts';
import { ApiClient, createTenant, signUp, type TenantFixture } from '../support/client.ts';
import { freeLoopbackPort } from '../support/free-port.ts';
import { describeEachBackend, startTestServer, type TestServer } from '../support/harness.ts';
import { logCapture } from '../support/log-capture.ts';

const METRICS_TOKEN = 'metrics-token-for-tests-0123456789';

describeEachBackend('observability', (backend) => {
  let t: TestServer;
  let acme: TenantFixture;
  let globex: TenantFixture;
  let metricsPort: number;
  const log = logCapture();

  beforeAll(async () => {
    metricsPort = await freeLoopbackPort();
    // Every transaction counts as slow, so the slow-query log fills without slowing anything down.
    t = await startTestServer(
      backend,
      { METRICS_TOKEN, METRICS_PORT: String(metricsPort), SLOW_QUERY_MS: '1', LOG_LEVEL: 'info' },
      { logDestination: log.destination },
    );
    [acme, globex] = await Promise.all([createTenant(t.url, t.inbox, 'acme'), createTenant(t.url, t.inbox, 'globex')]);
  });
  afterAll(() => t?.close());

  it('serves Prometheus metrics to the token holder and on the metrics listener only', async () => {
    await acme.member.get('/api/v1/tenants/current');
    await acme.member.get(`/api/v1/audit-log/${randomUUID()}`);
    const anonymous = new ApiClient(t.url);
    expect((await anonymous.get('/metrics')).status).toBe(404);
    expect((await anonymous.get('/metrics', { authorization: 'Bearer wrong-token-wrong-token-xx' })).status).toBe(404);
    const res = await anonymous.get('/metrics', { authorization: `Bearer ${METRICS_TOKEN}` });
    expect(res.status).toBe(200);
    const text = res.body as string;
    for (const name of [
      'palisade_http_request_duration_seconds_bucket{le="0.005",method="GET",route="GET /api/v1/tenants/current",status="200"}',
      'palisade_errors_total{code="FORBIDDEN"}',
      'palisade_db_pool_connections{state="in_use"}',
      'palisade_db_tenant_context_seconds_count',
      'palisade_db_transaction_seconds_count',
      'palisade_outbox_backlog',
      'palisade_outbox_lag_seconds',
      'palisade_realtime_connections',
      'palisade_redis_degraded 0',
      'palisade_process_cpu_user_seconds_total',
    ]) {
      expect(text, name).toContain(name);
    }
    // Route patterns, never ids: a label per object would be unbounded and would leak ids.
    expect(text).not.toMatch(/route="[^"]*[0-9a-f]{8}-[0-9a-f]{4}-/);
    const separate = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(separate.status).toBe(200);
    expect(await separate.text()).toContain('palisade_http_request_duration_seconds');
  });

  it('counts made-up paths under a fixed set of route labels, so anonymous clients cannot add series', async () => {
    const anonymous = new ApiClient(t.url);
    const routeLabels = async () => {
      const res = await anonymous.get('/metrics', { authorization: `Bearer ${METRICS_TOKEN}` });
      return new Set([...(res.body as string).matchAll(/route="([^"]*)"/g)].map((m) => m[1]));
    };
    const madeUp = (marker: string) => [
      `/trpc/${marker}`,
      `/trpc/${marker}.list?input=%7B%7D`,
      `/trpc/me.get,${marker}?batch=1`,
      `/api/v1/${marker}`,
      `/api/v1/tenants/${marker}/${marker}`,
      `/api/auth/${marker}`,
      `/${marker}`,
    ];
    const send = async (marker: string) => {
      for (const path of madeUp(marker)) {
        await anonymous.get(path);
        await anonymous.post(path, {});
      }
    };
    await send(`probe${randomUUID().slice(0, 8)}`);
    const before = await routeLabels();
    expect(before).toContain('trpc (unknown)');
    const markers = Array.from({ length: 20 }, () => `random${randomUUID().slice(0, 8)}`);
    for (const marker of markers) await send(marker);
    const after = await routeLabels();
    expect([...after].filter((label) => markers.some((marker) => label?.includes(marker)))).toEqual([]);
    expect([...after].filter((label) => !before.has(label))).toEqual([]);
  });

  it("shows each tenant's admins their own request statistics, and nobody else's", async () => {
    for (let i = 0; i < 3; i++) expect((await globex.admin.get('/api/v1/webhooks/endpoints')).status).toBe(200);
    expect((await globex.admin.get(`/api/v1/webhooks/endpoints/${randomUUID()}`)).status).toBe(404);
    // A member of acme naming globex is refused, and must not count as globex's traffic.
    expect((await acme.member.get('/api/v1/api-keys', { 'x-tenant-id': globex.id })).status).toBe(403);

    const own = await globex.admin.get('/api/v1/observability/stats?windowMinutes=5');
    expect(own.status).toBe(200);
    const byProcedure = new Map((own.body.procedures as Array<{ procedure: string }>).map((p) => [p.procedure, p]));
    expect(byProcedure.get('GET /api/v1/webhooks/endpoints')).toMatchObject({ count: 3, errors: 0, errorRate: 0 });
    expect(byProcedure.get('GET /api/v1/webhooks/endpoints/:id')).toMatchObject({ count: 1, errors: 1, errorRate: 1 });
    expect(byProcedure.has('GET /api/v1/api-keys')).toBe(false);
    const p99 = (byProcedure.get('GET /api/v1/webhooks/endpoints') as unknown as { p99Ms: number }).p99Ms;
    expect(p99).toBeGreaterThan(0);

    const other = await acme.admin.get('/api/v1/observability/stats?windowMinutes=5');
    expect((other.body.procedures as Array<{ procedure: string }>).map((p) => p.procedure)).not.toContain(
      'GET /api/v1/webhooks/endpoints',
    );
    expect((await acme.member.get('/api/v1/observability/stats')).status).toBe(403);

    const platformAdmin = await signUp(t.url, 'platform');
    await grantPlatformAdmin(t.server.database, platformAdmin.userId);
    const all = await platformAdmin.get('/api/v1/platform/stats?windowMinutes=5');
    expect(all.status).toBe(200);
    const tenantsSeen = new Set((all.body.procedures as Array<{ tenantId: string }>).map((p) => p.tenantId));
    expect([...tenantsSeen]).toEqual(expect.arrayContaining([acme.id, globex.id]));
  });

  it('keeps slow queries per tenant with fingerprints and placeholders, never parameter values', async () => {
    const marker = `secret-marker-${randomUUID()}`;
    expect((await acme.admin.post('/api/v1/api-keys', { name: marker })).status).toBe(201);
    const own = await acme.admin.get('/api/v1/observability/slow-queries?limit=200');
    expect(own.status).toBe(200);
    expect(own.body.thresholdMs).toBe(1);
    const items = own.body.items as Array<{ procedure: string; fingerprint: string; statements: string[] }>;
    const create = items.find((i) => i.procedure === 'POST /api/v1/api-keys');
    expect(create?.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(create?.statements.join(' ')).toMatch(/insert into "app"."api_keys"/);
    expect(create?.statements.join(' ')).toContain('$1');
    expect(JSON.stringify(own.body)).not.toContain(marker);
    expect(log.entries().filter((l) => JSON.stringify(l).includes(marker))).toEqual([]);
    expect(log.entries().some((l) => l.msg === 'slow query')).toBe(true);

    const other = await globex.admin.get('/api/v1/observability/slow-queries?limit=200');
    expect((other.body.items as Array<{ procedure: string }>).map((i) => i.procedure)).not.toContain('POST /api/v1/api-keys');
  });

  it('logs one line per request with request id, tenant id and user id', async () => {
    const res = await acme.member.get('/api/v1/tenants/current');
    const requestId = res.headers.get('x-request-id');
    const line = log.entries().find((l) => l.reqId === requestId && l.msg === 'request completed');
    expect(line).toMatchObject({
      tenantId: acme.id,
      userId: acme.member.userId,
      statusCode: 200,
      route: 'GET /api/v1/tenants/current',
    });
  });
});
