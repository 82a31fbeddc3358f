import { sql } from 'drizzle-orm';
import type { Tx } from '../db/tenant.ts';
import { JOBS_CHANNEL } from '../jobs/runner.ts';
import { jobs } from '../jobs/schema.ts';
import { events } from './schema.ts';

export const DISPATCH_EVENT_JOB = 'dispatch_event';

/** Who caused an event; written beside it (an audit actor fits: its extra request facts are ignored). */
export interface EventActor {
  tenantId: string;
  userId?: string | null;
  apiKeyId?: string | null;
  requestId?: string | null;
}

/**
 * Records an event in the caller's transaction: the event row, the job that
 * will dispatch it, and a NOTIFY that wakes a dispatcher at commit. If the
 * transaction rolls back, none of it happened.
 */
export async function emitEvent(tx: Tx, actor: EventActor, type: string, data: Record<string, unknown>): Promise<string> {
  const [row] = await tx
    .insert(events)
    .values({
      tenantId: actor.tenantId,
      type,
      data,
      actorUserId: actor.userId ?? null,
      actorApiKeyId: actor.apiKeyId ?? null,
      requestId: actor.requestId ?? null,
    })
    .returning({ id: events.id });
  if (!row) throw new Error('event not recorded');
  await tx.insert(jobs).values({ tenantId: actor.tenantId, kind: DISPATCH_EVENT_JOB, refId: row.id });
  await tx.execute(sql`select pg_notify(${JOBS_CHANNEL}, '')`);
  return row.id;
}
