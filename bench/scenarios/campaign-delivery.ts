import { SMTPServer } from 'smtp-server';
import { callApi, createTenant } from '../api.ts';
import { waitUntil } from '../loop.ts';
import type { Observation } from '../report.ts';
import type { EventScenarioContext } from './context.ts';

/**
 * campaign_delivery: messages per second from campaign start to completion,
 * through the `log` channel (the queue, the worker and the database only) and
 * through SMTP to a loopback `smtp-server` (the same plus one SMTP exchange
 * per message). A server process of its own, with SMTP_URL, must be the only
 * job runner on the database, so the run registers it after the scenarios
 * whose servers have stopped (bench/run.ts). One tenant of its own with
 * `recipients` contacts (imported as CSV, the bulk path) in one group; the
 * tenant's throughput cap is lifted (`campaignMessagesPerSecond`), so the
 * figure is what one worker process sustains. Rate = recipients / (finishedAt
 * - startedAt) of the campaign as the API reports it.
 */
export async function campaignDelivery(ctx: EventScenarioContext): Promise<Observation> {
  const recipients = ctx.settings.mode === 'quick' ? 200 : 3000;
  const waitMs = (ctx.settings.mode === 'quick' ? 120 : 600) * 1000;
  console.error(`\ncampaign_delivery: ${recipients} recipients per campaign, log channel then SMTP`);

  let received = 0;
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      stream.on('data', () => {});
      stream.on('end', () => {
        received++;
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', () => resolve()));
  const address = smtp.server.address();
  const smtpPort = typeof address === 'object' && address ? address.port : 0;
  try {
    const server = await ctx.startServer({
      SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      WORKER_ENABLED: 'true',
      JOBS_POLL_MS: '100',
    });
    try {
      const base = server.url;
      const tenantId = await createTenant(base, ctx.owner.cookie, 'Campaign bench', `campaign-bench-${Date.now().toString(36)}`);
      const headers = { cookie: ctx.owner.cookie, 'x-tenant-id': tenantId };
      await callApi(base, 'PATCH', '/api/v1/tenants/current', headers, { settings: { campaignMessagesPerSecond: 100000 } });

      // Contacts through the CSV import (the bulk path), then their ids page by page into one group.
      const csv = [
        'name,email',
        ...Array.from({ length: recipients }, (_, i) => `Bench ${i},bench${i}@campaign-bench.example`),
      ].join('\n');
      const imported = await fetch(`${base}/api/v1/crm/contacts/import?mode=atomic`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'text/csv' },
        body: csv,
      });
      if (imported.status !== 200) throw new Error(`campaign_delivery: import ${imported.status} ${await imported.text()}`);
      const group = await callApi<{ id: string }>(base, 'POST', '/api/v1/campaigns/groups', headers, { name: 'Bench' });
      let cursor: string | null = null;
      let added = 0;
      do {
        const query: string = `limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const page: { items: { id: string }[]; nextCursor: string | null } = await callApi(
          base,
          'GET',
          `/api/v1/crm/contacts?${query}`,
          headers,
        );
        if (page.items.length > 0) {
          await callApi(base, 'POST', `/api/v1/campaigns/groups/${group.id}/members`, headers, {
            contactIds: page.items.map((c) => c.id),
          });
        }
        added += page.items.length;
        cursor = page.nextCursor;
      } while (cursor && added < recipients);

      const run = async (channel: 'log' | 'email') => {
        const template = await callApi<{ id: string }>(base, 'POST', '/api/v1/campaigns/templates', headers, {
          name: `Bench ${channel}`,
          channel,
          subject: channel === 'email' ? 'Hello {{firstName}}' : undefined,
          body: 'Hello {{firstName}}, this is the campaign benchmark.',
        });
        const campaign = await callApi<{ id: string }>(base, 'POST', '/api/v1/campaigns', headers, {
          name: `Bench ${channel}`,
          templateId: template.id,
          groupIds: [group.id],
        });
        const receivedBefore = received;
        await callApi(base, 'POST', `/api/v1/campaigns/${campaign.id}/start`, headers, {});
        let state:
          | { status: string; startedAt: string | null; finishedAt: string | null; counts: { sent: number; total: number } }
          | undefined;
        const deadline = Date.now() + waitMs;
        while (Date.now() < deadline) {
          state = await callApi(base, 'GET', `/api/v1/campaigns/${campaign.id}`, headers);
          if (state?.status === 'completed') break;
          await new Promise((r) => setTimeout(r, 200));
        }
        if (state?.status !== 'completed' || !state.startedAt || !state.finishedAt) {
          throw new Error(
            `campaign_delivery: ${channel} campaign not completed within ${waitMs / 1000} s (${JSON.stringify(state?.counts)})`,
          );
        }
        if (channel === 'email') await waitUntil(() => received - receivedBefore >= state.counts.sent, 10_000);
        const seconds = (Date.parse(state.finishedAt) - Date.parse(state.startedAt)) / 1000;
        return {
          sent: state.counts.sent,
          total: state.counts.total,
          seconds,
          perS: state.counts.sent / seconds,
          smtp: received - receivedBefore,
        };
      };

      const log = await run('log');
      console.error(`  log: ${log.sent}/${log.total} in ${log.seconds.toFixed(1)} s = ${log.perS.toFixed(0)} messages/s`);
      const email = await run('email');
      console.error(
        `  smtp: ${email.sent}/${email.total} in ${email.seconds.toFixed(1)} s = ${email.perS.toFixed(0)} messages/s (${email.smtp} received by the SMTP server)`,
      );
      const summary = [
        `log channel: ${log.sent} messages in ${log.seconds.toFixed(1)} s, ${log.perS.toFixed(0)}/s`,
        `SMTP (loopback smtp-server): ${email.sent} messages in ${email.seconds.toFixed(1)} s, ${email.perS.toFixed(0)}/s; ${email.smtp} received`,
      ];
      return {
        name: 'campaign_delivery',
        ratios: { campaign_smtp_vs_log: email.perS / log.perS },
        figures: {
          campaign_recipients: recipients,
          campaign_log_per_s: log.perS,
          campaign_smtp_per_s: email.perS,
          campaign_smtp_received: email.smtp,
        },
        summary,
      };
    } finally {
      await server.stop();
    }
  } finally {
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
  }
}
