import { and, desc, eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Services } from '../../api/context.ts';
import { AppError } from '../../api/errors.ts';
import { keyset, listInput, page, pageOf } from '../../api/pagination.ts';
import { adminProcedure, router } from '../../api/procedures.ts';
import { actorOf, changeSummary, recordAudit } from '../../audit/record.ts';
import { type TenantPrincipal, type Tx, withTenant } from '../../db/tenant.ts';
import { emitEvent } from '../../events/emit.ts';
import { jobs } from '../../jobs/schema.ts';
import { BlockedDestinationError, checkWebhookUrl } from '../../webhooks/safe-http.ts';
import { generateWebhookSecret } from '../../webhooks/signature.ts';
import { DELIVER_WEBHOOK_JOB, messageId, TEST_EVENT_TYPE } from './delivery.ts';
import { DELIVERY_STATUSES, webhookAttempts, webhookDeliveries, webhookEndpoints } from './schema.ts';

const eventFilter = z
  .string()
  .trim()
  .regex(/^(\*|[a-z_]+\.\*|[a-z_]+\.[a-z_.]+)$/, 'an event type, `resource.*` or `*`');

const endpointOutput = z.object({
  id: z.guid(),
  url: z.string(),
  description: z.string(),
  eventTypes: z.array(z.string()),
  enabled: z.boolean(),
  disabledReason: z.string().nullable(),
  failingSince: z.iso.datetime().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

/** Explicit columns: the sealed secrets never leave the database through a read. */
const endpointColumns = {
  id: webhookEndpoints.id,
  url: webhookEndpoints.url,
  description: webhookEndpoints.description,
  eventTypes: webhookEndpoints.eventTypes,
  enabled: webhookEndpoints.enabled,
  disabledReason: webhookEndpoints.disabledReason,
  failingSince: webhookEndpoints.failingSince,
  createdAt: webhookEndpoints.createdAt,
  updatedAt: webhookEndpoints.updatedAt,
};

type EndpointRow = { failingSince: Date | null; createdAt: Date; updatedAt: Date } & Omit<
  z.infer<typeof endpointOutput>,
  'failingSince' | 'createdAt' | 'updatedAt'
>;
const toEndpointOutput = (row: EndpointRow) => ({
  ...row,
  failingSince: row.failingSince?.toISOString() ?? null,
  createdAt: row.createdAt.toISOString(),
  updatedAt: row.updatedAt.toISOString(),
});

function validUrl(services: Services, url: string): string {
  try {
    return checkWebhookUrl(url, services.outbound).toString();
  } catch (error) {
    if (error instanceof BlockedDestinationError) {
      throw new AppError('VALIDATION_FAILED', undefined, [{ path: 'url', message: error.message }]);
    }
    throw error;
  }
}

async function findEndpoint(tx: Tx, principal: TenantPrincipal, id: string) {
  const [row] = await tx
    .select(endpointColumns)
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.tenantId, principal.tenantId), eq(webhookEndpoints.id, id)));
  if (!row) throw new AppError('NOT_FOUND');
  return row;
}

const idInput = z.object({ id: z.guid() });
const tags = ['webhooks'];

export const webhooksRouter = router({
  list: adminProcedure
    .meta({
      scope: 'webhooks:read',
      summary: 'Webhook endpoints of the active tenant',
      tags,
      rest: { method: 'GET', path: '/webhooks/endpoints' },
    })
    .input(listInput(['createdAt', 'url']))
    .output(pageOf(endpointOutput))
    .query(async ({ ctx, input }) => {
      const { where, orderBy, limit } = keyset(
        input,
        { createdAt: webhookEndpoints.createdAt, url: webhookEndpoints.url },
        webhookEndpoints.id,
      );
      const rows = await withTenant(ctx.principal, (tx) =>
        tx
          .select(endpointColumns)
          .from(webhookEndpoints)
          .where(and(eq(webhookEndpoints.tenantId, ctx.principal.tenantId), where))
          .orderBy(...orderBy)
          .limit(limit),
      );
      const result = page(rows, input, (row, field) => [row[field as 'createdAt' | 'url'], row.id]);
      return { items: result.items.map(toEndpointOutput), nextCursor: result.nextCursor };
    }),

  get: adminProcedure
    .meta({
      scope: 'webhooks:read',
      summary: 'One webhook endpoint',
      tags,
      rest: { method: 'GET', path: '/webhooks/endpoints/{id}' },
    })
    .input(idInput)
    .output(endpointOutput)
    .query(async ({ ctx, input }) =>
      toEndpointOutput(await withTenant(ctx.principal, (tx) => findEndpoint(tx, ctx.principal, input.id))),
    ),

  create: adminProcedure
    .meta({
      scope: 'webhooks:write',
      summary: 'Add a webhook endpoint; its signing secret is returned once',
      tags,
      rest: { method: 'POST', path: '/webhooks/endpoints', status: 201 },
    })
    .input(
      z.object({
        url: z.string().max(2048),
        description: z.string().max(500).default(''),
        eventTypes: z.array(eventFilter).min(1).max(50),
        enabled: z.boolean().default(true),
      }),
    )
    .output(endpointOutput.extend({ secret: z.string() }))
    .mutation(async ({ ctx, input }) => {
      const { principal, services } = ctx;
      const url = validUrl(services, input.url);
      const secret = generateWebhookSecret();
      const row = await withTenant(principal, async (tx) => {
        const [created] = await tx
          .insert(webhookEndpoints)
          .values({
            tenantId: principal.tenantId,
            url,
            description: input.description,
            eventTypes: input.eventTypes,
            enabled: input.enabled,
            secretCiphertext: services.secrets.seal(secret),
            createdBy: principal.kind === 'member' ? principal.userId : null,
          })
          .returning(endpointColumns);
        if (!created) throw new AppError('INTERNAL');
        await recordAudit(tx, actorOf(principal, ctx), {
          action: 'webhook_endpoint.created',
          targetType: 'webhook_endpoint',
          targetId: created.id,
          data: { url, eventTypes: input.eventTypes },
        });
        await emitEvent(tx, actorOf(principal, ctx), 'webhook_endpoint.created', { id: created.id, url });
        return created;
      });
      return { ...toEndpointOutput(row), secret };
    }),

  update: adminProcedure
    .meta({
      scope: 'webhooks:write',
      summary: 'Change a webhook endpoint',
      tags,
      rest: { method: 'PATCH', path: '/webhooks/endpoints/{id}' },
    })
    .input(
      idInput.extend({
        url: z.string().max(2048).optional(),
        description: z.string().max(500).optional(),
        eventTypes: z.array(eventFilter).min(1).max(50).optional(),
        enabled: z.boolean().optional(),
      }),
    )
    .output(endpointOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal, services } = ctx;
      const { id, ...changes } = input;
      const url = changes.url === undefined ? undefined : validUrl(services, changes.url);
      const row = await withTenant(principal, async (tx) => {
        const previous = await findEndpoint(tx, principal, id);
        const [updated] = await tx
          .update(webhookEndpoints)
          .set({
            ...changes,
            ...(url ? { url } : {}),
            // Re-enabling starts a fresh failure count.
            ...(changes.enabled ? { disabledReason: null, failingSince: null } : {}),
            updatedAt: new Date(),
          })
          .where(and(eq(webhookEndpoints.tenantId, principal.tenantId), eq(webhookEndpoints.id, id)))
          .returning(endpointColumns);
        if (!updated) throw new AppError('NOT_FOUND');
        await recordAudit(tx, actorOf(principal, ctx), {
          action: 'webhook_endpoint.updated',
          targetType: 'webhook_endpoint',
          targetId: id,
          data: { fields: Object.keys(changes) },
          ...changeSummary(previous, updated, Object.keys(changes) as (keyof typeof changes)[]),
        });
        await emitEvent(tx, actorOf(principal, ctx), 'webhook_endpoint.updated', { id, fields: Object.keys(changes) });
        return updated;
      });
      return toEndpointOutput(row);
    }),

  delete: adminProcedure
    .meta({
      scope: 'webhooks:write',
      summary: 'Remove a webhook endpoint and its delivery log',
      tags,
      rest: { method: 'DELETE', path: '/webhooks/endpoints/{id}' },
    })
    .input(idInput)
    .output(z.object({ deleted: z.literal(true) }))
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      await withTenant(principal, async (tx) => {
        const [deleted] = await tx
          .delete(webhookEndpoints)
          .where(and(eq(webhookEndpoints.tenantId, principal.tenantId), eq(webhookEndpoints.id, input.id)))
          .returning({ id: webhookEndpoints.id });
        if (!deleted) throw new AppError('NOT_FOUND');
        await recordAudit(tx, actorOf(principal, ctx), {
          action: 'webhook_endpoint.deleted',
          targetType: 'webhook_endpoint',
          targetId: input.id,
        });
        await emitEvent(tx, actorOf(principal, ctx), 'webhook_endpoint.deleted', { id: input.id });
      });
      return { deleted: true as const };
    }),

  rotateSecret: adminProcedure
    .meta({
      scope: 'webhooks:write',
      summary: 'Issue a new signing secret (returned once); the old one keeps signing for the overlap window',
      tags,
      rest: { method: 'POST', path: '/webhooks/endpoints/{id}/rotate-secret' },
    })
    .input(idInput)
    .output(z.object({ secret: z.string(), previousSecretExpiresAt: z.iso.datetime() }))
    .mutation(async ({ ctx, input }) => {
      const { principal, services } = ctx;
      const secret = generateWebhookSecret();
      const expiresAt = new Date(Date.now() + services.config.WEBHOOK_SECRET_OVERLAP_HOURS * 3_600_000);
      await withTenant(principal, async (tx) => {
        const [current] = await tx
          .select({ secret: webhookEndpoints.secretCiphertext })
          .from(webhookEndpoints)
          .where(and(eq(webhookEndpoints.tenantId, principal.tenantId), eq(webhookEndpoints.id, input.id)))
          .for('update');
        if (!current) throw new AppError('NOT_FOUND');
        await tx
          .update(webhookEndpoints)
          .set({
            secretCiphertext: services.secrets.seal(secret),
            previousSecretCiphertext: current.secret,
            previousSecretExpiresAt: expiresAt,
            updatedAt: new Date(),
          })
          .where(and(eq(webhookEndpoints.tenantId, principal.tenantId), eq(webhookEndpoints.id, input.id)));
        await recordAudit(tx, actorOf(principal, ctx), {
          action: 'webhook_endpoint.secret_rotated',
          targetType: 'webhook_endpoint',
          targetId: input.id,
        });
        await emitEvent(tx, actorOf(principal, ctx), 'webhook_endpoint.updated', { id: input.id, fields: ['secret'] });
      });
      return { secret, previousSecretExpiresAt: expiresAt.toISOString() };
    }),

  sendTest: adminProcedure
    .meta({
      scope: 'webhooks:write',
      summary: 'Send a webhook.test event to one endpoint',
      tags,
      rest: { method: 'POST', path: '/webhooks/endpoints/{id}/test', status: 202 },
    })
    .input(idInput)
    .output(z.object({ eventId: z.guid() }))
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      const eventId = await withTenant(principal, async (tx) => {
        await findEndpoint(tx, principal, input.id);
        return emitEvent(tx, actorOf(principal, ctx), TEST_EVENT_TYPE, {
          endpointId: input.id,
          message: 'This is a test event from Palisade.',
        });
      });
      return { eventId };
    }),

  deliveries: adminProcedure
    .meta({
      scope: 'webhooks:read',
      summary: "An endpoint's deliveries, newest first",
      tags,
      rest: { method: 'GET', path: '/webhooks/endpoints/{id}/deliveries' },
    })
    .input(listInput(['createdAt'], '-createdAt').extend({ id: z.guid(), status: z.enum(DELIVERY_STATUSES).optional() }))
    .output(
      pageOf(
        z.object({
          id: z.guid(),
          messageId: z.string(),
          eventId: z.guid(),
          eventType: z.string(),
          status: z.enum(DELIVERY_STATUSES),
          attempts: z.number().int(),
          lastStatusCode: z.number().int().nullable(),
          nextAttemptAt: z.iso.datetime().nullable(),
          createdAt: z.iso.datetime(),
          completedAt: z.iso.datetime().nullable(),
        }),
      ),
    )
    .query(async ({ ctx, input }) => {
      const { where, orderBy, limit } = keyset(input, { createdAt: webhookDeliveries.createdAt }, webhookDeliveries.id);
      const rows = await withTenant(ctx.principal, async (tx) => {
        await findEndpoint(tx, ctx.principal, input.id);
        return tx
          .select({
            id: webhookDeliveries.id,
            eventId: webhookDeliveries.eventId,
            eventType: webhookDeliveries.eventType,
            status: webhookDeliveries.status,
            attempts: webhookDeliveries.attempts,
            lastStatusCode: webhookDeliveries.lastStatusCode,
            nextAttemptAt: webhookDeliveries.nextAttemptAt,
            createdAt: webhookDeliveries.createdAt,
            completedAt: webhookDeliveries.completedAt,
          })
          .from(webhookDeliveries)
          .where(
            and(
              eq(webhookDeliveries.tenantId, ctx.principal.tenantId),
              eq(webhookDeliveries.endpointId, input.id),
              input.status ? eq(webhookDeliveries.status, input.status) : undefined,
              where,
            ),
          )
          .orderBy(...orderBy)
          .limit(limit);
      });
      const result = page(rows, input, (row) => [row.createdAt, row.id]);
      return {
        items: result.items.map((r) => ({
          ...r,
          messageId: messageId(r.id),
          nextAttemptAt: r.nextAttemptAt?.toISOString() ?? null,
          createdAt: r.createdAt.toISOString(),
          completedAt: r.completedAt?.toISOString() ?? null,
        })),
        nextCursor: result.nextCursor,
      };
    }),

  attempts: adminProcedure
    .meta({
      scope: 'webhooks:read',
      summary: 'Every attempt at one delivery',
      tags,
      rest: { method: 'GET', path: '/webhooks/deliveries/{id}/attempts' },
    })
    .input(idInput)
    .output(
      z.array(
        z.object({
          attempt: z.number().int(),
          statusCode: z.number().int().nullable(),
          latencyMs: z.number().int(),
          responseExcerpt: z.string().nullable(),
          error: z.string().nullable(),
          createdAt: z.iso.datetime(),
        }),
      ),
    )
    .query(async ({ ctx, input }) => {
      const rows = await withTenant(ctx.principal, async (tx) => {
        const [delivery] = await tx
          .select({ id: webhookDeliveries.id })
          .from(webhookDeliveries)
          .where(and(eq(webhookDeliveries.tenantId, ctx.principal.tenantId), eq(webhookDeliveries.id, input.id)));
        if (!delivery) throw new AppError('NOT_FOUND');
        return tx
          .select({
            attempt: webhookAttempts.attempt,
            statusCode: webhookAttempts.statusCode,
            latencyMs: webhookAttempts.latencyMs,
            responseExcerpt: webhookAttempts.responseExcerpt,
            error: webhookAttempts.error,
            createdAt: webhookAttempts.createdAt,
          })
          .from(webhookAttempts)
          .where(and(eq(webhookAttempts.tenantId, ctx.principal.tenantId), eq(webhookAttempts.deliveryId, input.id)))
          .orderBy(desc(webhookAttempts.attempt))
          .limit(100);
      });
      return rows.map((r) => ({ ...r, createdAt: r.createdAt.toISOString() }));
    }),

  replay: adminProcedure
    .meta({
      scope: 'webhooks:write',
      summary: 'Send a delivery again, with the same webhook-id and body',
      tags,
      rest: { method: 'POST', path: '/webhooks/deliveries/{id}/replay', status: 202 },
    })
    .input(idInput)
    .output(z.object({ id: z.guid(), status: z.literal('pending') }))
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      await withTenant(principal, async (tx) => {
        const [delivery] = await tx
          .update(webhookDeliveries)
          .set({ status: 'pending', nextAttemptAt: new Date(), completedAt: null })
          .where(and(eq(webhookDeliveries.tenantId, principal.tenantId), eq(webhookDeliveries.id, input.id)))
          .returning({ id: webhookDeliveries.id });
        if (!delivery) throw new AppError('NOT_FOUND');
        await tx.insert(jobs).values({ tenantId: principal.tenantId, kind: DELIVER_WEBHOOK_JOB, refId: delivery.id });
        await recordAudit(tx, actorOf(principal, ctx), {
          action: 'webhook_delivery.replayed',
          targetType: 'webhook_delivery',
          targetId: input.id,
        });
      });
      return { id: input.id, status: 'pending' as const };
    }),
});
