import { sql } from 'drizzle-orm';
import type { SecretBox } from '../../crypto/secret-box.ts';
import { queryRows, type Tx } from '../../db/tenant.ts';
import type { EventActor } from '../../events/emit.ts';
import type { JobHandler, JobOutcome } from '../../jobs/runner.ts';
import type { Logger } from '../../logger.ts';
import type { OutboundPolicy } from '../../webhooks/safe-http.ts';
import { isGatewayChannel, loadGateway, sendThroughGateway } from './gateway.ts';
import { completeIfDone, launch } from './lifecycle.ts';
import type { CampaignMailer } from './mail.ts';
import { render, variablesOf } from './render.ts';
import type { CampaignStatus, Channel } from './schema.ts';
import { campaignMessageId, signUnsubscribeToken, unsubscribeLink } from './unsubscribe.ts';

export { SEND_CAMPAIGN_MESSAGE_JOB, START_SCHEDULED_CAMPAIGN_JOB } from './lifecycle.ts';

export interface CampaignDeliveryDeps {
  mailer: CampaignMailer;
  logger: Logger;
  /** Base of the unsubscribe links, and the host of email Message-IDs. */
  publicUrl: string;
  /** Signs unsubscribe links (derived from the server secret for that purpose only). */
  unsubscribeKey: Buffer;
  /** Opens the sealed gateway secrets. */
  secrets: SecretBox;
  /** Where gateway requests may go (the webhook policy: no private addresses in production). */
  outbound: OutboundPolicy;
  /** Timeout of one gateway request. */
  gatewayTimeoutMs?: number;
  /** Messages per second per tenant, unless the tenant's settings say `campaignMessagesPerSecond`. */
  messagesPerSecond?: number;
  /** Attempts per recipient before the message is marked failed. */
  maxAttempts?: number;
  /** First retry delay; doubled per attempt, capped at one hour. */
  retryBaseMs?: number;
  /** How long a paused campaign's jobs wait before looking again. */
  pausedRecheckMs?: number;
}

interface Claimed {
  recipientId: string;
  messageId: string;
  campaignId: string;
  channel: Channel;
  address: string;
  subject: string | null;
  content: string;
  attempts: number;
  unsubscribeUrl: string;
  /** The tenant's gateway (gateway channels only; null when none is configured). */
  gateway: { url: string; secret: string } | null;
}

interface RecipientRow {
  id: string;
  campaign_id: string;
  contact_id: string;
  address: string;
  variables: Record<string, string | null>;
  status: string;
  attempts: number;
  campaign_status: CampaignStatus;
  channel: Channel;
  subject: string | null;
  body: string;
  opted_out: boolean;
  contact_deleted: boolean;
  tenant_deleted: boolean;
}

/**
 * Why a recipient gets no message although its job came, or null to send. Checked at send time, not only
 * at the snapshot: the tenant, the campaign or the contact may have changed since.
 */
function skipReason(row: RecipientRow): string | null {
  if (row.tenant_deleted) return 'tenant deleted';
  if (row.campaign_status !== 'running') return `campaign ${row.campaign_status}`;
  if (row.contact_deleted) return 'contact deleted';
  if (row.opted_out) return 'opted out';
  return null;
}

const systemActor = (tenantId: string, jobId: string): EventActor => ({ tenantId, userId: null, requestId: `job:${jobId}` });

/**
 * Sends one recipient's campaign message. The guarantee (docs/campaigns.md):
 * - the recipient row is the idempotency record: a job that finds it sent,
 *   failed or skipped does nothing, so duplicate or replayed jobs never send;
 * - before a send, one transaction marks the recipient `sending` and writes
 *   the message row (content, a stable message id); the send happens after
 *   that commit, and a second transaction marks both sent;
 * - the `log` channel's "send" is the message row itself, written in the
 *   claiming transaction: exactly once;
 * - for other channels a process killed between the send and the second
 *   commit leaves the recipient `sending`; the job's lease expires and the
 *   retry sends again with the same message id (at least once, at most one
 *   duplicate per crash, which a receiver can drop by that id).
 */
export function sendCampaignMessageHandler(deps: CampaignDeliveryDeps): JobHandler {
  const maxAttempts = deps.maxAttempts ?? 5;
  const retryBaseMs = deps.retryBaseMs ?? 30_000;
  const pausedRecheckMs = deps.pausedRecheckMs ?? 5_000;
  return async ({ job, inTenant }): Promise<JobOutcome> => {
    const actor = systemActor(job.tenantId, job.id);
    const step = await inTenant(async (tx): Promise<JobOutcome | Claimed | { finished: string }> => {
      await lockCampaignOf(tx, job.tenantId, job.refId);
      const [row] = await queryRows<RecipientRow>(
        tx,
        sql`select r.id, r.campaign_id, r.contact_id, r.address, r.variables, r.status, r.attempts,
                   c.status as campaign_status, t.channel, t.subject, t.body,
                   exists (select 1 from app.campaign_opt_outs o
                            where o.tenant_id = r.tenant_id and o.contact_id = r.contact_id and o.channel = t.channel) as opted_out,
                   not exists (select 1 from app.crm_contacts k
                                where k.tenant_id = r.tenant_id and k.id = r.contact_id and k.deleted_at is null) as contact_deleted,
                   not exists (select 1 from app.tenants tn where tn.id = r.tenant_id and tn.deleted_at is null) as tenant_deleted
              from app.campaign_recipients r
              join app.campaigns c on c.tenant_id = r.tenant_id and c.id = r.campaign_id
              join app.campaign_templates t on t.tenant_id = c.tenant_id and t.id = c.template_id
             where r.tenant_id = ${job.tenantId} and r.id = ${job.refId}
             for update of r`,
      );
      if (!row) return { done: true };
      // Already final: a replayed job, or one whose process died before the completion check. Check again.
      if (!['pending', 'sending'].includes(row.status)) return { finished: row.campaign_id };
      // A deleted tenant's paused campaign would otherwise keep its jobs looking forever.
      if (!row.tenant_deleted && (row.campaign_status === 'paused' || row.campaign_status === 'scheduled')) {
        return { retryAt: new Date(Date.now() + pausedRecheckMs) };
      }
      const skipped = skipReason(row);
      if (skipped !== null) {
        await tx.execute(
          sql`update app.campaign_recipients set status = 'skipped', last_error = ${skipped}
               where tenant_id = ${job.tenantId} and id = ${row.id}`,
        );
        await tx.execute(
          sql`update app.campaign_messages set status = 'failed', error = 'not sent', failed_at = now(), updated_at = now()
               where tenant_id = ${job.tenantId} and recipient_id = ${row.id} and status = 'queued'`,
        );
        return { finished: row.campaign_id };
      }
      // Per-tenant throughput: messages claimed in the last second, across the tenant's campaigns.
      const [rate] = await queryRows<{ recent: number; max_rate: number | null }>(
        tx,
        sql`select (select count(*)::int from app.campaign_recipients x
                     where x.tenant_id = ${job.tenantId} and x.sending_at > now() - interval '1 second') as recent,
                   (select case when jsonb_typeof(settings->'campaignMessagesPerSecond') = 'number'
                                then least(greatest((settings->>'campaignMessagesPerSecond')::numeric, 0), 100000)::int end
                      from app.tenants where id = ${job.tenantId}) as max_rate`,
      );
      const limit = rate?.max_rate ?? deps.messagesPerSecond ?? 50;
      if ((rate?.recent ?? 0) >= limit) return { retryAt: new Date(Date.now() + 1000 + Math.random() * 500) };

      const variables = variablesOf(
        {
          name: row.variables.name ?? null,
          email: row.variables.email ?? null,
          phone: row.variables.phone ?? null,
          title: row.variables.title ?? null,
          company: row.variables.company ?? null,
        },
        unsubscribeLink(
          deps.publicUrl,
          signUnsubscribeToken(deps.unsubscribeKey, {
            tenantId: job.tenantId,
            contactId: row.contact_id,
            channel: row.channel,
            campaignId: row.campaign_id,
            recipientId: row.id,
          }),
        ),
      );
      let content = render(row.body, variables);
      if (row.channel === 'email' && !row.body.includes('unsubscribeUrl')) {
        content += `\n\n--\nUnsubscribe: ${variables.unsubscribeUrl}`;
      }
      const subject = row.subject === null ? null : render(row.subject, variables);
      const sentNow = row.channel === 'log';
      // The message row is written once per recipient (unique recipient_id); a retry keeps its id and content.
      await tx.execute(
        sql`insert into app.campaign_messages (tenant_id, campaign_id, recipient_id, contact_id, direction, channel, recipient, subject, content, status)
            values (${job.tenantId}, ${row.campaign_id}, ${row.id}, ${row.contact_id}, 'outbound', ${row.channel}, ${row.address}, ${subject}, ${content}, 'queued')
            on conflict (tenant_id, recipient_id) do nothing`,
      );
      const [message] = await queryRows<{ id: string; subject: string | null; content: string }>(
        tx,
        sql`update app.campaign_messages
               set status = ${sentNow ? 'sent' : 'queued'}, sent_at = ${sentNow ? sql`now()` : null},
                   provider_message_id = ${sentNow ? sql`'log:' || id` : null}, updated_at = now()
             where tenant_id = ${job.tenantId} and recipient_id = ${row.id}
         returning id, subject, content`,
      );
      if (!message) throw new Error('message row missing');
      await tx.execute(
        sql`update app.campaign_recipients
               set status = ${sentNow ? 'sent' : 'sending'}, attempts = attempts + 1, sending_at = now(),
                   sent_at = ${sentNow ? sql`now()` : null}, last_error = null
             where tenant_id = ${job.tenantId} and id = ${row.id}`,
      );
      if (sentNow) {
        deps.logger.info(
          { tenantId: job.tenantId, campaignId: row.campaign_id, messageId: message.id, channel: 'log' },
          'campaign message (log channel)',
        );
        return { finished: row.campaign_id };
      }
      return {
        recipientId: row.id,
        messageId: message.id,
        campaignId: row.campaign_id,
        channel: row.channel,
        address: row.address,
        subject: message.subject,
        content: message.content,
        attempts: row.attempts + 1,
        unsubscribeUrl: variables.unsubscribeUrl,
        gateway: isGatewayChannel(row.channel) ? await loadGateway(tx, deps.secrets, job.tenantId) : null,
      };
    });
    if ('finished' in step) {
      await inTenant((tx) => completeIfDone(tx, actor, step.finished));
      return { done: true };
    }
    if (!('recipientId' in step)) return step;

    let error: string | null = null;
    let providerMessageId: string | null = null;
    try {
      providerMessageId = await send(deps, step);
    } catch (cause) {
      error = (cause instanceof Error ? cause.message : String(cause)).slice(0, 500);
    }
    const final = error === null || step.attempts >= maxAttempts;
    const retryAt = new Date(Date.now() + Math.min(retryBaseMs * 2 ** (step.attempts - 1), 3_600_000));
    await inTenant(async (tx) => {
      await lockCampaignOf(tx, job.tenantId, step.recipientId);
      await recordOutcome(tx, job.tenantId, step, error, providerMessageId, final);
    });
    if (final) await inTenant((tx) => completeIfDone(tx, actor, step.campaignId));
    return final ? { done: true } : { retryAt, error: error ?? '' };
  };
}

/**
 * Every transaction that changes a campaign's recipients locks the campaign
 * row first: one lock order, no deadlocks. Jobs take it FOR SHARE, so the
 * jobs of one campaign run side by side, while a transition (start, pause,
 * cancel: FOR UPDATE) waits for the claims in flight and they wait for it.
 *
 * The completion check runs in a transaction of its own after the job's
 * commit (completeIfDone): a recipient never goes back from a final state, so
 * "none pending or sending" cannot be seen too early, and the job that
 * commits last always sees every other job's commit, so it completes the
 * campaign; its `status = 'running'` guard under the row lock makes
 * completion (and campaign.completed) happen once. Upgrading a shared lock to
 * update the campaign inside the job's own transaction would deadlock
 * against the other jobs' shared locks, hence the separate transaction.
 */
async function lockCampaignOf(tx: Tx, tenantId: string, recipientId: string): Promise<void> {
  await tx.execute(
    sql`select c.id from app.campaigns c
         where c.tenant_id = ${tenantId}
           and c.id = (select r.campaign_id from app.campaign_recipients r where r.tenant_id = ${tenantId} and r.id = ${recipientId})
           for share`,
  );
}

async function send(deps: CampaignDeliveryDeps, message: Claimed): Promise<string> {
  if (message.channel === 'email') {
    await deps.mailer.send({
      to: message.address,
      subject: message.subject ?? '',
      text: message.content,
      messageId: campaignMessageId(deps.publicUrl, message.recipientId),
      unsubscribeUrl: message.unsubscribeUrl,
    });
    return `email:${message.messageId}`;
  }
  if (isGatewayChannel(message.channel)) {
    if (!message.gateway) throw new Error('no gateway is configured for this tenant');
    return sendThroughGateway(
      message.gateway,
      {
        recipientId: message.recipientId,
        messageId: message.messageId,
        campaignId: message.campaignId,
        channel: message.channel,
        to: message.address,
        subject: message.subject,
        content: message.content,
      },
      deps.outbound,
      deps.gatewayTimeoutMs ?? 15_000,
    );
  }
  throw new Error(`the ${message.channel} channel is not available yet`);
}

async function recordOutcome(
  tx: Tx,
  tenantId: string,
  message: Claimed,
  error: string | null,
  providerMessageId: string | null,
  final: boolean,
): Promise<void> {
  if (error === null) {
    await tx.execute(
      sql`update app.campaign_recipients set status = 'sent', sent_at = now(), last_error = null
           where tenant_id = ${tenantId} and id = ${message.recipientId}`,
    );
    await tx.execute(
      sql`update app.campaign_messages set status = 'sent', sent_at = now(), provider_message_id = ${providerMessageId}, error = null, updated_at = now()
           where tenant_id = ${tenantId} and id = ${message.messageId}`,
    );
    return;
  }
  await tx.execute(
    sql`update app.campaign_recipients set status = ${final ? 'failed' : 'pending'}, last_error = ${error}
         where tenant_id = ${tenantId} and id = ${message.recipientId}`,
  );
  await tx.execute(
    sql`update app.campaign_messages set error = ${error}, updated_at = now(),
               status = ${final ? 'failed' : 'queued'}, failed_at = ${final ? sql`now()` : null}
         where tenant_id = ${tenantId} and id = ${message.messageId}`,
  );
}

/** Starts a scheduled campaign when its time comes (unless it was cancelled or started by hand meanwhile, or its tenant deleted). */
export function startScheduledCampaignHandler(): JobHandler {
  return async ({ job, inTenant }): Promise<JobOutcome> => {
    await inTenant(async (tx) => {
      const [row] = await queryRows<{ channel: Channel }>(
        tx,
        sql`select t.channel from app.campaigns c
              join app.campaign_templates t on t.tenant_id = c.tenant_id and t.id = c.template_id
             where c.tenant_id = ${job.tenantId} and c.id = ${job.refId} and c.status = 'scheduled'
               and exists (select 1 from app.tenants tn where tn.id = c.tenant_id and tn.deleted_at is null)
             for update of c`,
      );
      if (row) await launch(tx, systemActor(job.tenantId, job.id), job.refId, row.channel);
    });
    return { done: true };
  };
}
