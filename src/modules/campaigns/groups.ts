import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { AppError } from '../../api/errors.ts';
import { keyset, listInput, page, pageOf } from '../../api/pagination.ts';
import { router, tenantProcedure } from '../../api/procedures.ts';
import { actorOf, recordAudit } from '../../audit/record.ts';
import { type Tx, withTenant } from '../../db/tenant.ts';
import { emitEvent } from '../../events/emit.ts';
import { contacts } from '../crm/contacts/schema.ts';
import { contactGroups, groupMembers } from './schema.ts';
import { idInput, notFoundUnless, READ, tags, WRITE } from './shared.ts';

const memberCount = sql<number>`(select count(*)::int from ${groupMembers} m where m.tenant_id = ${contactGroups.tenantId} and m.group_id = ${contactGroups.id})`;

const groupColumns = {
  id: contactGroups.id,
  name: contactGroups.name,
  description: contactGroups.description,
  memberCount,
  createdAt: contactGroups.createdAt,
  updatedAt: contactGroups.updatedAt,
};

const groupOutput = z.object({
  id: z.guid(),
  name: z.string(),
  description: z.string().nullable(),
  memberCount: z.number().int(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

type GroupRow = { id: string; name: string; description: string | null; memberCount: number; createdAt: Date; updatedAt: Date };
const toGroupOutput = (row: GroupRow) => ({
  ...row,
  memberCount: Number(row.memberCount),
  createdAt: row.createdAt.toISOString(),
  updatedAt: row.updatedAt.toISOString(),
});

export async function findGroup(tx: Tx, tenantId: string, id: string): Promise<GroupRow> {
  const [row] = await tx
    .select(groupColumns)
    .from(contactGroups)
    .where(and(eq(contactGroups.tenantId, tenantId), eq(contactGroups.id, id)));
  return notFoundUnless(row);
}

const groupFields = z.object({
  name: z.string().trim().min(1).max(200),
  description: z.string().trim().max(2000).nullable().optional(),
});

const membersInput = idInput.extend({ contactIds: z.array(z.guid()).min(1).max(1000) });
const membersOutput = z.object({ changed: z.number().int(), memberCount: z.number().int() });

export const groupsRouter = router({
  list: tenantProcedure
    .meta({ summary: 'Contact groups', tags, scope: READ, rest: { method: 'GET', path: '/campaigns/groups' } })
    .input(listInput(['createdAt', 'name']))
    .output(pageOf(groupOutput))
    .query(async ({ ctx, input }) => {
      const { where, orderBy, limit } = keyset(
        input,
        { createdAt: contactGroups.createdAt, name: contactGroups.name },
        contactGroups.id,
      );
      const rows = await withTenant(ctx.principal, (tx) =>
        tx
          .select(groupColumns)
          .from(contactGroups)
          .where(and(eq(contactGroups.tenantId, ctx.principal.tenantId), where))
          .orderBy(...orderBy)
          .limit(limit),
      );
      const result = page(rows, input, (row, field) => [row[field as 'createdAt' | 'name'], row.id]);
      return { items: result.items.map(toGroupOutput), nextCursor: result.nextCursor };
    }),

  get: tenantProcedure
    .meta({
      summary: 'One contact group with its member count',
      tags,
      scope: READ,
      rest: { method: 'GET', path: '/campaigns/groups/{id}' },
    })
    .input(idInput)
    .output(groupOutput)
    .query(async ({ ctx, input }) =>
      toGroupOutput(await withTenant(ctx.principal, (tx) => findGroup(tx, ctx.principal.tenantId, input.id))),
    ),

  create: tenantProcedure
    .meta({
      summary: 'Create a contact group',
      tags,
      scope: WRITE,
      rest: { method: 'POST', path: '/campaigns/groups', status: 201 },
    })
    .input(groupFields)
    .output(groupOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      const row = await withTenant(principal, async (tx) => {
        const [created] = await tx
          .insert(contactGroups)
          .values({ tenantId: principal.tenantId, name: input.name, description: input.description ?? null })
          .returning({ id: contactGroups.id });
        const group = await findGroup(tx, principal.tenantId, notFoundUnless(created).id);
        await emitEvent(tx, actorOf(principal, ctx), 'campaign_group.created', { id: group.id, name: group.name });
        return group;
      });
      return toGroupOutput(row);
    }),

  update: tenantProcedure
    .meta({
      summary: 'Rename or describe a contact group',
      tags,
      scope: WRITE,
      rest: { method: 'PATCH', path: '/campaigns/groups/{id}' },
    })
    .input(idInput.extend(groupFields.partial().shape))
    .output(groupOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      const row = await withTenant(principal, async (tx) => {
        await findGroup(tx, principal.tenantId, input.id);
        await tx
          .update(contactGroups)
          .set({
            ...(input.name === undefined ? {} : { name: input.name }),
            ...(input.description === undefined ? {} : { description: input.description }),
            updatedAt: sql`now()`,
          })
          .where(and(eq(contactGroups.tenantId, principal.tenantId), eq(contactGroups.id, input.id)));
        const group = await findGroup(tx, principal.tenantId, input.id);
        await emitEvent(tx, actorOf(principal, ctx), 'campaign_group.updated', { id: group.id, name: group.name });
        return group;
      });
      return toGroupOutput(row);
    }),

  delete: tenantProcedure
    .meta({
      summary: 'Delete a contact group (its contacts stay)',
      tags,
      scope: WRITE,
      rest: { method: 'DELETE', path: '/campaigns/groups/{id}' },
    })
    .input(idInput)
    .output(groupOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      const row = await withTenant(principal, async (tx) => {
        const group = await findGroup(tx, principal.tenantId, input.id);
        await tx.delete(contactGroups).where(and(eq(contactGroups.tenantId, principal.tenantId), eq(contactGroups.id, input.id)));
        await recordAudit(tx, actorOf(principal, ctx), {
          action: 'campaign_group.deleted',
          targetType: 'campaign_group',
          targetId: group.id,
          before: { name: group.name, memberCount: Number(group.memberCount) },
        });
        await emitEvent(tx, actorOf(principal, ctx), 'campaign_group.deleted', { id: group.id });
        return group;
      });
      return toGroupOutput(row);
    }),

  addMembers: tenantProcedure
    .meta({
      summary: "Add contacts to a group (already present or deleted contacts are skipped; another tenant's are refused)",
      tags,
      scope: WRITE,
      rest: { method: 'POST', path: '/campaigns/groups/{id}/members' },
    })
    .input(membersInput)
    .output(membersOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      return withTenant(principal, async (tx) => {
        await findGroup(tx, principal.tenantId, input.id);
        const ids = [...new Set(input.contactIds)];
        const found = await tx
          .select({ id: contacts.id })
          .from(contacts)
          .where(and(eq(contacts.tenantId, principal.tenantId), inArray(contacts.id, ids), isNull(contacts.deletedAt)));
        if (found.length !== ids.length) throw new AppError('UNPROCESSABLE');
        const added = await tx
          .insert(groupMembers)
          .values(ids.map((contactId) => ({ tenantId: principal.tenantId, groupId: input.id, contactId })))
          .onConflictDoNothing()
          .returning({ contactId: groupMembers.contactId });
        await tx
          .update(contactGroups)
          .set({ updatedAt: sql`now()` })
          .where(and(eq(contactGroups.tenantId, principal.tenantId), eq(contactGroups.id, input.id)));
        const group = await findGroup(tx, principal.tenantId, input.id);
        await emitEvent(tx, actorOf(principal, ctx), 'campaign_group.members_added', { id: input.id, count: added.length });
        return { changed: added.length, memberCount: Number(group.memberCount) };
      });
    }),

  removeMembers: tenantProcedure
    .meta({
      summary: 'Remove contacts from a group',
      tags,
      scope: WRITE,
      rest: { method: 'POST', path: '/campaigns/groups/{id}/members/remove' },
    })
    .input(membersInput)
    .output(membersOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      return withTenant(principal, async (tx) => {
        await findGroup(tx, principal.tenantId, input.id);
        const removed = await tx
          .delete(groupMembers)
          .where(
            and(
              eq(groupMembers.tenantId, principal.tenantId),
              eq(groupMembers.groupId, input.id),
              inArray(groupMembers.contactId, [...new Set(input.contactIds)]),
            ),
          )
          .returning({ contactId: groupMembers.contactId });
        await tx
          .update(contactGroups)
          .set({ updatedAt: sql`now()` })
          .where(and(eq(contactGroups.tenantId, principal.tenantId), eq(contactGroups.id, input.id)));
        const group = await findGroup(tx, principal.tenantId, input.id);
        await emitEvent(tx, actorOf(principal, ctx), 'campaign_group.members_removed', { id: input.id, count: removed.length });
        return { changed: removed.length, memberCount: Number(group.memberCount) };
      });
    }),
});
