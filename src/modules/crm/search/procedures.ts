import { asc } from 'drizzle-orm';
import { z } from 'zod';
import { AppError } from '../../../api/errors.ts';
import { router, tenantProcedure } from '../../../api/procedures.ts';
import { withTenant } from '../../../db/tenant.ts';
import { companyWhere } from '../companies/model.ts';
import { companies } from '../companies/schema.ts';
import { contactWhere } from '../contacts/read.ts';
import { contacts } from '../contacts/schema.ts';

const resultOutput = z.object({
  type: z.enum(['contact', 'company']),
  id: z.guid(),
  name: z.string(),
  email: z.string().nullable(),
  domain: z.string().nullable(),
});

export const searchRouter = router({
  search: tenantProcedure
    .meta({
      scope: 'crm:read',
      summary:
        'Search contacts and companies at once: q is full text (every word as a prefix), prefix matches the start of a name, email or domain; up to limit of each, by name',
      tags: ['crm'],
      rest: { method: 'GET', path: '/crm/search' },
    })
    .input(
      z.object({
        q: z.string().trim().min(1).max(200).optional(),
        prefix: z.string().trim().min(1).max(100).optional(),
        types: z.enum(['contacts', 'companies', 'all']).default('all'),
        limit: z.coerce.number().int().min(1).max(50).default(10),
      }),
    )
    .output(z.object({ items: z.array(resultOutput) }))
    .query(async ({ ctx, input }) => {
      if (!input.q && !input.prefix) {
        throw new AppError('VALIDATION_FAILED', undefined, [{ path: 'q', message: 'give q or prefix' }]);
      }
      const { principal } = ctx;
      return withTenant(principal, async (tx) => {
        const found: z.infer<typeof resultOutput>[] = [];
        if (input.types !== 'companies') {
          const rows = await tx
            .select({ id: contacts.id, name: contacts.name, email: contacts.email })
            .from(contacts)
            .where(contactWhere(principal.tenantId, { q: input.q, prefix: input.prefix, deleted: 'exclude' }))
            .orderBy(asc(contacts.name), asc(contacts.id))
            .limit(input.limit);
          found.push(...rows.map((r) => ({ type: 'contact' as const, ...r, domain: null })));
        }
        if (input.types !== 'contacts') {
          const rows = await tx
            .select({ id: companies.id, name: companies.name, domain: companies.domain })
            .from(companies)
            .where(companyWhere(principal.tenantId, { q: input.q, prefix: input.prefix }))
            .orderBy(asc(companies.name), asc(companies.id))
            .limit(input.limit);
          found.push(...rows.map((r) => ({ type: 'company' as const, ...r, email: null })));
        }
        return { items: found };
      });
    }),
});
