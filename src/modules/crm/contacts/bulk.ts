import { bulkDefinitions, bulkDeleteProcedure, bulkUpdateProcedure, tagChanges } from '../bulk.ts';
import { assertReferences } from '../references.ts';
import { contactChanges, softDeleteContact, updateContact } from './write.ts';

export const contactBulk = {
  bulkUpdate: bulkUpdateProcedure('contact', {
    summary: 'Apply the same changes to up to 100 contacts; one result per id',
    // Nothing that identifies one person (name, email, phones).
    changes: contactChanges
      .pick({ companyId: true, title: true, tags: true, customFields: true, ownerUserId: true, source: true })
      .extend(tagChanges),
    async check(tx, principal, changes) {
      await assertReferences(tx, principal, changes);
      return bulkDefinitions(tx, principal, 'contacts', changes.customFields);
    },
    updateOne: updateContact,
  }),

  bulkDelete: bulkDeleteProcedure('contact', {
    summary: 'Delete (soft) up to 100 contacts; one result per id',
    deleteOne: softDeleteContact,
  }),
};
