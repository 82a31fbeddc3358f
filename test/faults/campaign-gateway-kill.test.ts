import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type ChildServer, kill, serverEnv, startChild } from '../support/child-server.ts';
import { ApiClient, PASSWORD, uniqueEmail, uniqueSlug } from '../support/client.ts';
import { createFreshDatabase, type FreshDatabase } from '../support/postgres.ts';
import { TestReceiver } from '../support/receiver.ts';

const RECIPIENTS = 40;
/** Answered at once before the kill; every later request is held open until the process dies. */
const ANSWERED_BEFORE_KILL = 5;

/**
 * A gateway-channel campaign (a real HTTP gateway on loopback) whose worker is
 * killed with SIGKILL while sends are in flight, then finished by a second
 * process on the same database. The guarantee in docs/campaigns.md: nothing
 * is lost, and a message is sent again only if its send may have happened
 * (at least once, at most one duplicate per crash), with the same
 * `webhook-id` (the recipient id) and the same body, so the gateway can drop
 * the repeat. src/modules/campaigns/crash.test.ts proves exactly once for
 * the log channel, whose send is the database row itself.
 */
(inject('serverPostgres') ? describe : describe.skip)('gateway campaign delivery across a SIGKILL [postgres]', () => {
  let database: FreshDatabase;
  let owner: postgres.Sql;
  let dataDir: string;
  let gateway: TestReceiver;
  let env: Record<string, string>;

  beforeAll(async () => {
    database = await createFreshDatabase();
    owner = postgres(database.url, { max: 2, onnotice: () => {} });
    dataDir = mkdtempSync(join(tmpdir(), 'palisade-gateway-kill-'));
    gateway = new TestReceiver();
    await gateway.start();
    env = serverEnv(database, dataDir, {
      // The gateway timeout; the held requests must still be in flight when the kill comes.
      WEBHOOK_TIMEOUT_MS: '5000',
      JOBS_LEASE_MS: '6000',
      JOBS_POLL_MS: '100',
      RATE_LIMIT_MULTIPLIER: '1000',
    });
  });
  afterAll(async () => {
    await owner?.end();
    await gateway?.stop();
    await database?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const value = await read();
      if (done(value)) return value;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
  }

  it('sends every message at least once, repeats only sends that were in flight, with the same id and body', async () => {
    let holding = true;
    gateway.respond = (_request, index) =>
      holding && index >= ANSWERED_BEFORE_KILL ? { status: 204, delayMs: 60_000 } : { status: 204 };

    const first = await startChild(env);
    let second: ChildServer | undefined;
    try {
      const client = new ApiClient(first.url);
      expect(
        (await client.post('/api/auth/sign-up/email', { email: uniqueEmail('gk'), password: PASSWORD, name: 'G' })).status,
      ).toBe(200);
      const tenant = await client.post('/api/v1/tenants', { name: 'Gateway Kill', slug: uniqueSlug('gk') });
      expect(tenant.status).toBe(201);
      const tenantId = tenant.body.id as string;
      expect((await client.patch('/api/v1/tenants/current', { settings: { campaignMessagesPerSecond: 100000 } })).status).toBe(
        200,
      );
      const configured = await client.request('PUT', '/api/v1/campaigns/gateway', { url: `${gateway.url}/gateway` });
      expect(configured.status).toBe(200);
      const secret = configured.body.secret as string;
      const group = await client.post('/api/v1/campaigns/groups', { name: 'Everyone' });
      expect(group.status).toBe(201);
      // The arrangement, as in crash.test.ts: contacts and memberships in two owner statements.
      await owner`insert into app.crm_contacts (tenant_id, name, email)
                  select ${tenantId}, 'Contact ' || i, 'contact' || i || '@gateway-kill.example' from generate_series(1, ${RECIPIENTS}) i`;
      await owner`insert into app.campaign_group_members (tenant_id, group_id, contact_id)
                  select tenant_id, ${group.body.id}, id from app.crm_contacts where tenant_id = ${tenantId}`;
      const template = await client.post('/api/v1/campaigns/templates', {
        name: 'Hook',
        channel: 'webhook',
        body: 'Hello {{firstName}}',
      });
      expect(template.status).toBe(201);
      const campaign = await client.post('/api/v1/campaigns', {
        name: 'Gateway',
        templateId: template.body.id,
        groupIds: [group.body.id],
      });
      expect(campaign.status).toBe(201);
      const campaignId = campaign.body.id as string;
      const started = await client.post(`/api/v1/campaigns/${campaignId}/start`, {});
      expect(started.status).toBe(200);
      expect(started.body.counts.total).toBe(RECIPIENTS);

      // Kill while the gateway holds some sends open: the process never learns whether they arrived.
      await gateway.waitFor(ANSWERED_BEFORE_KILL + 3, 30_000);
      await kill(first);
      // Claimed and perhaps sent, but not recorded as sent: these are the sends the dead process may have made.
      const sendingAtKill = new Set(
        (
          await owner<
            { id: string }[]
          >`select id from app.campaign_recipients where campaign_id = ${campaignId} and status = 'sending'`
        ).map((r) => r.id),
      );
      holding = false;

      second = await startChild(env);
      const secondReadyAt = Date.now();
      await until(
        'the campaign to complete on the second process',
        async () => (await owner<{ status: string }[]>`select status from app.campaigns where id = ${campaignId}`)[0]?.status,
        (status) => status === 'completed',
        60_000,
      );

      // Nothing lost: every recipient sent, one message row each, and the gateway got every one of them.
      const recipients = await owner<{ id: string; status: string; attempts: number }[]>`
        select id, status, attempts from app.campaign_recipients where campaign_id = ${campaignId}`;
      expect(recipients).toHaveLength(RECIPIENTS);
      expect(recipients.filter((r) => r.status !== 'sent')).toEqual([]);
      const [messages] = await owner<{ total: number; recipients: number; sent: number }[]>`
        select count(*)::int as total, count(distinct recipient_id)::int as recipients,
               count(*) filter (where status = 'sent')::int as sent
          from app.campaign_messages where campaign_id = ${campaignId}`;
      expect(messages).toEqual({ total: RECIPIENTS, recipients: RECIPIENTS, sent: RECIPIENTS });

      const byId = new Map<string, Array<{ body: string; at: number }>>();
      const verifier = new Webhook(secret);
      for (const request of gateway.received) {
        expect(() => verifier.verify(request.body, request.headers as Record<string, string>)).not.toThrow();
        const id = request.headers['webhook-id'] as string;
        byId.set(id, [...(byId.get(id) ?? []), { body: request.body, at: request.at }]);
      }
      expect(new Set(byId.keys())).toEqual(new Set(recipients.map((r) => r.id)));

      // Repeats only of sends the dead process may have made (the ones held open among them), once each: the
      // first from the killed process, the second from the new one, with the same id and body.
      const repeated = [...byId].filter(([, sends]) => sends.length > 1);
      expect(repeated.length).toBeGreaterThanOrEqual(3);
      for (const [id, sends] of repeated) {
        expect(sendingAtKill.has(id)).toBe(true);
        expect(sends).toHaveLength(2);
        const [before, after] = sends as [{ body: string; at: number }, { body: string; at: number }];
        expect(before.at).toBeLessThan(secondReadyAt);
        expect(after.at).toBeGreaterThanOrEqual(secondReadyAt);
        expect(after.body).toBe(before.body);
        expect(JSON.parse(before.body)).toMatchObject({ type: 'campaign.message', recipientId: id, campaignId });
      }
      const attempts = new Map(recipients.map((r) => [r.id, r.attempts]));
      expect(Math.max(...attempts.values())).toBeLessThanOrEqual(2);
      for (const [id] of repeated) expect(attempts.get(id)).toBe(2);
    } finally {
      if (first.process.exitCode === null && first.process.signalCode === null) await kill(first);
      if (second) await kill(second);
    }
  });
});
