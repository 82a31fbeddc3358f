import { and, eq, inArray, sql } from 'drizzle-orm';
import { AppError } from '../../api/errors.ts';
import { type AuditActor, recordAudit } from '../../audit/record.ts';
import { queryRows, type Tx } from '../../db/tenant.ts';
import { type EventActor, emitEvent } from '../../events/emit.ts';
import { JOBS_CHANNEL } from '../../jobs/runner.ts';
import { type CampaignStatus, type Channel, campaigns, recipients } from './schema.ts';

export const SEND_CAMPAIGN_MESSAGE_JOB = 'send_campaign_message';
export const START_SCHEDULED_CAMPAIGN_JOB = 'start_scheduled_campaign';

export type Transition = 'start' | 'pause' | 'resume' | 'cancel';

/** The statuses each transition may leave from. Everything else is 409 INVALID_TRANSITION. */
export const TRANSITIONS: Record<Transition, readonly CampaignStatus[]> = {
  start: ['draft', 'scheduled'],
  pause: ['running'],
  resume: ['paused'],
  cancel: ['draft', 'scheduled', 'running', 'paused'],
};

export function assertTransition(transition: Transition, from: CampaignStatus): void {
  if (!TRANSITIONS[transition].includes(from)) {
    throw new AppError('INVALID_TRANSITION', `A ${from} campaign cannot ${transition}.`, { from, transition });
  }
}

/**
 * The statuses from which a campaign still sends, now or later without anyone acting. A draft is not among
 * them: it sends only once someone starts it.
 */
export const STILL_SENDING: readonly CampaignStatus[] = ['scheduled', 'running', 'paused'];

/** The channels the delivery worker can send; webhook, sms and whatsapp also need the tenant's gateway (checked at start). */
export const DELIVERABLE_CHANNELS: readonly Channel[] = ['email', 'log', 'webhook', 'sms', 'whatsapp'];

/**
 * Snapshots the recipients of a campaign and queues one job per recipient,
 * in the caller's transaction: contacts of the target groups, each once,
 * not deleted, not opted out of the channel, with an address for it. The
 * unique (tenant, campaign, contact) key makes a repeated snapshot a no-op.
 */
export async function snapshotRecipients(tx: Tx, tenantId: string, campaignId: string, channel: Channel): Promise<number> {
  const [row] = await queryRows<{ n: number }>(
    tx,
    sql`with chosen as (
          select distinct on (c.id) c.id as contact_id, c.name, c.email, c.phones[1] as phone, c.title, co.name as company
            from app.campaign_targets t
            join app.campaign_group_members m on m.tenant_id = t.tenant_id and m.group_id = t.group_id
            join app.crm_contacts c on c.tenant_id = m.tenant_id and c.id = m.contact_id
            left join app.crm_companies co on co.tenant_id = c.tenant_id and co.id = c.company_id
           where t.tenant_id = ${tenantId} and t.campaign_id = ${campaignId} and c.deleted_at is null
             and not exists (select 1 from app.campaign_opt_outs o
                              where o.tenant_id = c.tenant_id and o.contact_id = c.id and o.channel = ${channel})
           order by c.id
        ), addressed as (
          select chosen.*, case ${channel}::text
                   when 'email' then email
                   when 'log' then coalesce(email, phone, name)
                   when 'webhook' then coalesce(phone, email)
                   else phone end as address
            from chosen
        ), inserted as (
          insert into app.campaign_recipients (tenant_id, campaign_id, contact_id, address, variables)
          select ${tenantId}, ${campaignId}, contact_id, address,
                 jsonb_build_object('name', name, 'email', email, 'phone', phone, 'title', title, 'company', company)
            from addressed where address is not null
          on conflict (tenant_id, campaign_id, contact_id) do nothing
          returning id
        ), queued as (
          insert into app.jobs (tenant_id, kind, ref_id)
          select ${tenantId}, ${SEND_CAMPAIGN_MESSAGE_JOB}, id from inserted
          returning 1
        )
        select count(*)::int as n from queued`,
  );
  await tx.execute(sql`select pg_notify(${JOBS_CHANNEL}, '')`);
  return Number(row?.n ?? 0);
}

/** Moves a draft or scheduled campaign to running: snapshot, jobs, event. Completes at once when nobody is left to message. */
export async function launch(tx: Tx, actor: EventActor, campaignId: string, channel: Channel): Promise<number> {
  const count = await snapshotRecipients(tx, actor.tenantId, campaignId, channel);
  await tx
    .update(campaigns)
    .set({ status: 'running', startedAt: sql`now()`, updatedAt: sql`now()` })
    .where(and(eq(campaigns.tenantId, actor.tenantId), eq(campaigns.id, campaignId)));
  await emitEvent(tx, actor, 'campaign.started', { id: campaignId, recipients: count });
  await completeIfDone(tx, actor, campaignId);
  return count;
}

/** Marks a running campaign completed once none of its recipients is pending or sending; emits campaign.completed once. */
export async function completeIfDone(tx: Tx, actor: EventActor, campaignId: string): Promise<boolean> {
  const done = await queryRows<{ id: string }>(
    tx,
    sql`update app.campaigns set status = 'completed', finished_at = now(), updated_at = now()
         where tenant_id = ${actor.tenantId} and id = ${campaignId} and status = 'running'
           and not exists (select 1 from app.campaign_recipients r
                            where r.tenant_id = ${actor.tenantId} and r.campaign_id = ${campaignId}
                              and r.status in ('pending', 'sending'))
        returning id`,
  );
  if (done.length === 0) return false;
  await emitEvent(tx, actor, 'campaign.completed', { id: campaignId });
  return true;
}

/**
 * Cancels a campaign whose row the caller holds FOR UPDATE, from a status `cancel` allows: recipients not yet
 * claimed are skipped and never sent; a claimed one finishes its attempt. Audited and emitted.
 */
export async function cancelCampaign(tx: Tx, actor: AuditActor, campaignId: string, from: CampaignStatus): Promise<void> {
  await tx
    .update(campaigns)
    .set({ status: 'cancelled', updatedAt: sql`now()`, finishedAt: sql`now()` })
    .where(and(eq(campaigns.tenantId, actor.tenantId), eq(campaigns.id, campaignId)));
  await tx
    .update(recipients)
    .set({ status: 'skipped', lastError: 'campaign cancelled' })
    .where(and(eq(recipients.tenantId, actor.tenantId), eq(recipients.campaignId, campaignId), eq(recipients.status, 'pending')));
  await recordAudit(tx, actor, {
    action: 'campaign.cancelled',
    targetType: 'campaign',
    targetId: campaignId,
    before: { status: from },
  });
  await emitEvent(tx, actor, 'campaign.cancelled', { id: campaignId, from });
}

/**
 * Cancels every campaign of the actor's tenant that could still send, each as `cancel` would, in the
 * caller's transaction: a deleted tenant's campaigns must stop with it. Each row is taken FOR UPDATE, as a
 * transition takes it, so the claims in flight finish first and no later claim finds the campaign running.
 */
export async function cancelStillSendingCampaigns(tx: Tx, actor: AuditActor): Promise<void> {
  const stillSending = await tx
    .select({ id: campaigns.id, status: campaigns.status })
    .from(campaigns)
    .where(and(eq(campaigns.tenantId, actor.tenantId), inArray(campaigns.status, [...STILL_SENDING])))
    .orderBy(campaigns.id)
    .for('update');
  for (const campaign of stillSending) await cancelCampaign(tx, actor, campaign.id, campaign.status);
}
