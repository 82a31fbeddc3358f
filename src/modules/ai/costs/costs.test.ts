import { afterAll, beforeAll, expect, it } from 'vitest';
import { apiKeyClient, createTenant, type TenantFixture } from '../../../../test/support/client.ts';
import { describeEachBackend, startTestServer, type TestServer } from '../../../../test/support/harness.ts';
import { TestReceiver } from '../../../../test/support/receiver.ts';
import { AppError } from '../../../api/errors.ts';
import { loadConfig } from '../../../config.ts';
import { withSystemTenant } from '../../../db/tenant.ts';
import { configurePrices, DEFAULT_PRICES, priceTable, unitPrice } from './prices.ts';
import { admitModelCall, type CostEventInput, recordCost, releaseReservation, severityOf } from './record.ts';

/** Prices the tests can compute by hand: per 1K tokens for llm and embedding, per participant-minute for livekit. */
const TEST_PRICES = {
  llm: { 'test-model': { input: 1, output: 2 } },
  embedding: { default: 0.5 },
  livekit: { default: 0.01 },
};

it('reads AI_PRICES as JSON merged over the defaults, and refuses a malformed one', () => {
  const config = loadConfig({ AI_PRICES: JSON.stringify(TEST_PRICES) });
  expect(config.AI_PRICES).toEqual(TEST_PRICES);
  expect(() => loadConfig({ AI_PRICES: '{not json' })).toThrow(/AI_PRICES/);
  expect(() => loadConfig({ AI_PRICES: JSON.stringify({ llm: { x: { input: -1, output: 1 } } }) })).toThrow(/AI_PRICES/);
  expect(() => loadConfig({ AI_PRICES: JSON.stringify({ fax: { default: 1 } }) })).toThrow(/AI_PRICES/);
  try {
    configurePrices(config.AI_PRICES);
    // Per token: the table quotes per 1K tokens.
    expect(unitPrice('llm', 'test-model', 'input_tokens')).toBeCloseTo(0.001, 12);
    expect(unitPrice('llm', 'test-model', 'output_tokens')).toBeCloseTo(0.002, 12);
    // An estimate without a unit takes the higher rate.
    expect(unitPrice('llm', 'test-model')).toBeCloseTo(0.002, 12);
    // Unknown models fall back to the service default; other models keep their built-in prices.
    expect(unitPrice('llm', 'no-such-model', 'input_tokens')).toBeCloseTo(0.0005 / 1000, 15);
    expect(priceTable().llm['gpt-4o']).toEqual(DEFAULT_PRICES.llm['gpt-4o']);
    expect(unitPrice('embedding', 'anything')).toBeCloseTo(0.0005, 12);
    expect(unitPrice('livekit')).toBe(0.01);
    expect(unitPrice('vision')).toBe(DEFAULT_PRICES.vision.default);
    expect(unitPrice('llm', 'offline', 'output_tokens')).toBe(0);
  } finally {
    configurePrices(undefined);
  }
  expect(unitPrice('llm', 'test-model')).toBe(unitPrice('llm', 'default'));
  expect([severityOf(50), severityOf(80), severityOf(99), severityOf(100), severityOf(150)]).toEqual([
    'info',
    'warning',
    'warning',
    'critical',
    'critical',
  ]);
});

describeEachBackend('ai costs and budgets', (backend) => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer(backend, { AI_PRICES: JSON.stringify(TEST_PRICES), WORKER_ENABLED: 'false' });
  });
  afterAll(() => t?.close());

  /** What the chat and knowledge code do: record a cost in the tenant's own transaction. */
  const record = (tenantId: string, event: CostEventInput) =>
    withSystemTenant(t.server.database, tenantId, (tx) => recordCost(tx, tenantId, event));
  const admit = (tenantId: string, maxUnits: number) =>
    withSystemTenant(t.server.database, tenantId, (tx) =>
      admitModelCall(tx, tenantId, { service: 'llm', model: 'test-model', maxUnits }),
    );
  const usage = async (tenantId: string) => {
    const [row] = await t.ownerQuery<{ spent: string; reserved: string }>(
      'select spent::text, reserved::text from app.ai_budget_usage where tenant_id = $1',
      [tenantId],
    );
    return { spent: Number(row?.spent ?? 0), reserved: Number(row?.reserved ?? 0) };
  };
  const setBudget = async (a: TenantFixture, body: Record<string, unknown>) => {
    const res = await a.admin.request('PUT', '/api/v1/ai/budget', body);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  };

  it('prices cost events, lists them with a cursor and filters, and sums them per day and month', async () => {
    const a = await createTenant(t.url, t.inbox, 'costs');
    const session = await t.ownerQuery<{ id: string }>(
      "insert into app.ai_conversations (tenant_id, mode) values ($1, 'text') returning id",
      [a.id],
    );
    const sessionId = session[0]?.id as string;
    const agentId = crypto.randomUUID();
    const input = await record(a.id, {
      service: 'llm',
      model: 'test-model',
      units: 1500,
      unit: 'input_tokens',
      sessionId,
      agentId,
      metadata: { note: 'x' },
    });
    expect(input.amount).toBeCloseTo(1.5, 10);
    const output = await record(a.id, {
      service: 'llm',
      model: 'test-model',
      units: 250,
      unit: 'output_tokens',
      sessionId,
      agentId,
    });
    expect(output.amount).toBeCloseTo(0.5, 10);
    const embedding = await record(a.id, { service: 'embedding', model: 'e', units: 10 });
    // A fraction of a cent is kept, not rounded away.
    expect(embedding.amount).toBeCloseTo(0.005, 10);
    const tiny = await record(a.id, { service: 'embedding', units: 1 });
    expect(tiny.amount).toBeCloseTo(0.0005, 10);

    const all = await a.member.get('/api/v1/ai/costs/events?limit=3');
    expect(all.status).toBe(200);
    expect(all.body.items).toHaveLength(3);
    expect(all.body.nextCursor).toEqual(expect.any(String));
    const rest = await a.member.get(`/api/v1/ai/costs/events?limit=3&cursor=${all.body.nextCursor}`);
    expect(rest.body.items).toHaveLength(1);
    expect(rest.body.nextCursor).toBeNull();
    const ids = [...all.body.items, ...rest.body.items].map((e: { id: string }) => e.id);
    expect(new Set(ids)).toEqual(new Set([input.id, output.id, embedding.id, tiny.id]));

    const bySession = await a.member.get(`/api/v1/ai/costs/events?sessionId=${sessionId}&sort=-amount`);
    expect(bySession.body.items.map((e: { id: string }) => e.id)).toEqual([input.id, output.id]);
    expect(bySession.body.items[0]).toMatchObject({
      service: 'llm',
      model: 'test-model',
      units: 1500,
      unit: 'input_tokens',
      unitPrice: 0.001,
      amount: 1.5,
      sessionId,
      agentId,
      metadata: { note: 'x' },
    });
    const byService = await a.member.get('/api/v1/ai/costs/events?service=embedding');
    expect(byService.body.items).toHaveLength(2);
    const badSort = await a.member.get('/api/v1/ai/costs/events?sort=unit_price');
    expect(badSort.status).toBe(400);

    for (const period of ['day', 'month']) {
      const summary = await a.member.get(`/api/v1/ai/costs/summary?period=${period}`);
      expect(summary.status, JSON.stringify(summary.body)).toBe(200);
      expect(summary.body.currency).toBe('USD');
      const today = new Date().toISOString().slice(0, 10);
      const bucket = period === 'day' ? today : `${today.slice(0, 7)}-01`;
      expect(summary.body.rows).toEqual([
        { period: bucket, service: 'embedding', events: 2, units: 11, amount: 0.0055 },
        { period: bucket, service: 'llm', events: 2, units: 1750, amount: 2 },
      ]);
      expect(summary.body.total).toBeCloseTo(2.0055, 10);
      expect(summary.body.totals).toEqual(expect.arrayContaining([{ service: 'llm', events: 2, units: 1750, amount: 2 }]));
    }
    const llmOnly = await a.member.get('/api/v1/ai/costs/summary?period=day&service=llm');
    expect(llmOnly.body.rows).toHaveLength(1);
    const past = await a.member.get('/api/v1/ai/costs/summary?period=month&from=2020-01-01&to=2020-06-01');
    expect(past.body.rows).toEqual([]);
    const backwards = await a.member.get('/api/v1/ai/costs/summary?period=day&from=2026-02-01&to=2026-01-01');
    expect(backwards.status).toBe(400);
    expect(backwards.body.error.code).toBe('VALIDATION_FAILED');
    const tooLong = await a.member.get('/api/v1/ai/costs/summary?period=day&from=2020-01-01&to=2026-01-01');
    expect(tooLong.status).toBe(400);

    // The month's usage row carries what was spent.
    expect((await usage(a.id)).spent).toBeCloseTo(2.0055, 10);

    // Deleting the conversation keeps its cost events, without the session.
    expect((await a.member.delete(`/api/v1/ai/conversations/${sessionId}`)).status).toBe(200);
    const kept = await t.ownerQuery<{ n: number }>(
      'select count(*)::int as n from app.ai_cost_events where tenant_id = $1 and session_id is null',
      [a.id],
    );
    expect(kept[0]?.n).toBe(4);

    // API keys need ai:read.
    const key = await apiKeyClient(a.admin, { scopes: ['crm:read'] });
    const refused = await key.get('/api/v1/ai/costs/events');
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('INSUFFICIENT_SCOPE');
    const reader = await apiKeyClient(a.admin, { scopes: ['ai:read'] });
    expect((await reader.get('/api/v1/ai/costs/summary')).status).toBe(200);
  });

  it('lets admins set the budget, audits it, and refuses members and bad input', async () => {
    const a = await createTenant(t.url, t.inbox, 'budget');
    const initial = await a.member.get('/api/v1/ai/budget');
    expect(initial.status).toBe(200);
    expect(initial.body).toMatchObject({
      monthlyLimit: null,
      alertThresholds: [50, 80, 100],
      hardLimit: false,
      currency: 'USD',
      spent: 0,
      reserved: 0,
      percentUsed: null,
    });
    expect(initial.body.period).toMatch(/^\d{4}-\d{2}-01$/);

    const byMember = await a.member.request('PUT', '/api/v1/ai/budget', { monthlyLimit: 10 });
    expect(byMember.status).toBe(403);
    expect(byMember.body.error.code).toBe('FORBIDDEN');
    for (const bad of [
      { monthlyLimit: -1 },
      { monthlyLimit: 5, alertThresholds: [0] },
      { monthlyLimit: 5, alertThresholds: new Array(11).fill(10) },
    ]) {
      const res = await a.admin.request('PUT', '/api/v1/ai/budget', bad);
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
    }

    const set = await setBudget(a, { monthlyLimit: 120.5, alertThresholds: [90, 25, 90], hardLimit: true });
    expect(set).toMatchObject({ monthlyLimit: 120.5, alertThresholds: [25, 90], hardLimit: true, percentUsed: 0 });
    const again = await setBudget(a, { monthlyLimit: 200 });
    expect(again).toMatchObject({ monthlyLimit: 200, alertThresholds: [50, 80, 100], hardLimit: false });

    const audit = await t.ownerQuery<{ action: string; before: Record<string, unknown>; after: Record<string, unknown> }>(
      "select action, before, after from app.audit_log where tenant_id = $1 and action = 'ai.budget.updated' order by created_at",
      [a.id],
    );
    expect(audit).toHaveLength(2);
    expect(audit[0]?.before).toEqual({ monthlyLimit: null, alertThresholds: [50, 80, 100], hardLimit: false });
    expect(audit[0]?.after).toEqual({ monthlyLimit: 120.5, alertThresholds: [25, 90], hardLimit: true });
    expect(audit[1]?.after).toEqual({ monthlyLimit: 200, alertThresholds: [50, 80, 100], hardLimit: false });
  });

  it('raises each threshold once per month as an event, and lets admins acknowledge and resolve alerts', async () => {
    const a = await createTenant(t.url, t.inbox, 'alerts');
    await setBudget(a, { monthlyLimit: 10, alertThresholds: [50, 80, 100] });
    // 0.002 USD per output token: 2,000 tokens = 4 USD (40%).
    await record(a.id, { service: 'llm', model: 'test-model', units: 2000, unit: 'output_tokens' });
    expect((await a.member.get('/api/v1/ai/budget/alerts')).body.items).toEqual([]);
    await record(a.id, { service: 'llm', model: 'test-model', units: 600, unit: 'output_tokens' }); // 5.2 USD
    await record(a.id, { service: 'llm', model: 'test-model', units: 10, unit: 'output_tokens' }); // still 52%: no second alert
    const first = await a.member.get('/api/v1/ai/budget/alerts');
    expect(first.body.items).toHaveLength(1);
    expect(first.body.items[0]).toMatchObject({ threshold: 50, severity: 'info', status: 'open', monthlyLimit: 10 });
    // One call jumps past 80 and 100: both are raised, each once.
    await record(a.id, { service: 'llm', model: 'test-model', units: 2500, unit: 'output_tokens' }); // 10.22 USD
    await record(a.id, { service: 'llm', model: 'test-model', units: 2500, unit: 'output_tokens' });
    const all = await a.member.get('/api/v1/ai/budget/alerts?sort=createdAt');
    expect(all.body.items.map((x: { threshold: number; severity: string }) => [x.threshold, x.severity])).toEqual(
      expect.arrayContaining([
        [50, 'info'],
        [80, 'warning'],
        [100, 'critical'],
      ]),
    );
    expect(all.body.items).toHaveLength(3);
    const events = await t.ownerQuery<{ data: { threshold: number; severity: string; monthlyLimit: number } }>(
      "select data from app.events where tenant_id = $1 and type = 'ai.budget_alert.raised' order by (data->>'threshold')::int",
      [a.id],
    );
    expect(events.map((e) => [e.data.threshold, e.data.severity, e.data.monthlyLimit])).toEqual([
      [50, 'info', 10],
      [80, 'warning', 10],
      [100, 'critical', 10],
    ]);
    // The events become webhook deliveries through the outbox like any other event.
    const jobs = await t.ownerQuery<{ n: number }>(
      "select count(*)::int as n from app.jobs j join app.events e on e.id = j.ref_id where e.tenant_id = $1 and e.type = 'ai.budget_alert.raised' and j.kind = 'dispatch_event'",
      [a.id],
    );
    expect(jobs[0]?.n).toBe(3);

    // Lowering the limit raises newly crossed thresholds at once (here a new 10% threshold).
    await setBudget(a, { monthlyLimit: 10, alertThresholds: [10, 50, 80, 100] });
    expect((await a.member.get('/api/v1/ai/budget/alerts')).body.items).toHaveLength(4);

    const fifty = all.body.items.find((x: { threshold: number }) => x.threshold === 50);
    const byMember = await a.member.post(`/api/v1/ai/budget/alerts/${fifty.id}/acknowledge`);
    expect(byMember.status).toBe(403);
    const acked = await a.admin.post(`/api/v1/ai/budget/alerts/${fifty.id}/acknowledge`);
    expect(acked.status).toBe(200);
    expect(acked.body).toMatchObject({ status: 'acknowledged', acknowledgedAt: expect.any(String), resolvedAt: null });
    const ackedAgain = await a.admin.post(`/api/v1/ai/budget/alerts/${fifty.id}/acknowledge`);
    expect(ackedAgain.status).toBe(409);
    expect(ackedAgain.body.error.code).toBe('INVALID_TRANSITION');
    const resolved = await a.admin.post(`/api/v1/ai/budget/alerts/${fifty.id}/resolve`);
    expect(resolved.body).toMatchObject({ status: 'resolved', resolvedAt: expect.any(String) });
    expect((await a.admin.post(`/api/v1/ai/budget/alerts/${fifty.id}/resolve`)).status).toBe(409);
    const open = await a.member.get('/api/v1/ai/budget/alerts?status=open');
    expect(open.body.items).toHaveLength(3);
    const missing = await a.admin.post(`/api/v1/ai/budget/alerts/${crypto.randomUUID()}/resolve`);
    expect(missing.status).toBe(404);
    const types = await t.ownerQuery<{ type: string }>(
      "select type from app.events where tenant_id = $1 and type like 'ai.budget_alert.%' and type <> 'ai.budget_alert.raised' order by occurred_at",
      [a.id],
    );
    expect(types.map((r) => r.type)).toEqual(['ai.budget_alert.acknowledged', 'ai.budget_alert.resolved']);
  });

  it('admits model calls freely without a hard limit, and refuses them with BUDGET_EXCEEDED (402) at the limit', async () => {
    const a = await createTenant(t.url, t.inbox, 'hard');
    expect(await admit(a.id, 1000)).toEqual({ reservationId: null });
    await setBudget(a, { monthlyLimit: 10, hardLimit: false });
    expect(await admit(a.id, 1000)).toEqual({ reservationId: null });
    await setBudget(a, { monthlyLimit: 1, hardLimit: true });

    // 400 tokens at most, at 0.002 USD: 0.8 USD reserved.
    const first = await admit(a.id, 400);
    expect(first.reservationId).toEqual(expect.any(String));
    expect(await usage(a.id)).toEqual({ spent: 0, reserved: 0.8 });
    // The call used 100 input and 50 output tokens: the reservation is settled by the first event.
    await record(a.id, {
      service: 'llm',
      model: 'test-model',
      units: 100,
      unit: 'input_tokens',
      reservationId: first.reservationId,
    });
    await record(a.id, { service: 'llm', model: 'test-model', units: 50, unit: 'output_tokens' });
    expect(await usage(a.id)).toEqual({ spent: 0.2, reserved: 0 });
    // Settling twice does nothing.
    await withSystemTenant(t.server.database, a.id, (tx) => releaseReservation(tx, a.id, first.reservationId as string));
    expect(await usage(a.id)).toEqual({ spent: 0.2, reserved: 0 });

    // A failed call releases its reservation.
    const failed = await admit(a.id, 400);
    expect((await usage(a.id)).reserved).toBeCloseTo(0.8, 10);
    await withSystemTenant(t.server.database, a.id, (tx) => releaseReservation(tx, a.id, failed.reservationId as string));
    expect((await usage(a.id)).reserved).toBe(0);

    // Spend up to the limit: the next call is refused.
    await record(a.id, { service: 'llm', model: 'test-model', units: 400, unit: 'output_tokens' }); // 1.0 USD
    const refused = await admit(a.id, 1).then(
      () => null,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(AppError);
    expect((refused as AppError).code).toBe('BUDGET_EXCEEDED');
    expect((refused as AppError).status).toBe(402);
    expect((await a.member.get('/api/v1/ai/budget')).body).toMatchObject({ spent: 1, percentUsed: 100, hardLimit: true });

    // Raising the limit admits calls again.
    await setBudget(a, { monthlyLimit: 2, hardLimit: true });
    expect((await admit(a.id, 1)).reservationId).toEqual(expect.any(String));
  });

  it('frees reservations whose caller never settled them once they expire', async () => {
    const a = await createTenant(t.url, t.inbox, 'expiry');
    await setBudget(a, { monthlyLimit: 1, hardLimit: true });
    const stuck = await admit(a.id, 500); // 1.0 USD: the whole budget
    expect(stuck.reservationId).toEqual(expect.any(String));
    await expect(admit(a.id, 1)).rejects.toMatchObject({ code: 'BUDGET_EXCEEDED' });
    // The caller crashed; its reservation's time runs out.
    await t.ownerQuery("update app.ai_budget_reservations set expires_at = now() - interval '1 second' where tenant_id = $1", [
      a.id,
    ]);
    const next = await admit(a.id, 1);
    expect(next.reservationId).toEqual(expect.any(String));
    expect((await usage(a.id)).reserved).toBeCloseTo(0.002, 10);
    const left = await t.ownerQuery<{ id: string }>('select id from app.ai_budget_reservations where tenant_id = $1', [a.id]);
    expect(left.map((r) => r.id)).toEqual([next.reservationId]);
  });

  it('never lets concurrent admissions overspend the limit by more than one call', async () => {
    const a = await createTenant(t.url, t.inbox, 'race');
    const limit = 1;
    await setBudget(a, { monthlyLimit: limit, hardLimit: true });
    // Each call may cost at most 150 tokens x 0.002 = 0.3 USD.
    const maxCost = 0.3;
    const attempts = 40;
    const results = await Promise.allSettled(Array.from({ length: attempts }, () => admit(a.id, 150)));
    const admitted = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected');
    for (const r of refused) expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'BUDGET_EXCEEDED' });
    // Admitted while spent + reserved < limit: 0, 0.3, 0.6, 0.9, then refused.
    expect(admitted).toHaveLength(4);
    expect(refused).toHaveLength(attempts - 4);
    const { reserved } = await usage(a.id);
    expect(reserved).toBeCloseTo(admitted.length * maxCost, 10);
    expect(reserved).toBeLessThanOrEqual(limit + maxCost);
    const rows = await t.ownerQuery<{ n: number }>(
      'select count(*)::int as n from app.ai_budget_reservations where tenant_id = $1',
      [a.id],
    );
    expect(rows[0]?.n).toBe(4);

    // Every admitted call spends its maximum, concurrently: the month ends at most one call over the limit.
    await Promise.all(
      admitted.map((r) =>
        record(a.id, {
          service: 'llm',
          model: 'test-model',
          units: 150,
          unit: 'output_tokens',
          reservationId: (r as PromiseFulfilledResult<{ reservationId: string }>).value.reservationId,
        }),
      ),
    );
    const after = await usage(a.id);
    expect(after.reserved).toBe(0);
    expect(after.spent).toBeCloseTo(1.2, 10);
    expect(after.spent).toBeLessThanOrEqual(limit + maxCost);
    await expect(admit(a.id, 1)).rejects.toMatchObject({ code: 'BUDGET_EXCEEDED' });
  });
});

describeEachBackend('ai budget alerts as webhooks', (backend) => {
  let t: TestServer;
  let receiver: TestReceiver;

  beforeAll(async () => {
    receiver = new TestReceiver();
    await receiver.start();
    t = await startTestServer(backend, {
      AI_PRICES: JSON.stringify(TEST_PRICES),
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
      JOBS_POLL_MS: '50',
    });
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.stop();
  });

  it('delivers a raised alert to a subscribed endpoint, once', async () => {
    const a = await createTenant(t.url, t.inbox, 'hook');
    const endpoint = await a.admin.post('/api/v1/webhooks/endpoints', {
      url: `${receiver.url}/budget`,
      eventTypes: ['ai.budget_alert.raised'],
    });
    expect(endpoint.status, JSON.stringify(endpoint.body)).toBe(201);
    const budget = await a.admin.request('PUT', '/api/v1/ai/budget', { monthlyLimit: 1, alertThresholds: [100] });
    expect(budget.status).toBe(200);
    const spend = (units: number) =>
      withSystemTenant(t.server.database, a.id, (tx) =>
        recordCost(tx, a.id, { service: 'llm', model: 'test-model', units, unit: 'output_tokens' }),
      );
    await spend(600); // 1.2 USD: past 100%
    await spend(10); // still past it: no second alert
    const [request] = await receiver.waitFor(1);
    expect(request?.path).toBe('/budget');
    const payload = JSON.parse(request?.body ?? '{}');
    expect(payload.type).toBe('ai.budget_alert.raised');
    expect(JSON.stringify(payload)).toContain('"threshold":100');
    expect(JSON.stringify(payload)).toContain('"severity":"critical"');
    expect(request?.headers['webhook-signature']).toEqual(expect.any(String));
    const alerts = await a.member.get('/api/v1/ai/budget/alerts');
    expect(alerts.body.items).toHaveLength(1);
    // Deliveries settle; only one was ever due for this endpoint.
    const deliveries = await t.ownerQuery<{ n: number }>(
      "select count(*)::int as n from app.webhook_deliveries where tenant_id = $1 and event_type = 'ai.budget_alert.raised'",
      [a.id],
    );
    expect(deliveries[0]?.n).toBe(1);
  });
});
