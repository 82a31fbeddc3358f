import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type ChildServer, kill, serverEnv, startChild } from '../support/child-server.ts';
import { ApiClient, PASSWORD, uniqueEmail, uniqueSlug } from '../support/client.ts';
import { createFreshDatabase, type FreshDatabase } from '../support/postgres.ts';
import { PrivateRedis, privateServiceSuites } from '../support/private-services.ts';
import { RealtimeClient } from '../support/realtime-client.ts';
import { TestReceiver } from '../support/receiver.ts';
import { clearOfWindowEnd, waitUntil } from '../support/wait.ts';

/**
 * Redis stopped and started again under two real server processes (one runs
 * the worker, one only serves), as docs/rate-limits.md and docs/realtime.md
 * describe it: requests keep being served, rate limits count per process,
 * realtime sockets stay open but receive nothing, webhooks are unaffected,
 * readiness stays 200 while reporting Redis, and everything returns by itself once Redis is
 * back, without a request having to come first. The Redis is the test's own
 * (the machine's keeps serving the test files running beside this one); the
 * database is a fresh one on the machine's PostgreSQL.
 */
const available = privateServiceSuites('the Redis stop tests', ['redis']);

const until = (what: string, check: () => Promise<boolean>, timeoutMs = 15_000) => waitUntil(what, check, timeoutMs, 100);

const readiness = async (server: ChildServer) => (await fetch(`${server.url}/health/ready`)).status;
const redisCheck = async (server: ChildServer) =>
  ((await (await fetch(`${server.url}/health`)).json()) as { checks: { redis?: { ok: boolean } } }).checks.redis;

(available && inject('serverPostgres') ? describe : describe.skip)(
  'Redis stopped and started again (private server) [postgres]',
  () => {
    let redis: PrivateRedis;
    let database: FreshDatabase;
    let dataDir: string;
    let receiver: TestReceiver;
    /** Runs the worker: dispatches events, publishes them to Redis, delivers webhooks. */
    let a: ChildServer;
    /** Serves only: its sockets get events only through Redis. */
    let b: ChildServer;
    let owner: ApiClient;

    /** A new API key of the tenant (starter plan: 30 requests a minute here), usable on either process. */
    async function newKey(): Promise<string> {
      const res = await owner.post('/api/v1/api-keys', { name: 'redis-stop', role: 'admin' });
      expect(res.status).toBe(201);
      return res.body.secret as string;
    }
    const viaKey = (server: ChildServer, key: string) => {
      const client = new ApiClient(server.url);
      client.apiKey = key;
      return client;
    };

    beforeAll(async () => {
      redis = await PrivateRedis.create();
      database = await createFreshDatabase();
      dataDir = mkdtempSync(join(tmpdir(), 'palisade-redis-stop-'));
      receiver = new TestReceiver();
      await receiver.start();
      const env = serverEnv(database, dataDir, {
        REDIS_URL: redis.url,
        JOBS_POLL_MS: '100',
        // starter: 30 requests a minute per key, so a process's own count is quick to exhaust.
        RATE_LIMIT_MULTIPLIER: '0.05',
      });
      // One after the other: the first migrates.
      a = await startChild(env);
      b = await startChild({ ...env, WORKER_ENABLED: 'false' });
      owner = new ApiClient(a.url);
      expect(
        (await owner.post('/api/auth/sign-up/email', { email: uniqueEmail('rs'), password: PASSWORD, name: 'R' })).status,
      ).toBe(200);
      expect((await owner.post('/api/v1/tenants', { name: 'Redis Stop', slug: uniqueSlug('rs') })).status).toBe(201);
      const endpoint = await owner.post('/api/v1/webhooks/endpoints', {
        url: `${receiver.url}/hook`,
        eventTypes: ['tenant.updated'],
      });
      expect(endpoint.status).toBe(201);
    });
    afterAll(async () => {
      for (const child of [a, b]) if (child) await kill(child);
      await receiver?.stop();
      await redis?.destroy();
      await database?.drop();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    });

    /** Stops Redis and waits until both processes report it (the redis check failing); both stay ready. */
    async function stopRedis(): Promise<void> {
      await redis.stop();
      const reportsDown = async (server: ChildServer) => (await redisCheck(server))?.ok === false;
      await until('both processes to report Redis unreachable', async () => (await reportsDown(a)) && (await reportsDown(b)));
      expect(await readiness(a)).toBe(200);
      expect(await readiness(b)).toBe(200);
      expect(await redisCheck(a)).toEqual({ ok: false, ms: 0, detail: 'unreachable' });
      expect(await redisCheck(b)).toEqual({ ok: false, ms: 0, detail: 'unreachable' });
    }

    /** Starts Redis again and waits until both report it, polling only /health: nothing counted, nothing published. */
    async function startRedis(): Promise<void> {
      await redis.start();
      const reportsUp = async (server: ChildServer) => (await redisCheck(server))?.ok === true;
      await until('both processes to report Redis again', async () => (await reportsUp(a)) && (await reportsUp(b)));
      expect(await redisCheck(a)).toMatchObject({ ok: true });
      expect(await redisCheck(b)).toMatchObject({ ok: true });
    }

    it('keeps serving with per-process rate limits while Redis is down, and shares one count again after', async () => {
      const down = await newKey();
      await stopRedis();
      await clearOfWindowEnd();
      // Each process counts alone: the key gets the limit on each of them, and no more.
      for (const server of [a, b]) {
        const client = viaKey(server, down);
        const statuses: number[] = [];
        for (let i = 0; i < 31; i++) {
          const res = await client.get('/api/v1/tenants/current');
          statuses.push(res.status);
          if (res.status === 200) expect(res.headers.get('ratelimit')).toMatch(/^"plan-starter";r=\d+;t=\d+$/);
          if (res.status === 429) expect(res.body.error.code).toBe('RATE_LIMITED');
        }
        expect(statuses).toEqual([...Array<number>(30).fill(200), 429]);
      }

      await startRedis();
      await clearOfWindowEnd();
      const up = await newKey();
      const [onA, onB] = [viaKey(a, up), viaKey(b, up)];
      const statuses: number[] = [];
      for (let i = 0; i < 32; i++) statuses.push((await (i % 2 === 0 ? onA : onB).get('/api/v1/tenants/current')).status);
      expect(statuses).toEqual([...Array<number>(30).fill(200), 429, 429]);
    });

    it('keeps realtime sockets open without events while Redis is down, delivers webhooks, and resumes events after', async () => {
      const key = await newKey();
      const actor = viaKey(a, key);
      const socket = await RealtimeClient.connect(`${b.url.replace(/^http/, 'ws')}/api/v1/realtime?types=tenant.*`, {
        headers: { 'x-api-key': key },
      });
      let socketClosed = false;
      void socket.closed.then(() => {
        socketClosed = true;
      });
      const tenantEvents = () => socket.frames.flatMap((f) => (f.type === 'event' ? [f.event] : []));

      expect((await actor.patch('/api/v1/tenants/current', { settings: { phase: 'before' } })).status).toBe(200);
      await socket.next((m) => m.type === 'event' && m.event.type === 'tenant.updated', 15_000);

      await stopRedis();
      const hooksBefore = receiver.received.length;
      expect((await actor.patch('/api/v1/tenants/current', { name: 'Renamed During Outage' })).status).toBe(200);
      // The event is dispatched (its webhook arrives), but it cannot reach the socket on the other process.
      await until('the webhook of the event committed during the outage', async () =>
        receiver.received.slice(hooksBefore).some((r) => r.body.includes('"fields":["name"]')),
      );
      await new Promise((r) => setTimeout(r, 500));
      expect(socketClosed).toBe(false);
      expect(tenantEvents().map((e) => e.data)).toEqual([expect.objectContaining({ fields: ['settings'] })]);

      await startRedis();
      // The subscriber resubscribed by itself: the next event arrives on the same socket. A few tries, in case the
      // first publish raced the resubscription; the outage's event is never replayed.
      const seen = tenantEvents().length;
      for (let attempt = 0; attempt < 3 && tenantEvents().length === seen; attempt++) {
        expect((await actor.patch('/api/v1/tenants/current', { settings: { phase: `after-${attempt}` } })).status).toBe(200);
        await socket.next((m) => m.type === 'event' && tenantEvents().length > seen, 5_000).catch(() => undefined);
      }
      expect(socketClosed).toBe(false);
      const fields = tenantEvents().map((e) => (e.data as { fields: string[] }).fields);
      expect(fields.length).toBeGreaterThan(1);
      expect(fields.every((f) => f.length === 1 && f[0] === 'settings')).toBe(true);
      await socket.close();
    });
  },
);
