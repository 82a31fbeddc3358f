import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { AppError } from '../../../api/errors.ts';
import { adminProcedure, tenantProcedure } from '../../../api/procedures.ts';
import { actorOf, recordAudit } from '../../../audit/record.ts';
import { type TenantPrincipal, type Tx, withTenant } from '../../../db/tenant.ts';
import { type EventActor, emitEvent } from '../../../events/emit.ts';
import { detachConversations } from '../../ai/conversations/detach.ts';
import { detachActivities } from '../activities/model.ts';
import { applyCustomFields, type FieldDefinition, loadDefinitions } from '../custom-fields/validate.ts';
import { changedFields, idInput, mergedChanges, type TagChanges } from '../fields.ts';
import { leads } from '../leads/schema.ts';
import { assertReferences } from '../references.ts';
import { type ContactRow, contactColumns, contactFields, contactOutput, findContact, toContactOutput } from './model.ts';
import { contacts } from './schema.ts';

export const contactChanges = z.object({
  name: contactFields.name.optional(),
  email: contactFields.email.optional(),
  otherEmails: contactFields.otherEmails.optional(),
  phones: contactFields.phones.optional(),
  companyId: contactFields.companyId.optional(),
  title: contactFields.title.optional(),
  tags: contactFields.tags.optional(),
  /** Merged into the stored values; null removes one. */
  customFields: contactFields.customFields.optional(),
  ownerUserId: contactFields.ownerUserId.optional(),
  source: contactFields.source.optional(),
});

export type ContactChanges = z.infer<typeof contactChanges> & TagChanges;

/**
 * Applies changes to one live contact, locked, in the caller's transaction,
 * and emits contact.updated. References and custom field shapes are checked
 * by the caller; the merged custom fields (required ones) are checked here.
 */
export async function updateContact(
  tx: Tx,
  principal: TenantPrincipal,
  actor: EventActor,
  id: string,
  changes: ContactChanges,
  definitions: readonly FieldDefinition[],
): Promise<ContactRow> {
  const previous = await findContact(tx, principal, id, { lock: true });
  const [updated] = await tx
    .update(contacts)
    .set(mergedChanges(previous, changes, definitions))
    .where(and(eq(contacts.tenantId, principal.tenantId), eq(contacts.id, id)))
    .returning(contactColumns);
  if (!updated) throw new AppError('NOT_FOUND');
  await emitEvent(tx, actor, 'contact.updated', { id, fields: changedFields(changes) });
  return updated;
}

/** Soft-deletes one live contact and emits contact.deleted; NOT_FOUND if it is missing or deleted already. */
export async function softDeleteContact(tx: Tx, principal: TenantPrincipal, actor: EventActor, id: string): Promise<void> {
  await findContact(tx, principal, id, { lock: true });
  await tx
    .update(contacts)
    .set({ deletedAt: new Date(), updatedAt: new Date() })
    .where(and(eq(contacts.tenantId, principal.tenantId), eq(contacts.id, id)));
  await emitEvent(tx, actor, 'contact.deleted', { id });
}

const tags = ['crm'];

export const contactWrites = {
  create: tenantProcedure
    .meta({
      scope: 'crm:write',
      summary: 'Add a contact; its email is unique in the tenant, case-insensitively (409 otherwise)',
      tags,
      rest: { method: 'POST', path: '/crm/contacts', status: 201 },
    })
    .input(
      z.object({
        name: contactFields.name,
        email: contactFields.email.optional(),
        otherEmails: contactFields.otherEmails.default([]),
        phones: contactFields.phones.default([]),
        companyId: contactFields.companyId.optional(),
        title: contactFields.title.optional(),
        tags: contactFields.tags.default([]),
        customFields: contactFields.customFields.default({}),
        ownerUserId: contactFields.ownerUserId.optional(),
        source: contactFields.source.optional(),
      }),
    )
    .output(contactOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      const row = await withTenant(principal, async (tx) => {
        await assertReferences(tx, principal, input);
        const { values, issues } = applyCustomFields(await loadDefinitions(tx, principal, 'contacts'), {}, input.customFields);
        if (issues.length > 0) throw new AppError('VALIDATION_FAILED', undefined, issues);
        const [created] = await tx
          .insert(contacts)
          .values({
            tenantId: principal.tenantId,
            name: input.name,
            email: input.email ?? null,
            otherEmails: input.otherEmails,
            phones: input.phones,
            companyId: input.companyId ?? null,
            title: input.title ?? null,
            tags: input.tags,
            customFields: values,
            ownerUserId: input.ownerUserId ?? null,
            source: input.source ?? null,
          })
          .returning(contactColumns);
        if (!created) throw new AppError('INTERNAL');
        await emitEvent(tx, actorOf(principal, ctx), 'contact.created', {
          id: created.id,
          name: created.name,
          email: created.email,
          companyId: created.companyId,
        });
        return created;
      });
      return toContactOutput(row);
    }),

  update: tenantProcedure
    .meta({
      scope: 'crm:write',
      summary: 'Change a contact; customFields are merged (null removes a value)',
      tags,
      rest: { method: 'PATCH', path: '/crm/contacts/{id}' },
    })
    .input(idInput.extend(contactChanges.shape))
    .output(contactOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      const { id, ...changes } = input;
      const row = await withTenant(principal, async (tx) => {
        await findContact(tx, principal, id);
        await assertReferences(tx, principal, changes);
        const definitions = await loadDefinitions(tx, principal, 'contacts');
        return updateContact(tx, principal, actorOf(principal, ctx), id, changes, definitions);
      });
      return toContactOutput(row);
    }),

  delete: tenantProcedure
    .meta({
      scope: 'crm:write',
      summary: 'Delete a contact (soft: it can be restored, or purged by an admin)',
      tags,
      rest: { method: 'DELETE', path: '/crm/contacts/{id}' },
    })
    .input(idInput)
    .output(z.object({ deleted: z.literal(true) }))
    .mutation(async ({ ctx, input }) => {
      await withTenant(ctx.principal, (tx) => softDeleteContact(tx, ctx.principal, actorOf(ctx.principal, ctx), input.id));
      return { deleted: true as const };
    }),

  restore: tenantProcedure
    .meta({
      scope: 'crm:write',
      summary: 'Restore a deleted contact (409 if a live contact has taken its email meanwhile)',
      tags,
      rest: { method: 'POST', path: '/crm/contacts/{id}/restore' },
    })
    .input(idInput)
    .output(contactOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      const row = await withTenant(principal, async (tx) => {
        await findContact(tx, principal, input.id, { visibility: 'deleted', lock: true });
        const [restored] = await tx
          .update(contacts)
          .set({ deletedAt: null, updatedAt: new Date() })
          .where(and(eq(contacts.tenantId, principal.tenantId), eq(contacts.id, input.id)))
          .returning(contactColumns);
        if (!restored) throw new AppError('NOT_FOUND');
        await emitEvent(tx, actorOf(principal, ctx), 'contact.restored', { id: input.id });
        return restored;
      });
      return toContactOutput(row);
    }),

  purge: adminProcedure
    .meta({
      scope: 'crm:write',
      summary: 'Erase a deleted contact for good (admin); its leads stay, unlinked',
      tags,
      rest: { method: 'POST', path: '/crm/contacts/{id}/purge' },
    })
    .input(idInput)
    .output(z.object({ purged: z.literal(true) }))
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      await withTenant(principal, async (tx) => {
        // Only from the trash: a purge is never one click away from a live record.
        await findContact(tx, principal, input.id, { visibility: 'deleted', lock: true });
        await tx
          .update(leads)
          .set({ contactId: null, updatedAt: new Date() })
          .where(and(eq(leads.tenantId, principal.tenantId), eq(leads.contactId, input.id)));
        await detachActivities(tx, principal, 'contactId', input.id);
        await detachConversations(tx, principal.tenantId, { contactId: input.id });
        await tx.delete(contacts).where(and(eq(contacts.tenantId, principal.tenantId), eq(contacts.id, input.id)));
        // The record is gone, so the audit entry names it by id only.
        await recordAudit(tx, actorOf(principal, ctx), { action: 'contact.purged', targetType: 'contact', targetId: input.id });
        await emitEvent(tx, actorOf(principal, ctx), 'contact.purged', { id: input.id });
      });
      return { purged: true as const };
    }),
};
