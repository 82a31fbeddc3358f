import { and, arrayContains, eq, isNotNull, isNull, or } from 'drizzle-orm';
import { z } from 'zod';
import { keyset, listInput, page, pageOf, queryBoolean } from '../../../api/pagination.ts';
import { tenantProcedure } from '../../../api/procedures.ts';
import { withTenant } from '../../../db/tenant.ts';
import { ACTIVITY_SORT, activityOutput, activityPage, timelineFilter } from '../activities/model.ts';
import { deletedFilter, idInput, matchesText, startsWith } from '../fields.ts';
import { contactColumns, contactOutput, findContact, toContactOutput } from './model.ts';
import { contactSearchDocument, contacts } from './schema.ts';

export const CONTACT_SORT = ['name', 'createdAt', 'updatedAt'] as const;
const sortColumns = { name: contacts.name, createdAt: contacts.createdAt, updatedAt: contacts.updatedAt };

/** Filters shared by the list and the CSV export. */
export const contactFilters = z.object({
  q: z.string().trim().min(1).max(200).optional(),
  prefix: z.string().trim().min(1).max(100).optional(),
  tag: z.string().trim().min(1).max(50).optional(),
  email: z.string().trim().min(1).max(320).optional(),
  companyId: z.guid().optional(),
  ownerUserId: z.guid().optional(),
  source: z.string().trim().min(1).max(100).optional(),
  deleted: deletedFilter,
});

export type ContactFilters = z.infer<typeof contactFilters>;

/** The WHERE of a contact search. Every value is a bound parameter; only the columns are ours. */
export function contactWhere(tenantId: string, filters: ContactFilters) {
  return and(
    eq(contacts.tenantId, tenantId),
    filters.deleted === 'exclude'
      ? isNull(contacts.deletedAt)
      : filters.deleted === 'only'
        ? isNotNull(contacts.deletedAt)
        : undefined,
    filters.q ? matchesText(contactSearchDocument(contacts), filters.q) : undefined,
    filters.prefix ? or(startsWith(contacts.nameKey, filters.prefix), startsWith(contacts.emailKey, filters.prefix)) : undefined,
    filters.tag ? arrayContains(contacts.tags, [filters.tag]) : undefined,
    filters.email ? eq(contacts.emailKey, filters.email.toLowerCase()) : undefined,
    filters.companyId ? eq(contacts.companyId, filters.companyId) : undefined,
    filters.ownerUserId ? eq(contacts.ownerUserId, filters.ownerUserId) : undefined,
    filters.source ? eq(contacts.source, filters.source) : undefined,
  );
}

const tags = ['crm'];

export const contactReads = {
  list: tenantProcedure
    .meta({
      scope: 'crm:read',
      summary:
        'Contacts: full-text search (q, every word as a prefix), prefix search on name or email, filters, sorting, cursor pages; deleted contacts only when asked',
      tags,
      rest: { method: 'GET', path: '/crm/contacts' },
    })
    .input(listInput(CONTACT_SORT, 'name').extend(contactFilters.shape))
    .output(pageOf(contactOutput))
    .query(async ({ ctx, input }) => {
      const { where, orderBy, limit } = keyset(input, sortColumns, contacts.id);
      const rows = await withTenant(ctx.principal, (tx) =>
        tx
          .select(contactColumns)
          .from(contacts)
          .where(and(contactWhere(ctx.principal.tenantId, input), where))
          .orderBy(...orderBy)
          .limit(limit),
      );
      const result = page(rows, input, (row, field) => [row[field as (typeof CONTACT_SORT)[number]], row.id]);
      return { items: result.items.map(toContactOutput), nextCursor: result.nextCursor };
    }),

  get: tenantProcedure
    .meta({
      scope: 'crm:read',
      summary: 'One contact; a deleted one only with includeDeleted=true',
      tags,
      rest: { method: 'GET', path: '/crm/contacts/{id}' },
    })
    .input(idInput.extend({ includeDeleted: queryBoolean.default(false) }))
    .output(contactOutput)
    .query(async ({ ctx, input }) =>
      toContactOutput(
        await withTenant(ctx.principal, (tx) =>
          findContact(tx, ctx.principal, input.id, { visibility: input.includeDeleted ? 'any' : 'live' }),
        ),
      ),
    ),

  timeline: tenantProcedure
    .meta({
      scope: 'crm:read',
      summary: "A contact's timeline: its activities and those of its leads, newest first",
      tags,
      rest: { method: 'GET', path: '/crm/contacts/{id}/timeline' },
    })
    .input(listInput(ACTIVITY_SORT, '-createdAt').extend({ id: z.guid() }))
    .output(pageOf(activityOutput))
    .query(({ ctx, input }) =>
      withTenant(ctx.principal, async (tx) => {
        await findContact(tx, ctx.principal, input.id);
        return activityPage(tx, ctx.principal, timelineFilter(tx, ctx.principal, { contactId: input.id }), input);
      }),
    ),
};
