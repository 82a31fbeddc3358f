import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startCampaignOfContacts } from '../support/campaigns.ts';
import { type ChildServer, kill, serverEnv, startChild } from '../support/child-server.ts';
import { createFreshDatabase, type FreshDatabase } from '../support/postgres.ts';
import { TestReceiver } from '../support/receiver.ts';
import { waitFor } from '../support/wait.ts';

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

  it('sends every message at least once, repeats only sends that were in flight, with the same id and body', async () => {
    let holding = true;
    gateway.respond = (_request, index) =>
      holding && index >= ANSWERED_BEFORE_KILL ? { status: 204, delayMs: 60_000 } : { status: 204 };

    const first = await startChild(env);
    let second: ChildServer | undefined;
    try {
      let secret = '';
      const { campaignId } = await startCampaignOfContacts(first.url, owner, {
        label: 'gateway-kill',
        recipients: RECIPIENTS,
        channel: 'webhook',
        prepare: async (client) => {
          const configured = await client.request('PUT', '/api/v1/campaigns/gateway', { url: `${gateway.url}/gateway` });
          expect(configured.status).toBe(200);
          secret = configured.body.secret as string;
        },
      });

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
      await waitFor(
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
