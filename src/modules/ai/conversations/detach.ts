import { and, eq } from 'drizzle-orm';
import type { Tx } from '../../../db/tenant.ts';
import { costEvents } from '../costs/schema.ts';
import { meetings } from '../meetings/schema.ts';
import { conversations } from './schema.ts';

/*
 * What a deletion leaves behind. A conversation outlives the widget and the
 * contact it came from, and a cost event or a meeting outlives its
 * conversation: the reference is cleared in the deleting transaction, just
 * before the delete. Foreign keys would do it with ON DELETE SET NULL (column),
 * but Citus refuses SET NULL on a key that holds the distribution column, so
 * the keys are NO ACTION and these functions do it instead.
 */

/** Clears the widget or contact of every conversation that names it. */
export async function detachConversations(
  tx: Tx,
  tenantId: string,
  from: { widgetId: string } | { contactId: string },
): Promise<void> {
  const where =
    'widgetId' in from
      ? and(eq(conversations.tenantId, tenantId), eq(conversations.widgetId, from.widgetId))
      : and(eq(conversations.tenantId, tenantId), eq(conversations.contactId, from.contactId));
  await tx
    .update(conversations)
    .set('widgetId' in from ? { widgetId: null } : { contactId: null })
    .where(where);
}

/** Clears the conversation of the cost events and meetings that belong to it. */
export async function detachFromConversation(tx: Tx, tenantId: string, conversationId: string): Promise<void> {
  await tx
    .update(costEvents)
    .set({ sessionId: null })
    .where(and(eq(costEvents.tenantId, tenantId), eq(costEvents.sessionId, conversationId)));
  await tx
    .update(meetings)
    .set({ conversationId: null })
    .where(and(eq(meetings.tenantId, tenantId), eq(meetings.conversationId, conversationId)));
}
