import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { AppError } from '../../api/errors.ts';
import { recordAudit } from '../../audit/record.ts';
import type { SecretBox } from '../../crypto/secret-box.ts';
import { queryRows, type Tx } from '../../db/tenant.ts';
import { emitEvent } from '../../events/emit.ts';
import { loadGateway, verifyStandardWebhook } from './gateway.ts';
import { applyMessageStatus } from './messages.ts';
import type { UnsubscribeClaims } from './unsubscribe.ts';

/**
 * What the public campaign routes do once they are inside a tenant
 * (src/api/campaigns-public.ts is their transport). Each runs in the tenant
 * transaction the transport opens with `withSystemTenant`, and only for a
 * tenant the request proved it speaks for (docs/campaigns.md, "Public routes").
 */

const callbackBody = z
  .object({
    messageId: z.guid().optional(),
    providerMessageId: z.string().trim().min(1).max(200).optional(),
    status: z.enum(['delivered', 'read', 'failed']),
    error: z.string().trim().max(500).optional(),
  })
  .refine((b) => b.messageId !== undefined || b.providerMessageId !== undefined, {
    message: 'messageId or providerMessageId is required',
  });

/** Records the opt-out the verified token names; repeating it changes nothing. True when it was new. */
export async function optOut(tx: Tx, claims: UnsubscribeClaims, requestId: string): Promise<boolean> {
  const inserted = await queryRows<{ id: string }>(
    tx,
    sql`insert into app.campaign_opt_outs (tenant_id, contact_id, channel)
        select ${claims.tenantId}, c.id, ${claims.channel}
          from app.crm_contacts c where c.tenant_id = ${claims.tenantId} and c.id = ${claims.contactId}
        on conflict (tenant_id, contact_id, channel) do nothing
        returning id`,
  );
  const row = inserted[0];
  if (!row) return false;
  const actor = { tenantId: claims.tenantId, userId: null, requestId };
  await recordAudit(tx, actor, {
    action: 'campaign_opt_out.created',
    targetType: 'crm_contact',
    targetId: claims.contactId,
    data: { via: 'unsubscribe_link', campaignId: claims.campaignId },
    after: { channel: claims.channel },
  });
  await emitEvent(tx, actor, 'campaign_opt_out.created', {
    id: row.id,
    contactId: claims.contactId,
    channel: claims.channel,
    via: 'unsubscribe_link',
  });
  return true;
}

export interface CallbackRequest {
  tenantId: string;
  gatewayId: string;
  signature: { id: string | undefined; timestamp: string | undefined; signature: string | undefined };
  /** The body exactly as received: the signature covers these bytes. */
  raw: string;
  requestId: string;
}

/**
 * A gateway's status report, in the named tenant's transaction: the gateway
 * secret is read and the signature checked first, and only then anything
 * parsed or written. 'unauthenticated' for an unknown gateway or a bad signature.
 */
export async function applyGatewayCallback(
  tx: Tx,
  secrets: SecretBox,
  request: CallbackRequest,
): Promise<'unauthenticated' | { id: string; status: string }> {
  const { tenantId } = request;
  const gateway = await loadGateway(tx, secrets, tenantId, request.gatewayId).catch(() => null);
  if (!gateway || !verifyStandardWebhook(gateway.secret, request.signature, request.raw)) return 'unauthenticated';
  let json: unknown;
  try {
    json = JSON.parse(request.raw);
  } catch {
    throw new AppError('BAD_REQUEST', 'The body is not valid JSON.');
  }
  const parsed = callbackBody.safeParse(json);
  if (!parsed.success) {
    throw new AppError(
      'VALIDATION_FAILED',
      undefined,
      parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    );
  }
  const input = parsed.data;
  const find = input.messageId ? { id: input.messageId } : { providerMessageId: input.providerMessageId as string };
  const actor = { tenantId, userId: null, requestId: request.requestId };
  const message = await applyMessageStatus(tx, actor, tenantId, find, input);
  return { id: message.id, status: message.status };
}
