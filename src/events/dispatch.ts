import { and, eq, lt } from 'drizzle-orm';
import type { Tx } from '../db/tenant.ts';
import type { JobHandler } from '../jobs/runner.ts';
import type { Logger } from '../logger.ts';
import { events } from './schema.ts';

export interface DispatchedEvent {
  id: string;
  tenantId: string;
  type: string;
  data: Record<string, unknown>;
  occurredAt: Date;
}

/** Fans an event out inside its tenant's transaction (for example: create webhook deliveries). */
export type EventSubscriber = (event: DispatchedEvent, tx: Tx) => Promise<void>;

/** Hears an event after the dispatch transaction committed (for example: realtime). Best effort: failures are logged. */
export type EventPublisher = (event: DispatchedEvent) => Promise<void>;

/**
 * The dispatcher's job: load the event in its tenant, let every subscriber
 * fan it out in the same transaction. Subscribers
 * must be idempotent (the job may run again after a crash); webhook
 * deliveries are unique per event and endpoint for that reason.
 */
export function dispatchEventHandler(options: {
  subscribers: EventSubscriber[];
  publishers?: EventPublisher[];
  retentionDays: number;
  logger?: Logger;
}): JobHandler {
  const { subscribers, publishers = [], retentionDays, logger } = options;
  return async ({ job, inTenant }) => {
    const event = await inTenant(async (tx) => {
      const [row] = await tx
        .select({ id: events.id, tenantId: events.tenantId, type: events.type, data: events.data, occurredAt: events.occurredAt })
        .from(events)
        .where(and(eq(events.tenantId, job.tenantId), eq(events.id, job.refId)));
      if (!row) return null;
      for (const subscribe of subscribers) await subscribe(row, tx);
      // Retention, tenant by tenant as events flow: an index range delete that usually finds nothing.
      await tx
        .delete(events)
        .where(and(eq(events.tenantId, job.tenantId), lt(events.occurredAt, new Date(Date.now() - retentionDays * 86_400_000))));
      return row;
    });
    // After commit, so nobody hears of an event whose deliveries were rolled back. If the process dies
    // between commit and here, realtime misses the event (webhooks, from the committed deliveries, do not).
    if (event) {
      for (const publish of publishers) {
        await publish(event).catch((error: unknown) => logger?.warn({ err: error, eventId: event.id }, 'event publish failed'));
      }
    }
    return { done: true };
  };
}
