import { z } from 'zod';
import { AppError } from '../../../api/errors.ts';
import { tenantProcedure } from '../../../api/procedures.ts';
import { actorOf, recordAudit } from '../../../audit/record.ts';
import { withTenant } from '../../../db/tenant.ts';
import { bulkIds, bulkOutput, eachItem } from '../bulk.ts';
import { applyCustomFields, loadDefinitions } from '../custom-fields/validate.ts';
import { tagsInput } from '../fields.ts';
import { assertReferences } from '../references.ts';
import { contactChanges, softDeleteContact, updateContact } from './write.ts';

/** What may be set on many contacts at once: nothing that identifies one person (name, email, phones). */
const bulkChanges = contactChanges
  .pick({ companyId: true, title: true, tags: true, customFields: true, ownerUserId: true, source: true })
  .extend({ addTags: tagsInput.optional(), removeTags: tagsInput.optional() })
  .refine((c) => Object.values(c).some((v) => v !== undefined), 'name at least one change');

const tags = ['crm'];

export const contactBulk = {
  bulkUpdate: tenantProcedure
    .meta({
      scope: 'crm:write',
      summary: 'Apply the same changes to up to 100 contacts; one result per id',
      tags,
      rest: { method: 'POST', path: '/crm/contacts/bulk-update' },
    })
    .input(z.object({ ids: bulkIds, changes: bulkChanges }))
    .output(bulkOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      const items = await withTenant(principal, async (tx) => {
        // What is the same for every item is checked once and fails the whole request.
        await assertReferences(tx, principal, input.changes);
        const definitions = await loadDefinitions(tx, principal, 'contacts');
        const shapes = applyCustomFields(
          definitions.map((d) => ({ ...d, required: false })),
          {},
          input.changes.customFields,
        );
        if (shapes.issues.length > 0) {
          throw new AppError(
            'VALIDATION_FAILED',
            undefined,
            shapes.issues.map((i) => ({ ...i, path: `changes.${i.path}` })),
          );
        }
        const actor = actorOf(principal, ctx);
        return eachItem(tx, input.ids, 'updated', async (id) => {
          await updateContact(tx, principal, actor, id, input.changes, definitions);
        });
      });
      return { items };
    }),

  bulkDelete: tenantProcedure
    .meta({
      scope: 'crm:write',
      summary: 'Delete (soft) up to 100 contacts; one result per id',
      tags,
      rest: { method: 'POST', path: '/crm/contacts/bulk-delete' },
    })
    .input(z.object({ ids: bulkIds }))
    .output(bulkOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      const items = await withTenant(principal, async (tx) => {
        const actor = actorOf(principal, ctx);
        const results = await eachItem(tx, input.ids, 'deleted', (id) => softDeleteContact(tx, principal, actor, id));
        const deleted = results.filter((r) => r.status === 'deleted').map((r) => r.id);
        if (deleted.length > 0) {
          await recordAudit(tx, actor, {
            action: 'contact.bulk_deleted',
            targetType: 'contact',
            data: { ids: deleted, count: deleted.length },
          });
        }
        return results;
      });
      return { items };
    }),
};
