import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { AppError } from '../../../api/errors.ts';
import type { TenantPrincipal, Tx } from '../../../db/tenant.ts';
import { iso } from '../fields.ts';
import { LEAD_STATUSES, leadStageHistory, leads } from './schema.ts';

export const leadOutput = z.object({
  id: z.guid(),
  title: z.string(),
  contactId: z.guid().nullable(),
  companyId: z.guid().nullable(),
  pipelineId: z.guid(),
  stageId: z.guid(),
  value: z.string().nullable(),
  currency: z.string().nullable(),
  status: z.enum(LEAD_STATUSES),
  expectedCloseDate: z.iso.date().nullable(),
  ownerUserId: z.guid().nullable(),
  closedAt: z.iso.datetime().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

export const leadColumns = {
  id: leads.id,
  title: leads.title,
  contactId: leads.contactId,
  companyId: leads.companyId,
  pipelineId: leads.pipelineId,
  stageId: leads.stageId,
  value: leads.value,
  currency: leads.currency,
  status: leads.status,
  expectedCloseDate: leads.expectedCloseDate,
  ownerUserId: leads.ownerUserId,
  closedAt: leads.closedAt,
  createdAt: leads.createdAt,
  updatedAt: leads.updatedAt,
};

export type LeadRow = Pick<typeof leads.$inferSelect, keyof typeof leadColumns>;

export const toLeadOutput = (row: LeadRow) => ({
  ...row,
  closedAt: iso(row.closedAt),
  createdAt: row.createdAt.toISOString(),
  updatedAt: row.updatedAt.toISOString(),
});

export async function findLead(tx: Tx, principal: TenantPrincipal, id: string, lock = false): Promise<LeadRow> {
  const query = tx
    .select(leadColumns)
    .from(leads)
    .where(and(eq(leads.tenantId, principal.tenantId), eq(leads.id, id)));
  const [row] = lock ? await query.for('update') : await query;
  if (!row) throw new AppError('NOT_FOUND');
  return row;
}

export const historyOutput = z.object({
  id: z.guid(),
  pipelineId: z.guid(),
  fromStageId: z.guid().nullable(),
  fromStageName: z.string().nullable(),
  toStageId: z.guid(),
  toStageName: z.string(),
  actorUserId: z.guid().nullable(),
  actorApiKeyId: z.guid().nullable(),
  movedAt: z.iso.datetime(),
});

export const historyColumns = {
  id: leadStageHistory.id,
  pipelineId: leadStageHistory.pipelineId,
  fromStageId: leadStageHistory.fromStageId,
  fromStageName: leadStageHistory.fromStageName,
  toStageId: leadStageHistory.toStageId,
  toStageName: leadStageHistory.toStageName,
  actorUserId: leadStageHistory.actorUserId,
  actorApiKeyId: leadStageHistory.actorApiKeyId,
  movedAt: leadStageHistory.movedAt,
};

/** Records that a lead entered a stage, attributed to the member or API key that moved it. */
export async function recordStageEntry(
  tx: Tx,
  principal: TenantPrincipal,
  entry: { leadId: string; pipelineId: string; from: { id: string; name: string } | null; to: { id: string; name: string } },
): Promise<void> {
  await tx.insert(leadStageHistory).values({
    tenantId: principal.tenantId,
    leadId: entry.leadId,
    pipelineId: entry.pipelineId,
    fromStageId: entry.from?.id ?? null,
    fromStageName: entry.from?.name ?? null,
    toStageId: entry.to.id,
    toStageName: entry.to.name,
    actorUserId: principal.kind === 'member' ? principal.userId : null,
    actorApiKeyId: principal.kind === 'apiKey' ? principal.apiKeyId : null,
  });
}
