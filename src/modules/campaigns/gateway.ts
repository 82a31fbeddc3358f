import { timingSafeEqual } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Services } from '../../api/context.ts';
import { AppError } from '../../api/errors.ts';
import { adminProcedure, router } from '../../api/procedures.ts';
import { actorOf, recordAudit } from '../../audit/record.ts';
import type { SecretBox } from '../../crypto/secret-box.ts';
import { type Tx, withTenant } from '../../db/tenant.ts';
import { emitEvent } from '../../events/emit.ts';
import { BlockedDestinationError, checkWebhookUrl, type OutboundPolicy, sendOutbound } from '../../webhooks/safe-http.ts';
import { generateWebhookSecret, signWebhook, webhookHeaders } from '../../webhooks/signature.ts';
import { type Channel, gateways } from './schema.ts';
import { notFoundUnless, tags, WRITE } from './shared.ts';

/** The channels that go out through the tenant's gateway (an HTTP POST signed like our webhooks). */
export const GATEWAY_CHANNELS: readonly Channel[] = ['webhook', 'sms', 'whatsapp'];
export const isGatewayChannel = (channel: Channel) => GATEWAY_CHANNELS.includes(channel);

/** Where the gateway reports delivery status: public, verified by the gateway secret's signature. */
export const CALLBACK_PATH = '/api/v1/campaigns/callbacks/{tenantId}/{gatewayId}';
export const callbackUrl = (publicUrl: string, tenantId: string, gatewayId: string) =>
  `${publicUrl.replace(/\/$/, '')}/api/v1/campaigns/callbacks/${tenantId}/${gatewayId}`;

const gatewayOutput = z.object({
  id: z.guid(),
  url: z.string(),
  callbackUrl: z.string(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

/** Explicit columns: the sealed secret never leaves the database through a read. */
const gatewayColumns = {
  id: gateways.id,
  tenantId: gateways.tenantId,
  url: gateways.url,
  createdAt: gateways.createdAt,
  updatedAt: gateways.updatedAt,
};
type GatewayRow = { id: string; tenantId: string; url: string; createdAt: Date; updatedAt: Date };
const toOutput = (services: Services, row: GatewayRow) => ({
  id: row.id,
  url: row.url,
  callbackUrl: callbackUrl(publicBase(services), row.tenantId, row.id),
  createdAt: row.createdAt.toISOString(),
  updatedAt: row.updatedAt.toISOString(),
});

function publicBase(services: Services): string {
  const c = services.config;
  return c.PUBLIC_URL ?? `http://${c.HOST === '0.0.0.0' ? '127.0.0.1' : c.HOST}:${c.PORT}`;
}

function validUrl(policy: OutboundPolicy, url: string): string {
  try {
    return checkWebhookUrl(url, policy).toString();
  } catch (error) {
    if (error instanceof BlockedDestinationError) {
      throw new AppError('VALIDATION_FAILED', undefined, [{ path: 'url', message: error.message }]);
    }
    throw error;
  }
}

/** Admin-only settings of the tenant's SMS/WhatsApp/webhook gateway. */
export const gatewayRouter = router({
  get: adminProcedure
    .meta({
      summary: "The tenant's message gateway (for webhook, sms and whatsapp templates); its secret is never shown again",
      tags,
      scope: WRITE,
      rest: { method: 'GET', path: '/campaigns/gateway' },
    })
    .input(z.object({}).optional())
    .output(gatewayOutput)
    .query(async ({ ctx }) => {
      const [row] = await withTenant(ctx.principal, (tx) =>
        tx.select(gatewayColumns).from(gateways).where(eq(gateways.tenantId, ctx.principal.tenantId)),
      );
      return toOutput(ctx.services, notFoundUnless(row));
    }),

  set: adminProcedure
    .meta({
      summary:
        'Set the gateway URL; a signing secret is generated (and returned, once) when the gateway is created or rotateSecret is true',
      tags,
      scope: WRITE,
      rest: { method: 'PUT', path: '/campaigns/gateway' },
    })
    .input(z.object({ url: z.string().max(2000), rotateSecret: z.boolean().default(false) }))
    .output(gatewayOutput.extend({ secret: z.string().nullable() }))
    .mutation(async ({ ctx, input }) => {
      const { principal, services } = ctx;
      const url = validUrl(services.outbound, input.url);
      const result = await withTenant(principal, async (tx) => {
        const [current] = await tx
          .select({ id: gateways.id })
          .from(gateways)
          .where(eq(gateways.tenantId, principal.tenantId))
          .for('update');
        const secret = !current || input.rotateSecret ? generateWebhookSecret() : null;
        let row: GatewayRow | undefined;
        if (!current) {
          [row] = await tx
            .insert(gateways)
            .values({ tenantId: principal.tenantId, url, secret: services.secrets.seal(secret as string) })
            .returning(gatewayColumns);
        } else {
          [row] = await tx
            .update(gateways)
            .set({ url, ...(secret ? { secret: services.secrets.seal(secret) } : {}), updatedAt: sql`now()` })
            .where(and(eq(gateways.tenantId, principal.tenantId), eq(gateways.id, current.id)))
            .returning(gatewayColumns);
        }
        const saved = notFoundUnless(row);
        await recordAudit(tx, actorOf(principal, ctx), {
          action: current ? 'campaign_gateway.updated' : 'campaign_gateway.created',
          targetType: 'campaign_gateway',
          targetId: saved.id,
          data: { url, secretRotated: current ? secret !== null : false },
        });
        await emitEvent(tx, actorOf(principal, ctx), current ? 'campaign_gateway.updated' : 'campaign_gateway.created', {
          id: saved.id,
          url,
        });
        return { row: saved, secret };
      });
      return { ...toOutput(services, result.row), secret: result.secret };
    }),

  delete: adminProcedure
    .meta({
      summary: 'Remove the gateway; messages on its channels then fail until one is set again',
      tags,
      scope: WRITE,
      rest: { method: 'DELETE', path: '/campaigns/gateway' },
    })
    .input(z.object({}).optional())
    .output(gatewayOutput)
    .mutation(async ({ ctx }) => {
      const { principal, services } = ctx;
      const row = await withTenant(principal, async (tx) => {
        const [deleted] = await tx.delete(gateways).where(eq(gateways.tenantId, principal.tenantId)).returning(gatewayColumns);
        const gone = notFoundUnless(deleted);
        await recordAudit(tx, actorOf(principal, ctx), {
          action: 'campaign_gateway.deleted',
          targetType: 'campaign_gateway',
          targetId: gone.id,
        });
        await emitEvent(tx, actorOf(principal, ctx), 'campaign_gateway.deleted', { id: gone.id });
        return gone;
      });
      return toOutput(services, row);
    }),
});

/** The tenant's gateway with its secret opened, inside the tenant's transaction; null when there is none. */
export async function loadGateway(
  tx: Tx,
  secrets: SecretBox,
  tenantId: string,
  gatewayId?: string,
): Promise<{ id: string; url: string; secret: string } | null> {
  const [row] = await tx
    .select({ id: gateways.id, url: gateways.url, secret: gateways.secret })
    .from(gateways)
    .where(and(eq(gateways.tenantId, tenantId), gatewayId ? eq(gateways.id, gatewayId) : undefined));
  if (!row) return null;
  return { id: row.id, url: row.url, secret: secrets.open(row.secret) };
}

export interface GatewayMessage {
  /** The recipient row id: the Standard Webhooks `webhook-id`, the same on every retry. */
  recipientId: string;
  messageId: string;
  campaignId: string;
  channel: Channel;
  to: string;
  subject: string | null;
  content: string;
}

/**
 * POSTs one message to the gateway, signed with the Standard Webhooks scheme
 * (src/webhooks/signature.ts). Resolves with the provider message id (the
 * response's JSON `id` or `providerMessageId`, else `<channel>:<message id>`);
 * rejects on a network error or a non-2xx answer.
 */
export async function sendThroughGateway(
  gateway: { url: string; secret: string },
  message: GatewayMessage,
  policy: OutboundPolicy,
  timeoutMs: number,
): Promise<string> {
  const body = JSON.stringify({
    type: 'campaign.message',
    messageId: message.messageId,
    recipientId: message.recipientId,
    campaignId: message.campaignId,
    channel: message.channel,
    to: message.to,
    subject: message.subject,
    content: message.content,
  });
  const timestamp = Math.floor(Date.now() / 1000);
  const response = await sendOutbound(
    {
      url: gateway.url,
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Palisade-Campaigns/1',
        ...webhookHeaders([gateway.secret], message.recipientId, timestamp, body),
      },
      body,
      timeoutMs,
    },
    policy,
  );
  if (response.status < 200 || response.status >= 300) throw new Error(`gateway answered ${response.status}`);
  try {
    const parsed = JSON.parse(response.bodyExcerpt) as { id?: unknown; providerMessageId?: unknown };
    const id = typeof parsed.providerMessageId === 'string' ? parsed.providerMessageId : parsed.id;
    if (typeof id === 'string' && id.length > 0 && id.length <= 200) return id;
  } catch {
    // not JSON: no provider id given
  }
  return `${message.channel}:${message.messageId}`;
}

/** How far a callback's `webhook-timestamp` may be from now (Standard Webhooks recommends five minutes). */
export const CALLBACK_TOLERANCE_SECONDS = 300;

/**
 * Verifies a Standard Webhooks signature made with `secret` over the raw body:
 * the headers must be present, the timestamp within the tolerance, and one of
 * the space-separated `v1,` signatures equal to ours (compared in constant time).
 */
export function verifyStandardWebhook(
  secret: string,
  headers: { id: string | undefined; timestamp: string | undefined; signature: string | undefined },
  body: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): boolean {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature || id.length > 200 || signature.length > 2000 || !/^\d{1,12}$/.test(timestamp)) {
    return false;
  }
  const ts = Number(timestamp);
  if (Math.abs(nowSeconds - ts) > CALLBACK_TOLERANCE_SECONDS) return false;
  const expected = Buffer.from(signWebhook(secret, id, ts, body));
  return signature.split(' ').some((candidate) => {
    const given = Buffer.from(candidate);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
