import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { AppError } from '../../../api/errors.ts';
import { listInput, pageOf, queryBoolean } from '../../../api/pagination.ts';
import { router, tenantProcedure } from '../../../api/procedures.ts';
import { actorOf } from '../../../audit/record.ts';
import { type TenantPrincipal, type Tx, withTenant } from '../../../db/tenant.ts';
import { emitEvent } from '../../../events/emit.ts';
import { idInput } from '../fields.ts';
import { assertReferences } from '../references.ts';
import { ACTIVITY_SORT, type ActivityRow, activityColumns, activityOutput, activityPage, toActivityOutput } from './model.ts';
import { ACTIVITY_TYPES, activities } from './schema.ts';

async function findActivity(tx: Tx, principal: TenantPrincipal, id: string): Promise<ActivityRow> {
  const [row] = await tx
    .select(activityColumns)
    .from(activities)
    .where(and(eq(activities.tenantId, principal.tenantId), eq(activities.id, id)));
  if (!row) throw new AppError('NOT_FOUND');
  return row;
}

const links = {
  contactId: z.guid().nullable().optional(),
  companyId: z.guid().nullable().optional(),
  leadId: z.guid().nullable().optional(),
};

const noLink = { path: 'contactId', message: 'link the activity to a contact, company or lead' };

const tags = ['crm'];

export const activitiesRouter = router({
  list: tenantProcedure
    .meta({
      scope: 'crm:read',
      summary: 'Activities, filtered by type, state or the record they are linked to',
      tags,
      rest: { method: 'GET', path: '/crm/activities' },
    })
    .input(
      listInput(ACTIVITY_SORT, '-createdAt').extend({
        type: z.enum(ACTIVITY_TYPES).optional(),
        done: queryBoolean.optional(),
        contactId: z.guid().optional(),
        companyId: z.guid().optional(),
        leadId: z.guid().optional(),
      }),
    )
    .output(pageOf(activityOutput))
    .query(({ ctx, input }) =>
      withTenant(ctx.principal, (tx) =>
        activityPage(
          tx,
          ctx.principal,
          and(
            input.type ? eq(activities.type, input.type) : undefined,
            input.done === undefined ? undefined : eq(activities.done, input.done),
            input.contactId ? eq(activities.contactId, input.contactId) : undefined,
            input.companyId ? eq(activities.companyId, input.companyId) : undefined,
            input.leadId ? eq(activities.leadId, input.leadId) : undefined,
          ),
          input,
        ),
      ),
    ),

  get: tenantProcedure
    .meta({ scope: 'crm:read', summary: 'One activity', tags, rest: { method: 'GET', path: '/crm/activities/{id}' } })
    .input(idInput)
    .output(activityOutput)
    .query(async ({ ctx, input }) =>
      toActivityOutput(await withTenant(ctx.principal, (tx) => findActivity(tx, ctx.principal, input.id))),
    ),

  create: tenantProcedure
    .meta({
      scope: 'crm:write',
      summary: 'Record a note, call, email, meeting or task on a contact, company or lead',
      tags,
      rest: { method: 'POST', path: '/crm/activities', status: 201 },
    })
    .input(
      z.object({
        type: z.enum(ACTIVITY_TYPES),
        subject: z.string().trim().min(1).max(300),
        body: z.string().max(50_000).default(''),
        dueAt: z.iso.datetime({ offset: true }).nullable().optional(),
        done: z.boolean().default(false),
        ...links,
      }),
    )
    .output(activityOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      if (!input.contactId && !input.companyId && !input.leadId) throw new AppError('VALIDATION_FAILED', undefined, [noLink]);
      const row = await withTenant(principal, async (tx) => {
        await assertReferences(tx, principal, input);
        const [created] = await tx
          .insert(activities)
          .values({
            tenantId: principal.tenantId,
            type: input.type,
            subject: input.subject,
            body: input.body,
            dueAt: input.dueAt ? new Date(input.dueAt) : null,
            done: input.done,
            authorUserId: principal.kind === 'member' ? principal.userId : null,
            authorApiKeyId: principal.kind === 'apiKey' ? principal.apiKeyId : null,
            contactId: input.contactId ?? null,
            companyId: input.companyId ?? null,
            leadId: input.leadId ?? null,
          })
          .returning(activityColumns);
        if (!created) throw new AppError('INTERNAL');
        await emitEvent(tx, actorOf(principal, ctx), 'activity.created', {
          id: created.id,
          type: created.type,
          contactId: created.contactId,
          companyId: created.companyId,
          leadId: created.leadId,
        });
        return created;
      });
      return toActivityOutput(row);
    }),

  update: tenantProcedure
    .meta({ scope: 'crm:write', summary: 'Change an activity', tags, rest: { method: 'PATCH', path: '/crm/activities/{id}' } })
    .input(
      idInput.extend({
        type: z.enum(ACTIVITY_TYPES).optional(),
        subject: z.string().trim().min(1).max(300).optional(),
        body: z.string().max(50_000).optional(),
        dueAt: z.iso.datetime({ offset: true }).nullable().optional(),
        done: z.boolean().optional(),
        ...links,
      }),
    )
    .output(activityOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      const { id, dueAt, ...changes } = input;
      const row = await withTenant(principal, async (tx) => {
        const previous = await findActivity(tx, principal, id);
        const linked = { ...previous, ...changes };
        if (!linked.contactId && !linked.companyId && !linked.leadId)
          throw new AppError('VALIDATION_FAILED', undefined, [noLink]);
        await assertReferences(tx, principal, changes);
        const [updated] = await tx
          .update(activities)
          .set({
            ...changes,
            ...(dueAt === undefined ? {} : { dueAt: dueAt === null ? null : new Date(dueAt) }),
            updatedAt: new Date(),
          })
          .where(and(eq(activities.tenantId, principal.tenantId), eq(activities.id, id)))
          .returning(activityColumns);
        if (!updated) throw new AppError('NOT_FOUND');
        const fields = Object.keys(input).filter((k) => k !== 'id');
        await emitEvent(tx, actorOf(principal, ctx), 'activity.updated', { id, fields });
        return updated;
      });
      return toActivityOutput(row);
    }),

  delete: tenantProcedure
    .meta({ scope: 'crm:write', summary: 'Remove an activity', tags, rest: { method: 'DELETE', path: '/crm/activities/{id}' } })
    .input(idInput)
    .output(z.object({ deleted: z.literal(true) }))
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      await withTenant(principal, async (tx) => {
        const [deleted] = await tx
          .delete(activities)
          .where(and(eq(activities.tenantId, principal.tenantId), eq(activities.id, input.id)))
          .returning({ id: activities.id });
        if (!deleted) throw new AppError('NOT_FOUND');
        await emitEvent(tx, actorOf(principal, ctx), 'activity.deleted', { id: input.id });
      });
      return { deleted: true as const };
    }),
});
