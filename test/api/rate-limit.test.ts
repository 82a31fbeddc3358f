import { afterAll, beforeAll, expect, it } from 'vitest';
import { ApiClient, apiKeyClient, createTenant, PASSWORD, type TenantFixture } from '../support/client.ts';
import { freeLoopbackPort } from '../support/free-port.ts';
import { describeEachBackend, startTestServer, type TestServer } from '../support/harness.ts';
import { REDIS_URL, serverRedisSuites } from '../support/redis.ts';
import { clearOfWindowEnd } from '../support/wait.ts';

/**
 * Rate limits over real HTTP. Fixtures are built on a server with wide limits;
 * the limits are checked on servers sharing its database with limits a
 * hundred times tighter (starter: 6 a minute, anonymous and sign-in: 1), one
 * trusted proxy hop so each test can be its own client address, and the worker
 * off so nothing else counts.
 */
const TIGHT = { RATE_LIMIT_MULTIPLIER: '0.01', TRUST_PROXY_HOPS: '1', WORKER_ENABLED: 'false' };

const redisUp = await serverRedisSuites('the Redis rate limit tests over HTTP');
let nextAddress = 1;
const clientAddress = () => `203.0.113.${nextAddress++}`;

/** An API key client aimed at another server of the same database. */
function keyOn(server: TestServer, key: { apiKey?: string }): ApiClient {
  const client = new ApiClient(server.url);
  client.apiKey = key.apiKey;
  return client;
}

describeEachBackend('rate limits', (backend) => {
  let wide: TestServer;
  let tight: TestServer;
  let acme: TenantFixture;

  beforeAll(async () => {
    wide = await startTestServer(backend);
    tight = await startTestServer(backend, TIGHT, { database: wide.server.database });
    acme = await createTenant(wide.url, wide.inbox, 'acme');
  });
  afterAll(async () => {
    await tight?.close();
    await wide?.close();
  });

  it('counts an API key per key with its plan, and answers 429 with Retry-After and the standard body', async () => {
    const key = keyOn(tight, await apiKeyClient(acme.admin, { scopes: ['tenant:read'] }));
    await clearOfWindowEnd();
    const remaining: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await key.get('/api/v1/tenants/current');
      expect(res.status).toBe(200);
      expect(res.headers.get('ratelimit-policy')).toBe('"plan-starter";q=6;w=60');
      remaining.push(res.headers.get('ratelimit') ?? '');
    }
    expect(remaining.map((r) => /r=(\d+)/.exec(r)?.[1])).toEqual(['5', '4', '3', '2', '1', '0']);
    const refused = await key.get('/api/v1/tenants/current');
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('RATE_LIMITED');
    expect(refused.body.requestId).toBe(refused.headers.get('x-request-id'));
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused.headers.get('ratelimit')).toMatch(/^"plan-starter";r=0;t=\d+$/);

    // Another key of the same tenant has its own budget.
    const other = keyOn(tight, await apiKeyClient(acme.admin, { scopes: ['tenant:read'] }));
    expect((await other.get('/api/v1/tenants/current')).status).toBe(200);
  });

  it("counts a widget visitor's messages only once the visitor's token is checked", async () => {
    const agent = await acme.admin.post('/api/v1/ai/agents', { name: 'Limits', systemPrompt: 'Answer briefly.' });
    const widget = await acme.admin.post('/api/v1/ai/widgets', {
      name: 'Limits',
      agentId: agent.body.id,
      allowedDomains: ['shop.example.com'],
    });
    expect(widget.status, JSON.stringify(widget.body)).toBe(201);
    const api = `${tight.url}/api/v1/widget/${widget.body.publishableKey}`;
    // Widget: 3 a minute; visitor: 1.
    await clearOfWindowEnd();
    const send = (path: string, body: object) =>
      fetch(`${api}${path}`, {
        method: 'POST',
        headers: { origin: 'https://shop.example.com', 'content-type': 'application/json', 'x-forwarded-for': clientAddress() },
        body: JSON.stringify(body),
      });
    const session = await send('/sessions', {});
    expect(session.status).toBe(201);
    const { sessionId, visitorToken } = (await session.json()) as { sessionId: string; visitorToken: string };
    const forged = await send(`/sessions/${sessionId}/messages`, {
      visitorToken: 'vt_forged-by-someone-who-knows-the-session-id',
      content: 'hi',
    });
    expect(forged.status).toBe(404);
    const own = await send(`/sessions/${sessionId}/messages`, { visitorToken, content: 'hi' });
    expect(own.status).toBe(200);
    await own.text();
  });

  it("follows the tenant's plan", async () => {
    const upgraded = await createTenant(wide.url, wide.inbox, 'upgraded');
    expect((await upgraded.owner.patch('/api/v1/tenants/current', { plan: 'business' })).status).toBe(200);
    const key = keyOn(tight, await apiKeyClient(upgraded.admin, { scopes: ['tenant:read'] }));
    const res = await key.get('/api/v1/tenants/current');
    expect(res.headers.get('ratelimit-policy')).toBe('"plan-business";q=30;w=60');
  });

  it("counts a signed-in user per user under the plan of a tenant they belong to, and never reveals another tenant's plan", async () => {
    const globex = await createTenant(wide.url, wide.inbox, 'globex');
    expect((await globex.owner.patch('/api/v1/tenants/current', { plan: 'enterprise' })).status).toBe(200);
    const member = new ApiClient(tight.url);
    await clearOfWindowEnd();
    const signIn = await member.post(
      '/api/auth/sign-in/email',
      { email: acme.member.email, password: PASSWORD },
      { 'x-forwarded-for': clientAddress() },
    );
    expect(signIn.status).toBe(200);
    const own = await member.get('/api/v1/tenants/current');
    expect(own.status).toBe(200);
    expect(own.headers.get('ratelimit-policy')).toBe('"plan-starter";q=6;w=60');
    // Naming a tenant they are not in: refused, and counted under the default plan, not globex's.
    const foreign = await member.get('/api/v1/tenants/current', { 'x-tenant-id': globex.id });
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get('ratelimit-policy')).toBe('"plan-starter";q=6;w=60');
    expect(foreign.headers.get('ratelimit')).toMatch(/^"plan-starter";r=4;/);
  });

  it('limits unauthenticated routes by client address, taken from the trusted proxy hop', async () => {
    const address = clientAddress();
    const anonymous = new ApiClient(tight.url);
    await clearOfWindowEnd();
    const first = await anonymous.get('/api/v1/auth/providers', { 'x-forwarded-for': address });
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-policy')).toBe('"anonymous";q=1;w=60');
    expect((await anonymous.get('/api/v1/auth/providers', { 'x-forwarded-for': address })).status).toBe(429);
    // Another address has its own budget; an untrusted extra hop in front does not change the address.
    expect((await anonymous.get('/api/v1/auth/providers', { 'x-forwarded-for': clientAddress() })).status).toBe(200);
    expect((await anonymous.get('/api/v1/auth/providers', { 'x-forwarded-for': `198.51.100.1, ${address}` })).status).toBe(429);
    // Presenting an invalid key is counted by address too, so guessing keys is throttled.
    const guess = await anonymous.get('/api/v1/tenants/current', { 'x-forwarded-for': address, 'x-api-key': 'pal_test_x' });
    expect(guess.status).toBe(429);
  });

  it('is stricter on sign-in, sign-up and password reset', async () => {
    const address = clientAddress();
    const client = new ApiClient(tight.url);
    await clearOfWindowEnd();
    const first = await client.post(
      '/api/auth/sign-in/email',
      { email: acme.member.email, password: 'wrong password!' },
      { 'x-forwarded-for': address },
    );
    expect(first.status).toBe(401);
    expect(first.headers.get('ratelimit-policy')).toBe('"auth";q=1;w=60');
    const second = await client.post(
      '/api/auth/sign-in/email',
      { email: acme.member.email, password: PASSWORD },
      { 'x-forwarded-for': address },
    );
    expect(second.status).toBe(429);
    expect(second.body.error.code).toBe('RATE_LIMITED');
    for (const path of ['/api/auth/sign-up/email', '/api/auth/request-password-reset']) {
      const res = await client.post(path, { email: 'x@test.example' }, { 'x-forwarded-for': address });
      expect(res.status, path).toBe(429);
    }
  });

  it('leaves health probes alone', async () => {
    const address = clientAddress();
    for (let i = 0; i < 3; i++) {
      const res = await new ApiClient(tight.url).get('/health/live', { 'x-forwarded-for': address });
      expect(res.status).toBe(200);
      expect(res.headers.get('ratelimit')).toBeNull();
    }
  });

  (redisUp ? it : it.skip)('shares counts between processes through Redis', async () => {
    const one = await startTestServer(backend, { ...TIGHT, REDIS_URL }, { database: wide.server.database });
    const two = await startTestServer(backend, { ...TIGHT, REDIS_URL }, { database: wide.server.database });
    try {
      const key = await apiKeyClient(acme.admin, { scopes: ['tenant:read'] });
      await clearOfWindowEnd();
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++)
        statuses.push((await keyOn(i % 2 === 0 ? one : two, key).get('/api/v1/tenants/current')).status);
      expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429, 429]);
      expect(one.server.rateLimits.degraded).toBe(false);
    } finally {
      await one.close();
      await two.close();
    }
  });

  it('keeps serving, limited per process, when Redis is unreachable (the documented choice)', async () => {
    const closedPort = await freeLoopbackPort();
    const lonely = await startTestServer(
      backend,
      { ...TIGHT, REDIS_URL: `redis://127.0.0.1:${closedPort}` },
      { database: wide.server.database },
    );
    try {
      expect(lonely.server.rateLimits.degraded).toBe(true);
      const key = keyOn(lonely, await apiKeyClient(acme.admin, { scopes: ['tenant:read'] }));
      await clearOfWindowEnd();
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) statuses.push((await key.get('/api/v1/tenants/current')).status);
      expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429]);
    } finally {
      await lonely.close();
    }
  });
});
