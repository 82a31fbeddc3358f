import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChildServer, kill, serverEnv, startChild } from '../support/child-server.ts';
import { ApiClient, PASSWORD, uniqueEmail, uniqueSlug } from '../support/client.ts';
import { PrivatePostgres, privateServiceSuites } from '../support/private-services.ts';
import { TestReceiver } from '../support/receiver.ts';
import { waitUntil } from '../support/wait.ts';

/**
 * PostgreSQL stopped and started again under load. The test runs a private
 * PostgreSQL 15 server (the machine's stays untouched for the test files
 * running beside this one) and a real Palisade server process on it, keeps
 * interleaved requests of several tenants going, stops PostgreSQL (fast
 * shutdown, then a crash), starts it again, and checks every response: 200
 * with only the caller's own rows, or 503 with the standard error body, each
 * within a bound; readiness follows; and the process recovers by itself.
 */
const available = privateServiceSuites('the PostgreSQL restart tests', ['postgres']);

/** A request that has not been answered after this long counts as hung. */
const HANG_MS = 5_000;
/** Concurrent clients of the load; the request pool has 3 connections, so they interleave on them. */
const WORKERS = 6;
/** Every loop of the load stops at this many requests whatever happens. */
const MAX_REQUESTS = 6_000;

type Phase = 'before' | 'down' | 'recovering' | 'after';

interface Caller {
  tenant: number;
  client: ApiClient;
}

interface Outcome {
  phase: Phase;
  cycle: number;
  status: number | 'hung';
  /** What was wrong with the answer, if anything: foreign rows, a malformed error body. */
  problem?: string;
}

(available ? describe : describe.skip)('PostgreSQL restarted under load (private server)', () => {
  let pg: PrivatePostgres;
  let child: ChildServer;
  let dataDir: string;
  let receiver: TestReceiver;
  /** Per tenant: its id, its owner's user id, the names of its keys and the URLs of its endpoints. */
  const tenants: Array<{ id: string; ownerId: string; keyNames: Set<string>; endpointUrls: Set<string> }> = [];
  const callers: Caller[] = [];

  beforeAll(async () => {
    pg = await PrivatePostgres.create();
    const admin = postgres(pg.url(), { max: 1, onnotice: () => {} });
    await admin`create database palisade`;
    await admin.end();
    dataDir = mkdtempSync(join(tmpdir(), 'palisade-pg-restart-'));
    receiver = new TestReceiver();
    await receiver.start();
    const database = { url: pg.url('palisade'), appUrl: pg.url('palisade', 'palisade_app') };
    child = await startChild(
      serverEnv(database, dataDir, {
        DATABASE_POOL_SIZE: '3',
        RATE_LIMIT_MULTIPLIER: '1000',
        WEBHOOK_TIMEOUT_MS: '2000',
        JOBS_LEASE_MS: '5000',
        JOBS_POLL_MS: '200',
      }),
    );
    for (let i = 0; i < 3; i++) {
      const owner = new ApiClient(child.url);
      const signUp = await owner.post('/api/auth/sign-up/email', {
        email: uniqueEmail(`pg${i}`),
        password: PASSWORD,
        name: `T${i}`,
      });
      expect(signUp.status).toBe(200);
      const tenant = await owner.post('/api/v1/tenants', { name: `Tenant ${i}`, slug: uniqueSlug(`pg${i}`) });
      expect(tenant.status).toBe(201);
      const keyNames = new Set<string>();
      const endpointUrls = new Set<string>();
      const key = await owner.post('/api/v1/api-keys', { name: `t${i}-key`, role: 'admin' });
      expect(key.status).toBe(201);
      keyNames.add(`t${i}-key`);
      for (const path of ['updates', 'other']) {
        const url = `${receiver.url}/t${i}/${path}`;
        const endpoint = await owner.post('/api/v1/webhooks/endpoints', { url, eventTypes: ['tenant.updated'] });
        expect(endpoint.status).toBe(201);
        endpointUrls.add(url);
      }
      tenants.push({ id: tenant.body.id, ownerId: signUp.body.user.id, keyNames, endpointUrls });
      const byKey = new ApiClient(child.url);
      byKey.apiKey = key.body.secret;
      callers.push({ tenant: i, client: owner }, { tenant: i, client: byKey });
    }
  });
  afterAll(async () => {
    if (child) await kill(child);
    await receiver?.stop();
    await pg?.destroy();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /** The tenant-scoped reads of the load, each with a check that the rows are the caller's tenant's only. */
  const reads: Array<{ path: string; sessionsOnly?: true; foreign: (tenant: number, body: any) => string | undefined }> = [
    {
      path: '/api/v1/tenants/current',
      foreign: (t, body) => (body.id === tenants[t]?.id ? undefined : `tenant ${body.id}`),
    },
    {
      path: '/api/v1/members',
      foreign: (t, body) => {
        const ids = (body.items as Array<{ userId: string }>).map((m) => m.userId);
        return ids.length === 1 && ids[0] === tenants[t]?.ownerId ? undefined : `members ${ids.join(',')}`;
      },
    },
    {
      path: '/api/v1/webhooks/endpoints',
      foreign: (t, body) => {
        const urls = (body.items as Array<{ url: string }>).map((e) => e.url);
        const own = tenants[t]?.endpointUrls ?? new Set();
        return urls.length === own.size && urls.every((u) => own.has(u)) ? undefined : `endpoints ${urls.join(',')}`;
      },
    },
    {
      // API keys may not list API keys.
      path: '/api/v1/api-keys',
      sessionsOnly: true,
      foreign: (t, body) => {
        const names = (body.items as Array<{ name: string }>).map((k) => k.name);
        const own = tenants[t]?.keyNames ?? new Set();
        return names.length === own.size && names.every((n) => own.has(n)) ? undefined : `keys ${names.join(',')}`;
      },
    },
  ];

  /** One request of the load: caller and route chosen round robin, so tenants interleave on the pool's connections. */
  async function oneRequest(n: number): Promise<Omit<Outcome, 'phase' | 'cycle'>> {
    const caller = callers[n % callers.length] as Caller;
    const mine = caller.client.apiKey ? reads.filter((r) => !r.sessionsOnly) : reads;
    const read = mine[Math.floor(n / callers.length) % mine.length] as (typeof reads)[number];
    const headers: Record<string, string> = caller.client.apiKey
      ? { 'x-api-key': caller.client.apiKey }
      : { cookie: caller.client.cookieHeader() };
    let res: Response;
    try {
      res = await fetch(`${child.url}${read.path}`, { headers, signal: AbortSignal.timeout(HANG_MS) });
    } catch {
      return { status: 'hung' };
    }
    const body = (await res.json().catch(() => null)) as any;
    if (res.status === 200) {
      const problem = read.foreign(caller.tenant, body);
      return { status: 200, ...(problem ? { problem: `${read.path} for tenant ${caller.tenant}: ${problem}` } : {}) };
    }
    if (res.status === 503) {
      const expected = {
        error: { code: 'UNAVAILABLE', message: 'The service is temporarily unavailable.' },
        requestId: res.headers.get('x-request-id'),
      };
      const same = JSON.stringify(body) === JSON.stringify(expected);
      return { status: 503, ...(same ? {} : { problem: `503 body ${JSON.stringify(body)}` }) };
    }
    return { status: res.status, problem: `${read.path}: ${res.status} ${JSON.stringify(body)}` };
  }

  const readiness = async () => (await fetch(`${child.url}/health/ready`, { signal: AbortSignal.timeout(HANG_MS) })).status;

  it('answers 503 while it is down, recovers by itself when it is back, and never mixes tenants', async () => {
    const outcomes: Outcome[] = [];
    let phase: Phase = 'before';
    let cycle = 0;
    let running = true;
    let issued = 0;
    const count = (where: Partial<Outcome>) =>
      outcomes.filter((o) => Object.entries(where).every(([k, v]) => o[k as keyof Outcome] === v)).length;
    const load = Promise.all(
      Array.from({ length: WORKERS }, async () => {
        while (running && issued < MAX_REQUESTS) {
          const at = { phase, cycle };
          const outcome = await oneRequest(issued++);
          outcomes.push({ ...at, ...outcome });
        }
      }),
    );

    const recoveries: Record<string, number> = {};
    try {
      // A fast shutdown (pg_ctl stop -m fast: clients are disconnected), then a crash (-m immediate: recovery at start).
      for (const mode of ['fast', 'immediate'] as const) {
        phase = 'before';
        await waitUntil('requests before the stop', async () => count({ cycle, phase: 'before', status: 200 }) >= 30, 15_000);
        await pg.stop(mode);
        phase = 'down';
        expect(await readiness()).toBe(503);
        const health = await fetch(`${child.url}/health`, { signal: AbortSignal.timeout(HANG_MS) });
        expect(health.status).toBe(503);
        expect(((await health.json()) as { checks: { database: { ok: boolean } } }).checks.database.ok).toBe(false);
        // The auth library's routes answer like every other route.
        const signIn = await fetch(`${child.url}/api/auth/sign-in/email`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', origin: child.url },
          body: JSON.stringify({ email: uniqueEmail('down'), password: PASSWORD }),
          signal: AbortSignal.timeout(HANG_MS),
        });
        expect({ status: signIn.status, body: await signIn.json().catch(() => null) }).toEqual({
          status: 503,
          body: {
            error: { code: 'UNAVAILABLE', message: 'The service is temporarily unavailable.' },
            requestId: signIn.headers.get('x-request-id'),
          },
        });
        // Long enough for the connection retries to back off, as in a real outage.
        await new Promise((r) => setTimeout(r, 4_000));
        expect(count({ cycle, phase: 'down', status: 503 })).toBeGreaterThan(0);

        await pg.start();
        phase = 'recovering';
        recoveries[mode] = await waitUntil(
          'readiness and a served request after PostgreSQL came back',
          async () => (await readiness()) === 200 && (await oneRequest(0)).status === 200,
          15_000,
        );
        phase = 'after';
        await waitUntil('requests after recovery', async () => count({ cycle, phase: 'after' }) >= 60, 15_000);
        cycle++;
      }
    } finally {
      running = false;
      await load;
    }

    // Each cycle recovered within the bound above; how long it took is logged for the report, not asserted.
    console.info(`PostgreSQL restart: ${outcomes.length} requests, recovered after ${JSON.stringify(recoveries)} ms`);
    expect(outcomes.filter((o) => o.status === 'hung')).toEqual([]);
    expect(outcomes.flatMap((o) => (o.problem ? [o.problem] : []))).toEqual([]);
    expect(outcomes.filter((o) => o.status !== 200 && o.status !== 503)).toEqual([]);
    // Once recovered, everything is served again.
    expect(outcomes.filter((o) => o.phase === 'after' && o.status !== 200)).toEqual([]);
    expect(count({ phase: 'after', status: 200 })).toBeGreaterThanOrEqual(120);
    expect(count({ phase: 'down', status: 503 })).toBeGreaterThan(0);

    // The job runner recovered too (its LISTEN connection and its polling): an event committed now is delivered.
    const before = receiver.received.length;
    const owner = callers[0]?.client as ApiClient;
    expect((await owner.patch('/api/v1/tenants/current', { settings: { after: 'restart' } })).status).toBe(200);
    await waitUntil(
      'the webhook of an event committed after the restarts',
      async () => receiver.received.slice(before).some((r) => r.path === '/t0/updates' && r.body.includes('"tenant.updated"')),
      15_000,
    );
  });
});
