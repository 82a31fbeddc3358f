import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ApiClient, createTenant, type TenantFixture } from '../support/client.ts';
import { freeLoopbackPort } from '../support/free-port.ts';
import { startTestServer, type TestServer } from '../support/harness.ts';
import { createFreshDatabase, type FreshDatabase, SERVER_URL } from '../support/postgres.ts';
import { REDIS_URL, serverRedisSuites } from '../support/redis.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';

/**
 * What happens when PostgreSQL or Redis goes away and comes back. The server
 * reaches the real services through a loopback TCP proxy that the test cuts
 * and restores: every connection is reset and new ones are refused, as when
 * the service stops, while the machine's services keep serving every other
 * test file running beside this one.
 */
const redisUp = await serverRedisSuites('the Redis fault tests');

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const readyStatus = async (t: TestServer) => (await fetch(`${t.url}/health/ready`)).status;

(inject('serverPostgres') ? describe : describe.skip)('PostgreSQL goes away and comes back [postgres]', () => {
  let database: FreshDatabase;
  let proxy: TcpProxy;
  let t: TestServer;
  let acme: TenantFixture;

  beforeAll(async () => {
    database = await createFreshDatabase();
    const server = new URL(SERVER_URL);
    proxy = new TcpProxy(await freeLoopbackPort(), server.hostname, Number(server.port || 5432));
    await proxy.start();
    t = await startTestServer('postgres', {
      DATABASE_URL: proxy.urlFor(database.url),
      APP_DATABASE_URL: proxy.urlFor(database.appUrl),
      WORKER_ENABLED: 'false',
    });
    acme = await createTenant(t.url, t.inbox, 'acme');
  });
  afterAll(async () => {
    await t?.close();
    await proxy?.stop();
    await database?.drop();
  });

  it('turns readiness false and answers 503 with the standard body, then recovers by itself', async () => {
    expect(await readyStatus(t)).toBe(200);
    expect((await acme.member.get('/api/v1/tenants/current')).status).toBe(200);

    await proxy.stop();
    expect(await readyStatus(t)).toBe(503);
    const refused = await acme.member.get('/api/v1/members');
    expect(refused.status).toBe(503);
    expect(refused.body).toEqual({
      error: { code: 'UNAVAILABLE', message: 'The service is temporarily unavailable.' },
      requestId: refused.headers.get('x-request-id'),
    });
    const key = new ApiClient(t.url);
    key.apiKey = 'pal_test_00000000000000000000000000000000_000000';
    expect((await acme.admin.get('/api/v1/webhooks/endpoints')).status).toBe(503);

    await proxy.start();
    await eventually(async () => (await readyStatus(t)) === 200, 'readiness after PostgreSQL returned');
    await eventually(async () => (await acme.member.get('/api/v1/members')).status === 200, 'requests after PostgreSQL returned');
    const members = await acme.member.get('/api/v1/members');
    // And the context is still the caller's own: nothing leaked across the reconnect.
    expect(new Set((members.body.items as Array<{ userId: string }>).map((m) => m.userId))).toEqual(
      new Set([acme.owner.userId, acme.admin.userId, acme.member.userId]),
    );
  });
});

(redisUp ? describe : describe.skip)('Redis goes away and comes back', () => {
  let proxy: TcpProxy;
  let t: TestServer;
  let acme: TenantFixture;

  beforeAll(async () => {
    const redis = new URL(REDIS_URL);
    proxy = new TcpProxy(await freeLoopbackPort(), redis.hostname, Number(redis.port || 6379));
    await proxy.start();
    t = await startTestServer('pglite', { REDIS_URL: proxy.urlFor(REDIS_URL), WORKER_ENABLED: 'false' });
    acme = await createTenant(t.url, t.inbox, 'acme');
  });
  afterAll(async () => {
    await t?.close();
    await proxy?.stop();
  });

  it('turns readiness false but keeps serving with per-process rate limits, then recovers', async () => {
    expect(await readyStatus(t)).toBe(200);
    await proxy.stop();
    // The next counted request finds Redis gone and falls back to this process's memory.
    const served = await acme.member.get('/api/v1/tenants/current');
    expect(served.status).toBe(200);
    expect(served.headers.get('ratelimit')).toMatch(/^"plan-starter";r=\d+;t=\d+$/);
    await eventually(async () => (await readyStatus(t)) === 503, 'readiness to notice Redis is gone');
    expect((await acme.member.get('/api/v1/tenants/current')).status).toBe(200);

    await proxy.start();
    await eventually(async () => {
      await acme.member.get('/api/v1/tenants/current');
      return (await readyStatus(t)) === 200;
    }, 'readiness after Redis returned');
    expect(t.server.rateLimits.degraded).toBe(false);
  });
});
