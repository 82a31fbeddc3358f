import { and, eq, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { AppError } from '../../api/errors.ts';
import { adminProcedure, authedProcedure, memberOnly, ownerProcedure, router, tenantProcedure } from '../../api/procedures.ts';
import { actorOf, changeSummary, recordAudit } from '../../audit/record.ts';
import { queryRows, withTenant, withUser } from '../../db/tenant.ts';
import { PLANS, tenants } from '../../db/tenant-table.ts';
import { emitEvent } from '../../events/emit.ts';
import { cancelStillSendingCampaigns } from '../campaigns/lifecycle.ts';
import { invitations } from '../invitations/schema.ts';

const tenantOutput = z.object({
  id: z.guid(),
  name: z.string(),
  slug: z.string(),
  plan: z.enum(PLANS),
  settings: z.record(z.string(), z.unknown()),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

/** Explicit columns: billing ids and deletion markers never leave through this API. */
const tenantColumns = {
  id: tenants.id,
  name: tenants.name,
  slug: tenants.slug,
  plan: tenants.plan,
  settings: tenants.settings,
  createdAt: tenants.createdAt,
  updatedAt: tenants.updatedAt,
};

function toTenantOutput(row: {
  id: string;
  name: string;
  slug: string;
  plan: (typeof PLANS)[number];
  settings: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
}) {
  return { ...row, createdAt: row.createdAt.toISOString(), updatedAt: row.updatedAt.toISOString() };
}

const slugSchema = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'lowercase letters, digits and dashes, 2 to 63 characters');

/** Settings are a tenant's own JSON, bounded so that one tenant cannot store megabytes per request. */
const settingsSchema = z
  .record(z.string().max(100), z.unknown())
  .refine((s) => JSON.stringify(s).length <= 32_768, 'settings may hold at most 32 KiB');

export const tenantsRouter = router({
  create: authedProcedure
    .meta({
      summary: 'Create a tenant; the caller becomes its owner',
      tags: ['tenants'],
      rest: { method: 'POST', path: '/tenants', status: 201 },
    })
    .input(z.object({ name: z.string().trim().min(1).max(200), slug: slugSchema }))
    .output(tenantOutput)
    .mutation(async ({ ctx, input }) => {
      const tenant = await withUser(ctx.services.sessions.bindIdentity(ctx.identity), async (tx) => {
        // app.create_tenant sets the new tenant as the context, inserts it and the owner membership.
        const [created] = await queryRows<{ id: string }>(
          tx,
          sql`select app.create_tenant(${input.name}, ${input.slug}, ${ctx.identity.userId}) as id`,
        );
        const id = created?.id;
        if (!id) throw new AppError('INTERNAL');
        await recordAudit(
          tx,
          { tenantId: id, userId: ctx.identity.userId, requestId: ctx.requestId, ip: ctx.ip, userAgent: ctx.userAgent },
          {
            action: 'tenant.created',
            targetType: 'tenant',
            targetId: id,
          },
        );
        await emitEvent(tx, { tenantId: id, userId: ctx.identity.userId, requestId: ctx.requestId }, 'tenant.created', { id });
        const [row] = await tx.select(tenantColumns).from(tenants).where(eq(tenants.id, id));
        if (!row) throw new AppError('INTERNAL');
        return row;
      });
      await ctx.services.sessions.setActiveTenant(ctx.session.sessionToken, tenant.id);
      return toTenantOutput(tenant);
    }),

  current: tenantProcedure
    .meta({
      scope: 'tenant:read',
      summary: 'The active tenant',
      tags: ['tenants'],
      rest: { method: 'GET', path: '/tenants/current' },
    })
    .input(z.object({}).optional())
    .output(tenantOutput.extend({ role: z.enum(['owner', 'admin', 'member']) }))
    .query(async ({ ctx }) => {
      const [row] = await withTenant(ctx.principal, (tx) =>
        tx
          .select(tenantColumns)
          .from(tenants)
          .where(and(eq(tenants.id, ctx.principal.tenantId), isNull(tenants.deletedAt))),
      );
      if (!row) throw new AppError('NOT_FOUND');
      return { ...toTenantOutput(row), role: ctx.principal.role };
    }),

  update: adminProcedure
    .meta({
      scope: 'tenant:write',
      summary: 'Update the active tenant (plan changes need an owner)',
      tags: ['tenants'],
      rest: { method: 'PATCH', path: '/tenants/current' },
    })
    .input(
      z.object({
        name: z.string().trim().min(1).max(200).optional(),
        settings: settingsSchema.optional(),
        plan: z.enum(PLANS).optional(),
      }),
    )
    .output(tenantOutput)
    .mutation(async ({ ctx, input }) => {
      if (input.plan !== undefined && ctx.principal.role !== 'owner') throw new AppError('FORBIDDEN');
      return withTenant(ctx.principal, async (tx) => {
        const live = and(eq(tenants.id, ctx.principal.tenantId), isNull(tenants.deletedAt));
        const [previous] = await tx.select(tenantColumns).from(tenants).where(live).for('update');
        const [row] = await tx
          .update(tenants)
          .set({ ...input, updatedAt: new Date() })
          .where(live)
          .returning(tenantColumns);
        if (!row || !previous) throw new AppError('NOT_FOUND');
        const fields = Object.keys(input) as (keyof typeof input & keyof typeof row)[];
        await recordAudit(tx, actorOf(ctx.principal, ctx), {
          action: 'tenant.updated',
          targetType: 'tenant',
          targetId: row.id,
          data: { fields },
          ...changeSummary(previous, row, fields),
        });
        await emitEvent(tx, actorOf(ctx.principal, ctx), 'tenant.updated', { id: row.id, fields: Object.keys(input) });
        return toTenantOutput(row);
      });
    }),

  switch: authedProcedure
    .meta({
      summary: 'Make one of your tenants the active one',
      tags: ['tenants'],
      rest: { method: 'POST', path: '/tenants/switch' },
    })
    .input(z.object({ tenantId: z.guid() }))
    .output(z.object({ activeTenantId: z.guid(), role: z.enum(['owner', 'admin', 'member']) }))
    .mutation(async ({ ctx, input }) => {
      const principal = await ctx.services.sessions.enterTenant(ctx.identity, input.tenantId);
      await ctx.services.sessions.setActiveTenant(ctx.session.sessionToken, principal.tenantId);
      return { activeTenantId: principal.tenantId, role: principal.role };
    }),

  delete: ownerProcedure
    .meta({
      summary: 'Delete the active tenant (soft delete; members lose access at once)',
      tags: ['tenants'],
      rest: { method: 'DELETE', path: '/tenants/current' },
    })
    .input(z.object({ confirmSlug: z.string() }))
    .output(z.object({ deleted: z.literal(true) }))
    .mutation(async ({ ctx, input }) => {
      const { principal, session } = memberOnly(ctx);
      await withTenant(principal, async (tx) => {
        const [row] = await tx
          .update(tenants)
          .set({ deletedAt: new Date(), updatedAt: new Date() })
          .where(and(eq(tenants.id, ctx.principal.tenantId), eq(tenants.slug, input.confirmSlug), isNull(tenants.deletedAt)))
          .returning({ id: tenants.id });
        if (!row)
          throw new AppError('VALIDATION_FAILED', undefined, [{ path: 'confirmSlug', message: 'does not match the tenant' }]);
        // Nobody can join a deleted tenant; its open invitations end with it.
        await tx
          .update(invitations)
          .set({ status: 'cancelled', respondedAt: new Date(), updatedAt: new Date() })
          .where(and(eq(invitations.tenantId, ctx.principal.tenantId), eq(invitations.status, 'pending')));
        // Its campaigns stop sending to its contacts; the delivery jobs also refuse a deleted tenant.
        await cancelStillSendingCampaigns(tx, actorOf(ctx.principal, ctx));
        await recordAudit(tx, actorOf(ctx.principal, ctx), {
          action: 'tenant.deleted',
          targetType: 'tenant',
          targetId: row.id,
        });
        await emitEvent(tx, actorOf(principal, ctx), 'tenant.deleted', { id: row.id });
      });
      await ctx.services.sessions.setActiveTenant(session.sessionToken, null);
      return { deleted: true as const };
    }),
});
