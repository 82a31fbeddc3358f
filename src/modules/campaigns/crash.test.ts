import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startCampaignOfContacts } from '../../../test/support/campaigns.ts';
import { kill, serverEnv, startChild } from '../../../test/support/child-server.ts';
import { createFreshDatabase, type FreshDatabase } from '../../../test/support/postgres.ts';
import { waitFor } from '../../../test/support/wait.ts';

const RECIPIENTS = 10_000;

/**
 * Exactly-once delivery through the log channel across a SIGKILL: a campaign
 * of 10,000 recipients runs in a real child process, which is killed with
 * SIGKILL (no shutdown hooks, nothing flushed) in the middle of the delivery;
 * a second process started on the same database finishes it. Every recipient
 * ends with exactly one message, and no recipient was claimed twice. Server
 * PostgreSQL only, like the webhook crash test: it is the deployment where
 * processes come and go.
 */
(inject('serverPostgres') ? describe : describe.skip)('campaign delivery across a SIGKILL [postgres]', () => {
  let database: FreshDatabase;
  let owner: postgres.Sql;
  let dataDir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    database = await createFreshDatabase();
    owner = postgres(database.url, { max: 2, onnotice: () => {} });
    dataDir = mkdtempSync(join(tmpdir(), 'palisade-campaign-crash-'));
    env = serverEnv(database, dataDir, {
      JOBS_LEASE_MS: '2000',
      WEBHOOK_TIMEOUT_MS: '1000',
      JOBS_POLL_MS: '50',
      RATE_LIMIT_MULTIPLIER: '1000',
    });
  });
  afterAll(async () => {
    await owner?.end();
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const sentCount = async (campaignId: string) =>
    (
      await owner<
        { n: number }[]
      >`select count(*)::int as n from app.campaign_recipients where campaign_id = ${campaignId} and status = 'sent'`
    )[0]?.n ?? 0;

  it('delivers each of 10,000 log messages exactly once although the worker is killed in the middle', async () => {
    const first = await startChild(env);
    let second: Awaited<ReturnType<typeof startChild>> | undefined;
    try {
      const { tenantId, campaignId } = await startCampaignOfContacts(first.url, owner, {
        label: 'crash',
        recipients: RECIPIENTS,
        channel: 'log',
      });

      // Kill the worker while the delivery is well under way.
      const before = await waitFor(
        'a tenth delivered',
        () => sentCount(campaignId),
        (n) => n >= RECIPIENTS / 10,
        120_000,
      );
      await kill(first);
      const atKill = await sentCount(campaignId);
      expect(before).toBeGreaterThan(0);
      expect(atKill).toBeLessThan(RECIPIENTS);

      // A new process on the same database finishes the campaign (the dead one's claimed jobs come back after their lease).
      second = await startChild(env);
      await waitFor(
        'campaign completed',
        async () => (await owner<{ status: string }[]>`select status from app.campaigns where id = ${campaignId}`)[0]?.status,
        (status) => status === 'completed',
        300_000,
      );

      const [recipients] = await owner<{ total: number; sent: number; max_attempts: number; min_attempts: number }[]>`
        select count(*)::int as total, count(*) filter (where status = 'sent')::int as sent,
               max(attempts)::int as max_attempts, min(attempts)::int as min_attempts
          from app.campaign_recipients where campaign_id = ${campaignId}`;
      expect(recipients).toEqual({ total: RECIPIENTS, sent: RECIPIENTS, max_attempts: 1, min_attempts: 1 });
      const [messages] = await owner<{ total: number; recipients: number; sent: number }[]>`
        select count(*)::int as total, count(distinct recipient_id)::int as recipients,
               count(*) filter (where status = 'sent')::int as sent
          from app.campaign_messages where campaign_id = ${campaignId}`;
      expect(messages).toEqual({ total: RECIPIENTS, recipients: RECIPIENTS, sent: RECIPIENTS });
      // Every contact got exactly one message.
      const [perContact] = await owner<{ contacts: number; over: number }[]>`
        select count(*)::int as contacts, count(*) filter (where n <> 1)::int as over
          from (select c.id, count(m.id) as n from app.crm_contacts c
                  left join app.campaign_messages m on m.tenant_id = c.tenant_id and m.contact_id = c.id and m.campaign_id = ${campaignId}
                 where c.tenant_id = ${tenantId} group by c.id) x`;
      expect(perContact).toEqual({ contacts: RECIPIENTS, over: 0 });
      // A job's row is deleted in its own transaction after its handler's commit, so the last batch's jobs
      // may outlive the campaign's completion by a moment; none may stay.
      await waitFor(
        'every delivery job removed',
        async () =>
          (
            await owner<{ n: number }[]>`
              select count(*)::int as n from app.jobs where tenant_id = ${tenantId} and kind = 'send_campaign_message'`
          )[0]?.n,
        (n) => n === 0,
        30_000,
      );
      const [completions] = await owner<{ n: number }[]>`
        select count(*)::int as n from app.events where tenant_id = ${tenantId} and type = 'campaign.completed'`;
      expect(completions?.n).toBe(1);
    } finally {
      if (first.process.exitCode === null && first.process.signalCode === null) await kill(first);
      if (second) await kill(second);
    }
  }, 480_000);
});
