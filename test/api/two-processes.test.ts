import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type ChildServer, kill, serverEnv, startChild } from '../support/child-server.ts';
import { ApiClient, PASSWORD, uniqueEmail, uniqueSlug } from '../support/client.ts';
import { createFreshDatabase, type FreshDatabase } from '../support/postgres.ts';
import { RealtimeClient } from '../support/realtime-client.ts';
import { TestReceiver } from '../support/receiver.ts';
import { REDIS_URL, serverRedisSuites } from '../support/redis.ts';
import { clearOfWindowEnd } from '../support/wait.ts';

/**
 * Several stateless instances behind a load balancer: two real server
 * processes on one PostgreSQL database and one Redis, both running workers.
 */
const redisUp = await serverRedisSuites('the two-process tests');

(inject('serverPostgres') && redisUp ? describe : describe.skip)('two server processes [postgres + Redis]', () => {
  let database: FreshDatabase;
  let dataDir: string;
  let receiver: TestReceiver;
  let a: ChildServer;
  let b: ChildServer;
  let owner: ApiClient;

  /** A tenant API key (admin ceiling, no scope restriction), aimed at one of the processes. */
  async function keyOn(server: ChildServer): Promise<ApiClient> {
    const res = await owner.post('/api/v1/api-keys', { name: 'two-process', role: 'admin' });
    expect(res.status).toBe(201);
    const client = new ApiClient(server.url);
    client.apiKey = res.body.secret;
    return client;
  }

  beforeAll(async () => {
    database = await createFreshDatabase();
    dataDir = mkdtempSync(join(tmpdir(), 'palisade-two-'));
    receiver = new TestReceiver();
    await receiver.start();
    const env = serverEnv(database, dataDir, {
      REDIS_URL,
      REDIS_KEY_PREFIX: `palisade-two-${Date.now()}:`,
      JOBS_POLL_MS: '100',
      // starter: 30 requests a minute per key, so the shared count is quick to exhaust.
      RATE_LIMIT_MULTIPLIER: '0.05',
    });
    // Sequentially: the first start migrates, the second finds the schema current.
    a = await startChild(env);
    b = await startChild(env);
    owner = new ApiClient(a.url);
    expect(
      (await owner.post('/api/auth/sign-up/email', { email: uniqueEmail('two'), password: PASSWORD, name: 'Two' })).status,
    ).toBe(200);
    expect((await owner.post('/api/v1/tenants', { name: 'Two Co', slug: uniqueSlug('two') })).status).toBe(201);
  });
  afterAll(async () => {
    for (const child of [a, b]) if (child) await kill(child);
    await receiver?.stop();
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('shares one rate limit between the processes', async () => {
    const viaA = await keyOn(a);
    const viaB = new ApiClient(b.url);
    viaB.apiKey = viaA.apiKey;
    await clearOfWindowEnd();
    const statuses: number[] = [];
    for (let i = 0; i < 32; i++) statuses.push((await (i % 2 === 0 ? viaA : viaB).get('/api/v1/tenants/current')).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(30);
    expect(statuses.slice(30)).toEqual([429, 429]);
  });

  it('carries an event committed through one process to a socket on the other', async () => {
    const key = await keyOn(a);
    const socket = await RealtimeClient.connect(`${b.url.replace(/^http/, 'ws')}/api/v1/realtime?types=tenant.*`, {
      headers: { 'x-api-key': key.apiKey as string },
    });
    expect((await key.patch('/api/v1/tenants/current', { settings: { via: 'a' } })).status).toBe(200);
    const event = await socket.next((m) => m.type === 'event' && m.event.type === 'tenant.updated', 15_000);
    expect(event.type === 'event' && event.event.data).toMatchObject({ fields: ['settings'] });
    await socket.close();
  });

  it('delivers each webhook once, with two workers competing for the jobs', async () => {
    const [keyA, keyB] = [await keyOn(a), await keyOn(b)];
    keyB.apiKey = keyA.apiKey;
    const endpoint = await keyA.post('/api/v1/webhooks/endpoints', { url: `${receiver.url}/two`, eventTypes: ['webhook.test'] });
    expect(endpoint.status).toBe(201);
    for (let i = 0; i < 20; i++) {
      const res = await (i % 2 === 0 ? keyA : keyB).post(`/api/v1/webhooks/endpoints/${endpoint.body.id}/test`, {});
      expect(res.status).toBeLessThan(300);
    }
    await receiver.waitFor(20, 30_000);
    // Give a duplicate time to arrive if one were coming.
    await new Promise((r) => setTimeout(r, 1_500));
    const ids = receiver.received.map((r) => r.headers['webhook-id']);
    expect(ids).toHaveLength(20);
    expect(new Set(ids).size).toBe(20);
  });
});
