import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type ChildServer as Child, kill, serverEnv, startChild } from '../../../test/support/child-server.ts';
import { ApiClient, PASSWORD, uniqueEmail, uniqueSlug } from '../../../test/support/client.ts';
import { createFreshDatabase, type FreshDatabase } from '../../../test/support/postgres.ts';
import { TestReceiver } from '../../../test/support/receiver.ts';

/**
 * At-least-once delivery across a crash: the server runs as a real child
 * process and is killed with SIGKILL (no shutdown hooks, nothing flushed)
 * between the commit of an event and its delivery, then started again on the
 * same database. Server PostgreSQL only: it is the deployment where processes
 * come and go (the embedded database lives and dies with its one process).
 */
(inject('serverPostgres') ? describe : describe.skip)('webhook delivery across a SIGKILL [postgres]', () => {
  let database: FreshDatabase;
  let dataDir: string;
  let receiver: TestReceiver;
  let env: Record<string, string>;

  beforeAll(async () => {
    database = await createFreshDatabase();
    dataDir = mkdtempSync(join(tmpdir(), 'palisade-crash-'));
    receiver = new TestReceiver();
    await receiver.start();
    env = serverEnv(database, dataDir, {
      WEBHOOK_TIMEOUT_MS: '1000',
      JOBS_LEASE_MS: '2000',
      JOBS_POLL_MS: '100',
      RATE_LIMIT_MULTIPLIER: '1000',
    });
  });
  afterAll(async () => {
    await receiver?.stop();
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** An owner with a tenant and an endpoint at the receiver, created through the child's API. */
  async function tenantWithEndpoint(child: Child) {
    const owner = new ApiClient(child.url);
    const signUp = await owner.post('/api/auth/sign-up/email', {
      email: uniqueEmail('crash'),
      password: PASSWORD,
      name: 'Crash',
    });
    expect(signUp.status).toBe(200);
    expect((await owner.post('/api/v1/tenants', { name: 'Crash Co', slug: uniqueSlug('crash') })).status).toBe(201);
    const endpoint = await owner.post('/api/v1/webhooks/endpoints', {
      url: `${receiver.url}/hook`,
      eventTypes: ['tenant.updated'],
    });
    expect(endpoint.status).toBe(201);
    return { owner, secret: endpoint.body.secret as string, endpointId: endpoint.body.id as string };
  }

  /** Waits until the delivery is recorded as succeeded, so a kill afterwards cannot make it due again. */
  async function recorded(owner: ApiClient, endpointId: string): Promise<void> {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const res = await owner.get(`/api/v1/webhooks/endpoints/${endpointId}/deliveries`);
      if ((res.body?.items as Array<{ status: string }> | undefined)?.some((d) => d.status === 'succeeded')) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('delivery not recorded as succeeded');
  }

  it('delivers an event committed just before the process was killed, after a restart', async () => {
    // No worker: the event and its dispatch job are committed, and nothing has touched them when the kill comes.
    const first = await startChild({ ...env, WORKER_ENABLED: 'false' });
    const { owner, secret, endpointId } = await tenantWithEndpoint(first);
    expect((await owner.patch('/api/v1/tenants/current', { settings: { crash: 'before-delivery' } })).status).toBe(200);
    await kill(first);
    expect(receiver.received).toHaveLength(0);

    const second = await startChild(env);
    try {
      const [request] = await receiver.waitFor(1, 30_000);
      if (!request) throw new Error('nothing delivered');
      const payload = new Webhook(secret).verify(request.body, request.headers as Record<string, string>) as {
        type: string;
        data: { fields: string[] };
      };
      expect(payload.type).toBe('tenant.updated');
      expect(payload.data.fields).toEqual(['settings']);
      // The session was issued by the first process; the database keeps it valid for the second.
      await recorded(owner.at(second.url), endpointId);
    } finally {
      await kill(second);
      receiver.received.length = 0;
    }
  });

  it('sends a delivery that was in flight at the kill again after a restart, with the same webhook-id', async () => {
    const first = await startChild(env);
    const { owner, secret } = await tenantWithEndpoint(first);
    // The receiver holds the first request open, so the kill lands while the attempt is in flight.
    receiver.respond = (_request, index) => (index === 0 ? { status: 204, delayMs: 60_000 } : { status: 204 });
    expect((await owner.patch('/api/v1/tenants/current', { settings: { crash: 'in-flight' } })).status).toBe(200);
    const [inFlight] = await receiver.waitFor(1, 30_000);
    await kill(first);

    const second = await startChild(env);
    try {
      // The dead process's lease runs out, and the delivery is sent again.
      const [, retried] = await receiver.waitFor(2, 30_000);
      if (!inFlight || !retried) throw new Error('missing requests');
      expect(retried.headers['webhook-id']).toBe(inFlight.headers['webhook-id']);
      expect(retried.body).toBe(inFlight.body);
      expect(() => new Webhook(secret).verify(retried.body, retried.headers as Record<string, string>)).not.toThrow();
    } finally {
      await kill(second);
      receiver.respond = () => ({ status: 204 });
      receiver.received.length = 0;
    }
  });
});
