import { and, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { keyset, listInput, page, pageOf } from '../../api/pagination.ts';
import { router, tenantProcedure } from '../../api/procedures.ts';
import { actorOf } from '../../audit/record.ts';
import { publicUrl } from '../../config.ts';
import { type Tx, withTenant } from '../../db/tenant.ts';
import { emitEvent } from '../../events/emit.ts';
import { companies } from '../crm/companies/schema.ts';
import { contacts } from '../crm/contacts/schema.ts';
import { previewUnsubscribeUrl, render, TEMPLATE_VARIABLES, unknownVariables, variablesOf } from './render.ts';
import { CHANNELS, templates } from './schema.ts';
import { idInput, invalid, notFoundUnless, READ, tags, WRITE } from './shared.ts';

const templateOutput = z.object({
  id: z.guid(),
  name: z.string(),
  channel: z.enum(CHANNELS),
  subject: z.string().nullable(),
  body: z.string(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

type TemplateRow = typeof templates.$inferSelect;
const toTemplateOutput = (row: TemplateRow) => ({
  id: row.id,
  name: row.name,
  channel: row.channel,
  subject: row.subject,
  body: row.body,
  createdAt: row.createdAt.toISOString(),
  updatedAt: row.updatedAt.toISOString(),
});

export async function findTemplate(tx: Tx, tenantId: string, id: string): Promise<TemplateRow> {
  const [row] = await tx
    .select()
    .from(templates)
    .where(and(eq(templates.tenantId, tenantId), eq(templates.id, id)));
  return notFoundUnless(row);
}

const templateFields = z.object({
  name: z.string().trim().min(1).max(200),
  channel: z.enum(CHANNELS),
  subject: z.string().trim().max(500).nullable().optional(),
  body: z.string().min(1).max(100_000),
});

/** Refuses unknown `{{variables}}` with the offending names, and an email without a subject. */
function checkTemplate(fields: { channel: string; subject?: string | null | undefined; body: string }): void {
  for (const [path, text] of [
    ['body', fields.body],
    ['subject', fields.subject ?? ''],
  ] as const) {
    const unknown = unknownVariables(text);
    if (unknown.length > 0) {
      throw invalid(path, `unknown variables: ${unknown.join(', ')}; allowed: ${TEMPLATE_VARIABLES.join(', ')}`);
    }
  }
  if (fields.channel === 'email' && !fields.subject) throw invalid('subject', 'an email template needs a subject');
}

export const templatesRouter = router({
  list: tenantProcedure
    .meta({ summary: 'Message templates', tags, scope: READ, rest: { method: 'GET', path: '/campaigns/templates' } })
    .input(listInput(['createdAt', 'name']))
    .output(pageOf(templateOutput))
    .query(async ({ ctx, input }) => {
      const { where, orderBy, limit } = keyset(input, { createdAt: templates.createdAt, name: templates.name }, templates.id);
      const rows = await withTenant(ctx.principal, (tx) =>
        tx
          .select()
          .from(templates)
          .where(and(eq(templates.tenantId, ctx.principal.tenantId), where))
          .orderBy(...orderBy)
          .limit(limit),
      );
      const result = page(rows, input, (row, field) => [row[field as 'createdAt' | 'name'], row.id]);
      return { items: result.items.map(toTemplateOutput), nextCursor: result.nextCursor };
    }),

  get: tenantProcedure
    .meta({ summary: 'One message template', tags, scope: READ, rest: { method: 'GET', path: '/campaigns/templates/{id}' } })
    .input(idInput)
    .output(templateOutput)
    .query(async ({ ctx, input }) =>
      toTemplateOutput(await withTenant(ctx.principal, (tx) => findTemplate(tx, ctx.principal.tenantId, input.id))),
    ),

  create: tenantProcedure
    .meta({
      summary: 'Create a message template; unknown {{variables}} are refused',
      tags,
      scope: WRITE,
      rest: { method: 'POST', path: '/campaigns/templates', status: 201 },
    })
    .input(templateFields)
    .output(templateOutput)
    .mutation(async ({ ctx, input }) => {
      checkTemplate(input);
      const { principal } = ctx;
      const row = await withTenant(principal, async (tx) => {
        const [created] = await tx
          .insert(templates)
          .values({ tenantId: principal.tenantId, ...input, subject: input.subject ?? null })
          .returning();
        const template = notFoundUnless(created);
        await emitEvent(tx, actorOf(principal, ctx), 'campaign_template.created', { id: template.id, name: template.name });
        return template;
      });
      return toTemplateOutput(row);
    }),

  update: tenantProcedure
    .meta({
      summary: 'Change a message template',
      tags,
      scope: WRITE,
      rest: { method: 'PATCH', path: '/campaigns/templates/{id}' },
    })
    .input(idInput.extend(templateFields.partial().shape))
    .output(templateOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      const row = await withTenant(principal, async (tx) => {
        const existing = await findTemplate(tx, principal.tenantId, input.id);
        const next = {
          name: input.name ?? existing.name,
          channel: input.channel ?? existing.channel,
          subject: input.subject === undefined ? existing.subject : input.subject,
          body: input.body ?? existing.body,
        };
        checkTemplate(next);
        const [updated] = await tx
          .update(templates)
          .set({ ...next, updatedAt: sql`now()` })
          .where(and(eq(templates.tenantId, principal.tenantId), eq(templates.id, input.id)))
          .returning();
        const template = notFoundUnless(updated);
        await emitEvent(tx, actorOf(principal, ctx), 'campaign_template.updated', { id: template.id, name: template.name });
        return template;
      });
      return toTemplateOutput(row);
    }),

  delete: tenantProcedure
    .meta({
      summary: 'Delete a message template (422 while a campaign uses it)',
      tags,
      scope: WRITE,
      rest: { method: 'DELETE', path: '/campaigns/templates/{id}' },
    })
    .input(idInput)
    .output(templateOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      const row = await withTenant(principal, async (tx) => {
        const template = await findTemplate(tx, principal.tenantId, input.id);
        await tx.delete(templates).where(and(eq(templates.tenantId, principal.tenantId), eq(templates.id, input.id)));
        await emitEvent(tx, actorOf(principal, ctx), 'campaign_template.deleted', { id: template.id });
        return template;
      });
      return toTemplateOutput(row);
    }),

  preview: tenantProcedure
    .meta({
      summary: 'The template rendered for one contact',
      tags,
      scope: READ,
      rest: { method: 'GET', path: '/campaigns/templates/{id}/preview' },
    })
    .input(idInput.extend({ contactId: z.guid() }))
    .output(z.object({ subject: z.string().nullable(), body: z.string(), to: z.string().nullable() }))
    .query(async ({ ctx, input }) => {
      const { principal } = ctx;
      return withTenant(principal, async (tx) => {
        const template = await findTemplate(tx, principal.tenantId, input.id);
        const [contact] = await tx
          .select({
            name: contacts.name,
            email: contacts.email,
            phone: sql<string | null>`${contacts.phones}[1]`,
            title: contacts.title,
            company: companies.name,
          })
          .from(contacts)
          .leftJoin(companies, and(eq(companies.tenantId, contacts.tenantId), eq(companies.id, contacts.companyId)))
          .where(and(eq(contacts.tenantId, principal.tenantId), eq(contacts.id, input.contactId)));
        const facts = notFoundUnless(contact);
        const variables = variablesOf(facts, previewUnsubscribeUrl(publicUrl(ctx.services.config)));
        return {
          subject: template.subject === null ? null : render(template.subject, variables),
          body: render(template.body, variables),
          to: template.channel === 'email' ? facts.email : template.channel === 'log' ? (facts.email ?? facts.name) : facts.phone,
        };
      });
    }),
});
