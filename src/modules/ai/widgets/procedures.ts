import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { AppError } from '../../../api/errors.ts';
import { keyset, listInput, page, pageOf } from '../../../api/pagination.ts';
import { router, tenantProcedure } from '../../../api/procedures.ts';
import { updateFieldsOf } from '../../../api/update-fields.ts';
import { actorOf, changeSummary, recordAudit } from '../../../audit/record.ts';
import { randomBase62 } from '../../../auth/api-key-format.ts';
import { publicUrl } from '../../../config.ts';
import { type Tx, withTenant } from '../../../db/tenant.ts';
import { emitEvent } from '../../../events/emit.ts';
import { findUsableAgent } from '../agents/procedures.ts';
import { detachConversations } from '../conversations/detach.ts';
import { normaliseDomain } from './domains.ts';
import { type WidgetTheme, widgets } from './schema.ts';

const tags = ['ai'];
const READ = 'ai:read' as const;
const WRITE = 'ai:write' as const;

export const DEFAULT_THEME: WidgetTheme = {
  primaryColor: '#2f6feb',
  textColor: '#1f2328',
  backgroundColor: '#ffffff',
  position: 'bottom-right',
};

const newPublishableKey = () => `pk_live_${randomBase62(32)}`;

const columns = {
  id: widgets.id,
  name: widgets.name,
  agentId: widgets.agentId,
  greeting: widgets.greeting,
  theme: widgets.theme,
  allowedDomains: widgets.allowedDomains,
  active: widgets.active,
  publishableKey: widgets.publishableKey,
  createdAt: widgets.createdAt,
  updatedAt: widgets.updatedAt,
};
type WidgetRow = {
  id: string;
  name: string;
  agentId: string;
  greeting: string | null;
  theme: WidgetTheme;
  allowedDomains: string[];
  active: boolean;
  publishableKey: string;
  createdAt: Date;
  updatedAt: Date;
};

const color = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a colour like #2f6feb');
const themeInput = z.object({
  primaryColor: color.optional(),
  textColor: color.optional(),
  backgroundColor: color.optional(),
  position: z.enum(['bottom-right', 'bottom-left']).optional(),
});
const domains = z
  .array(z.string().max(260))
  .max(50)
  .transform((list, ctx) => {
    const out: string[] = [];
    list.forEach((entry, index) => {
      const domain = normaliseDomain(entry);
      if (domain) out.push(domain);
      else
        ctx.addIssue({
          code: 'custom',
          path: [index],
          message: 'a host like example.com, shop.example.com:8443 or *.example.com',
        });
    });
    return [...new Set(out)];
  });

const widgetOutput = z.object({
  id: z.guid(),
  name: z.string(),
  agentId: z.guid(),
  greeting: z.string().nullable(),
  theme: z.object({
    primaryColor: z.string(),
    textColor: z.string(),
    backgroundColor: z.string(),
    position: z.enum(['bottom-right', 'bottom-left']),
  }),
  allowedDomains: z.array(z.string()),
  active: z.boolean(),
  /** Public by design: it goes into the page's HTML and opens only this widget's chat. */
  publishableKey: z.string(),
  /** The HTML to paste into a page. */
  embedSnippet: z.string(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

export const embedSnippet = (baseUrl: string, key: string) =>
  `<script src="${baseUrl}/widget.js" data-palisade-widget="${key}" async></script>`;

function toOutput(row: WidgetRow, baseUrl: string) {
  return {
    ...row,
    theme: { ...DEFAULT_THEME, ...row.theme },
    embedSnippet: embedSnippet(baseUrl, row.publishableKey),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

async function findWidget(tx: Tx, tenantId: string, id: string): Promise<WidgetRow> {
  const [row] = await tx
    .select(columns)
    .from(widgets)
    .where(and(eq(widgets.tenantId, tenantId), eq(widgets.id, id)));
  if (!row) throw new AppError('NOT_FOUND');
  return row as WidgetRow;
}

async function requireUsableAgent(tx: Tx, tenantId: string, agentId: string): Promise<void> {
  await findUsableAgent(tx, tenantId, agentId).catch(() => {
    throw new AppError('UNPROCESSABLE', undefined, [{ path: 'agentId', message: 'no such agent' }]);
  });
}

const idInput = z.object({ id: z.guid() });
const widgetFields = z.object({
  name: z.string().trim().min(1).max(200),
  agentId: z.guid(),
  greeting: z.string().trim().max(1000).nullable().optional(),
  theme: themeInput.optional(),
  allowedDomains: domains.default([]),
  active: z.boolean().default(true),
});

export const widgetsRouter = router({
  list: tenantProcedure
    .meta({ summary: 'Chat widgets', tags, scope: READ, rest: { method: 'GET', path: '/ai/widgets' } })
    .input(listInput(['createdAt', 'name']))
    .output(pageOf(widgetOutput))
    .query(async ({ ctx, input }) => {
      const tenantId = ctx.principal.tenantId;
      const { where, orderBy, limit } = keyset(input, { createdAt: widgets.createdAt, name: widgets.name }, widgets.id);
      const rows = await withTenant(ctx.principal, (tx) =>
        tx
          .select(columns)
          .from(widgets)
          .where(and(eq(widgets.tenantId, tenantId), where))
          .orderBy(...orderBy)
          .limit(limit),
      );
      const result = page(rows as WidgetRow[], input, (row, field) => [row[field as 'createdAt' | 'name'], row.id]);
      const baseUrl = publicUrl(ctx.services.config);
      return { items: result.items.map((r) => toOutput(r, baseUrl)), nextCursor: result.nextCursor };
    }),

  get: tenantProcedure
    .meta({
      summary: 'One chat widget with its embed snippet',
      tags,
      scope: READ,
      rest: { method: 'GET', path: '/ai/widgets/{id}' },
    })
    .input(idInput)
    .output(widgetOutput)
    .query(async ({ ctx, input }) => {
      const row = await withTenant(ctx.principal, (tx) => findWidget(tx, ctx.principal.tenantId, input.id));
      return toOutput(row, publicUrl(ctx.services.config));
    }),

  create: tenantProcedure
    .meta({ summary: 'Create a chat widget', tags, scope: WRITE, rest: { method: 'POST', path: '/ai/widgets', status: 201 } })
    .input(widgetFields)
    .output(widgetOutput)
    .mutation(async ({ ctx, input }) => {
      const tenantId = ctx.principal.tenantId;
      const row = await withTenant(ctx.principal, async (tx) => {
        await requireUsableAgent(tx, tenantId, input.agentId);
        const [created] = await tx
          .insert(widgets)
          .values({
            tenantId,
            name: input.name,
            agentId: input.agentId,
            greeting: input.greeting ?? null,
            theme: { ...DEFAULT_THEME, ...input.theme },
            allowedDomains: input.allowedDomains,
            active: input.active,
            publishableKey: newPublishableKey(),
          })
          .returning({ id: widgets.id });
        if (!created) throw new Error('widget not created');
        const actor = actorOf(ctx.principal, ctx);
        await recordAudit(tx, actor, {
          action: 'widget.created',
          targetType: 'widget',
          targetId: created.id,
          data: { name: input.name, allowedDomains: input.allowedDomains },
        });
        await emitEvent(tx, actor, 'widget.created', { id: created.id, name: input.name });
        return findWidget(tx, tenantId, created.id);
      });
      return toOutput(row, publicUrl(ctx.services.config));
    }),

  update: tenantProcedure
    .meta({ summary: 'Change a chat widget', tags, scope: WRITE, rest: { method: 'PATCH', path: '/ai/widgets/{id}' } })
    .input(updateFieldsOf(widgetFields).extend({ id: z.guid() }))
    .output(widgetOutput)
    .mutation(async ({ ctx, input }) => {
      const tenantId = ctx.principal.tenantId;
      const { id, theme, ...changes } = input;
      const row = await withTenant(ctx.principal, async (tx) => {
        const before = await findWidget(tx, tenantId, id);
        if (changes.agentId) await requireUsableAgent(tx, tenantId, changes.agentId);
        await tx
          .update(widgets)
          .set({
            ...changes,
            ...(theme ? { theme: { ...DEFAULT_THEME, ...before.theme, ...theme } } : {}),
            updatedAt: new Date(),
          })
          .where(and(eq(widgets.tenantId, tenantId), eq(widgets.id, id)));
        const after = await findWidget(tx, tenantId, id);
        const actor = actorOf(ctx.principal, ctx);
        const fields = [...Object.keys(changes), ...(theme ? ['theme'] : [])] as (keyof WidgetRow & string)[];
        await recordAudit(tx, actor, {
          action: 'widget.updated',
          targetType: 'widget',
          targetId: id,
          ...changeSummary(before, after, fields),
        });
        await emitEvent(tx, actor, 'widget.updated', { id, fields });
        return after;
      });
      return toOutput(row, publicUrl(ctx.services.config));
    }),

  rotateKey: tenantProcedure
    .meta({
      summary: 'Replace the publishable key (pages with the old snippet stop working)',
      tags,
      scope: WRITE,
      rest: { method: 'POST', path: '/ai/widgets/{id}/rotate-key' },
    })
    .input(idInput)
    .output(widgetOutput)
    .mutation(async ({ ctx, input }) => {
      const tenantId = ctx.principal.tenantId;
      const row = await withTenant(ctx.principal, async (tx) => {
        const [rotated] = await tx
          .update(widgets)
          .set({ publishableKey: newPublishableKey(), updatedAt: new Date() })
          .where(and(eq(widgets.tenantId, tenantId), eq(widgets.id, input.id)))
          .returning({ id: widgets.id });
        if (!rotated) throw new AppError('NOT_FOUND');
        const actor = actorOf(ctx.principal, ctx);
        await recordAudit(tx, actor, { action: 'widget.key_rotated', targetType: 'widget', targetId: input.id });
        await emitEvent(tx, actor, 'widget.updated', { id: input.id, fields: ['publishableKey'] });
        return findWidget(tx, tenantId, input.id);
      });
      return toOutput(row, publicUrl(ctx.services.config));
    }),

  delete: tenantProcedure
    .meta({ summary: 'Delete a chat widget', tags, scope: WRITE, rest: { method: 'DELETE', path: '/ai/widgets/{id}' } })
    .input(idInput)
    .output(z.object({ id: z.guid(), deleted: z.literal(true) }))
    .mutation(async ({ ctx, input }) => {
      const tenantId = ctx.principal.tenantId;
      await withTenant(ctx.principal, async (tx) => {
        await detachConversations(tx, tenantId, { widgetId: input.id });
        const [gone] = await tx
          .delete(widgets)
          .where(and(eq(widgets.tenantId, tenantId), eq(widgets.id, input.id)))
          .returning({ id: widgets.id, name: widgets.name });
        if (!gone) throw new AppError('NOT_FOUND');
        const actor = actorOf(ctx.principal, ctx);
        await recordAudit(tx, actor, {
          action: 'widget.deleted',
          targetType: 'widget',
          targetId: input.id,
          data: { name: gone.name },
        });
        await emitEvent(tx, actor, 'widget.deleted', { id: input.id });
      });
      return { id: input.id, deleted: true as const };
    }),
});
