import { and, eq } from 'drizzle-orm';
import { AppError } from '../../../api/errors.ts';
import { type DataPrincipal, type Tx, type WidgetPrincipal, withTenant } from '../../../db/tenant.ts';
import { emitEvent } from '../../../events/emit.ts';
import { countAgentUse } from '../agents/procedures.ts';
import { agents } from '../agents/schema.ts';
import { startConversation } from '../conversations/procedures.ts';
import { conversations } from '../conversations/schema.ts';
import { DEFAULT_THEME } from './procedures.ts';
import { type WidgetTheme, widgets } from './schema.ts';

/**
 * What a widget visitor may do: read the widget's public face, start a
 * conversation with its agent, and continue only the conversations whose
 * token they hold. Each runs in the widget's tenant as the widget principal.
 */

function widgetPrincipal(principal: DataPrincipal): WidgetPrincipal {
  if (principal.kind !== 'widget') throw new Error('widget routes take a widget principal');
  return principal;
}

async function widgetRow(tx: Tx, principal: WidgetPrincipal) {
  const [row] = await tx
    .select({ name: widgets.name, greeting: widgets.greeting, theme: widgets.theme, agentId: widgets.agentId })
    .from(widgets)
    .where(and(eq(widgets.tenantId, principal.tenantId), eq(widgets.id, principal.widgetId)));
  if (!row) throw new AppError('NOT_FOUND');
  return row;
}

/** The widget as the embedding page shows it: never its tenant, agent settings or other widgets. */
export async function widgetPublicView(
  principal: DataPrincipal,
): Promise<{ name: string; greeting: string | null; theme: WidgetTheme; agentName: string | null; avatarUrl: string | null }> {
  const widget = widgetPrincipal(principal);
  return withTenant(widget, async (tx) => {
    const row = await widgetRow(tx, widget);
    const [agent] = await tx
      .select({ name: agents.name, avatarUrl: agents.avatarUrl })
      .from(agents)
      .where(eq(agents.id, row.agentId));
    return {
      name: row.name,
      greeting: row.greeting,
      theme: { ...DEFAULT_THEME, ...row.theme },
      agentName: agent?.name ?? null,
      avatarUrl: agent?.avatarUrl ?? null,
    };
  });
}

/** Starts a visitor's conversation with the widget's agent. */
export async function openVisitorConversation(
  principal: DataPrincipal,
  visitor: { visitorId: string; visitorTokenHash: string },
): Promise<{ id: string; greeting: string | null }> {
  const widget = widgetPrincipal(principal);
  return withTenant(widget, async (tx) => {
    const row = await widgetRow(tx, widget);
    const id = await startConversation(tx, widget.tenantId, {
      agentId: row.agentId,
      widgetId: widget.widgetId,
      visitorId: visitor.visitorId,
      visitorTokenHash: visitor.visitorTokenHash,
      title: `Visitor on ${row.name}`,
    });
    await countAgentUse(tx, widget, row.agentId, { conversations: 1 });
    await emitEvent(tx, { tenantId: widget.tenantId }, 'conversation.created', {
      id,
      agentId: row.agentId,
      mode: 'text',
      widgetId: widget.widgetId,
    });
    return { id, greeting: row.greeting };
  });
}

/** Checks that the conversation belongs to this widget and that the visitor holds its token; 404 otherwise. */
export async function visitorConversation(
  principal: DataPrincipal,
  conversationId: string,
  visitorTokenHash: string,
): Promise<void> {
  const widget = widgetPrincipal(principal);
  const [row] = await withTenant(widget, (tx) =>
    tx
      .select({ id: conversations.id })
      .from(conversations)
      .where(
        and(
          eq(conversations.tenantId, widget.tenantId),
          eq(conversations.id, conversationId),
          eq(conversations.widgetId, widget.widgetId),
          eq(conversations.visitorTokenHash, visitorTokenHash),
        ),
      ),
  );
  if (!row) throw new AppError('NOT_FOUND');
}
