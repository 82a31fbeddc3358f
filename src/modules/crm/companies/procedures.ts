import { and } from 'drizzle-orm';
import { z } from 'zod';
import { AppError } from '../../../api/errors.ts';
import { keyset, listInput, page, pageOf } from '../../../api/pagination.ts';
import { router, tenantProcedure } from '../../../api/procedures.ts';
import { actorOf } from '../../../audit/record.ts';
import { withTenant } from '../../../db/tenant.ts';
import { emitEvent } from '../../../events/emit.ts';
import { ACTIVITY_SORT, activityOutput, activityPage, timelineFilter } from '../activities/model.ts';
import { bulkDefinitions, bulkDeleteProcedure, bulkUpdateProcedure, tagChanges } from '../bulk.ts';
import { applyCustomFields, loadDefinitions } from '../custom-fields/validate.ts';
import { idInput } from '../fields.ts';
import {
  companyColumns,
  companyFields,
  companyFilters,
  companyOutput,
  companyWhere,
  findCompany,
  toCompanyOutput,
} from './model.ts';
import { companies } from './schema.ts';
import { companyChanges, deleteCompany, updateCompany } from './write.ts';

const COMPANY_SORT = ['name', 'createdAt', 'updatedAt'] as const;
const sortColumns = { name: companies.name, createdAt: companies.createdAt, updatedAt: companies.updatedAt };

const tags = ['crm'];

export const companiesRouter = router({
  list: tenantProcedure
    .meta({
      scope: 'crm:read',
      summary: 'Companies: full-text search (q), prefix search on name or domain, filters, sorting, cursor pages',
      tags,
      rest: { method: 'GET', path: '/crm/companies' },
    })
    .input(listInput(COMPANY_SORT, 'name').extend(companyFilters.shape))
    .output(pageOf(companyOutput))
    .query(async ({ ctx, input }) => {
      const { where, orderBy, limit } = keyset(input, sortColumns, companies.id);
      const rows = await withTenant(ctx.principal, (tx) =>
        tx
          .select(companyColumns)
          .from(companies)
          .where(and(companyWhere(ctx.principal.tenantId, input), where))
          .orderBy(...orderBy)
          .limit(limit),
      );
      const result = page(rows, input, (row, field) => [row[field as (typeof COMPANY_SORT)[number]], row.id]);
      return { items: result.items.map(toCompanyOutput), nextCursor: result.nextCursor };
    }),

  get: tenantProcedure
    .meta({ scope: 'crm:read', summary: 'One company', tags, rest: { method: 'GET', path: '/crm/companies/{id}' } })
    .input(idInput)
    .output(companyOutput)
    .query(async ({ ctx, input }) =>
      toCompanyOutput(await withTenant(ctx.principal, (tx) => findCompany(tx, ctx.principal, input.id))),
    ),

  create: tenantProcedure
    .meta({
      scope: 'crm:write',
      summary: 'Add a company; its domain is unique in the tenant (409 otherwise)',
      tags,
      rest: { method: 'POST', path: '/crm/companies', status: 201 },
    })
    .input(
      z.object({
        name: companyFields.name,
        domain: companyFields.domain.optional(),
        industry: companyFields.industry.optional(),
        size: companyFields.size.optional(),
        address: companyFields.address.optional(),
        tags: companyFields.tags.default([]),
        customFields: companyFields.customFields.default({}),
      }),
    )
    .output(companyOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      const row = await withTenant(principal, async (tx) => {
        const { values, issues } = applyCustomFields(await loadDefinitions(tx, principal, 'companies'), {}, input.customFields);
        if (issues.length > 0) throw new AppError('VALIDATION_FAILED', undefined, issues);
        const [created] = await tx
          .insert(companies)
          .values({
            tenantId: principal.tenantId,
            name: input.name,
            domain: input.domain ?? null,
            industry: input.industry ?? null,
            size: input.size ?? null,
            address: input.address ?? null,
            tags: input.tags,
            customFields: values,
          })
          .returning(companyColumns);
        if (!created) throw new AppError('INTERNAL');
        await emitEvent(tx, actorOf(principal, ctx), 'company.created', {
          id: created.id,
          name: created.name,
          domain: created.domain,
        });
        return created;
      });
      return toCompanyOutput(row);
    }),

  update: tenantProcedure
    .meta({
      scope: 'crm:write',
      summary: 'Change a company; customFields are merged (null removes a value)',
      tags,
      rest: { method: 'PATCH', path: '/crm/companies/{id}' },
    })
    .input(idInput.extend(companyChanges.shape))
    .output(companyOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      const { id, ...changes } = input;
      const row = await withTenant(principal, async (tx) => {
        const definitions = await loadDefinitions(tx, principal, 'companies');
        return updateCompany(tx, principal, actorOf(principal, ctx), id, changes, definitions);
      });
      return toCompanyOutput(row);
    }),

  delete: tenantProcedure
    .meta({
      scope: 'crm:write',
      summary: 'Remove a company: its contacts and leads stay, unlinked; activities linked only to it go with it',
      tags,
      rest: { method: 'DELETE', path: '/crm/companies/{id}' },
    })
    .input(idInput)
    .output(z.object({ deleted: z.literal(true) }))
    .mutation(async ({ ctx, input }) => {
      await withTenant(ctx.principal, (tx) => deleteCompany(tx, ctx.principal, actorOf(ctx.principal, ctx), input.id));
      return { deleted: true as const };
    }),

  bulkUpdate: bulkUpdateProcedure('company', {
    summary: 'Apply the same changes to up to 100 companies; one result per id',
    // Nothing that identifies one company (name, domain) or is its own (address).
    changes: companyChanges.pick({ industry: true, size: true, tags: true, customFields: true }).extend(tagChanges),
    check: (tx, principal, changes) => bulkDefinitions(tx, principal, 'companies', changes.customFields),
    updateOne: updateCompany,
  }),

  bulkDelete: bulkDeleteProcedure('company', {
    summary: 'Remove up to 100 companies (their contacts and leads stay, unlinked); one result per id',
    deleteOne: deleteCompany,
  }),

  timeline: tenantProcedure
    .meta({
      scope: 'crm:read',
      summary: "A company's timeline: its activities and those of its contacts and leads, newest first",
      tags,
      rest: { method: 'GET', path: '/crm/companies/{id}/timeline' },
    })
    .input(listInput(ACTIVITY_SORT, '-createdAt').extend({ id: z.guid() }))
    .output(pageOf(activityOutput))
    .query(({ ctx, input }) =>
      withTenant(ctx.principal, async (tx) => {
        await findCompany(tx, ctx.principal, input.id);
        return activityPage(tx, ctx.principal, timelineFilter(tx, ctx.principal, { companyId: input.id }), input);
      }),
    ),
});
