import { Redis } from 'ioredis';
import { z } from 'zod';
import type { DispatchedEvent } from '../events/dispatch.ts';
import type { Logger } from '../logger.ts';

/** One tenant event on its way to sockets, in every process. */
export interface RealtimeEvent {
  id: string;
  tenantId: string;
  type: string;
  data: Record<string, unknown>;
  /** ISO 8601, when the change happened. */
  timestamp: string;
}

export type RealtimeListener = (event: RealtimeEvent) => void;

/**
 * Carries events from the process that dispatched them to the hubs of all
 * processes. Delivery is best-effort and at least once upstream (the
 * dispatcher may publish an event again); clients dedupe by event id.
 */
export interface RealtimeBroker {
  /** Rejects when the event could not be handed over (Redis down); the caller logs and moves on. */
  publish(event: RealtimeEvent): Promise<void>;
  /** Returns the unsubscribe function. */
  subscribe(listener: RealtimeListener): () => void;
  close(): Promise<void>;
}

export const realtimeEventSchema = z.object({
  id: z.string().min(1),
  tenantId: z.string().min(1),
  type: z.string().min(1),
  data: z.record(z.string(), z.unknown()),
  timestamp: z.iso.datetime({ offset: true }),
});

/** The dispatcher's event as the broker carries it. */
export function toRealtimeEvent(event: DispatchedEvent): RealtimeEvent {
  return {
    id: event.id,
    tenantId: event.tenantId,
    type: event.type,
    data: event.data,
    timestamp: event.occurredAt.toISOString(),
  };
}

function deliver(listeners: Iterable<RealtimeListener>, event: RealtimeEvent, logger?: Logger): void {
  for (const listener of listeners) {
    // One failing listener must not starve the others, nor fail the publisher.
    try {
      listener(event);
    } catch (error) {
      logger?.error({ err: error, eventId: event.id }, 'realtime listener failed');
    }
  }
}

/** In-process broker: the embedded, single-process default. */
export function createLocalBroker(options: { logger?: Logger } = {}): RealtimeBroker {
  const listeners = new Set<RealtimeListener>();
  return {
    async publish(event) {
      deliver([...listeners], event, options.logger);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      listeners.clear();
    },
  };
}

export interface RedisBrokerOptions {
  url: string;
  logger: Logger;
  /** Pub/sub channel shared by all processes of one deployment. */
  channel?: string;
  /** Bounds a publish against a Redis that accepts connections but does not answer. */
  publishTimeoutMs?: number;
}

export interface RedisBroker extends RealtimeBroker {
  /** True while either connection is down: events are not being delivered (see docs/realtime.md). */
  readonly degraded: boolean;
  /** Resolves once publishing works and the subscription is confirmed; never settles while Redis stays unreachable. */
  ready(): Promise<void>;
}

export const DEFAULT_REALTIME_CHANNEL = 'palisade:realtime';

/**
 * Redis pub/sub broker: one publisher and one subscriber connection per
 * process. Every process, the publishing one included, receives events
 * through Redis, so all sockets see the same stream.
 */
export function createRedisBroker(options: RedisBrokerOptions): RedisBroker {
  const { url, logger } = options;
  const channel = options.channel ?? DEFAULT_REALTIME_CHANNEL;
  const listeners = new Set<RealtimeListener>();

  // No offline queue: while Redis is down a publish fails at once instead of
  // piling up in memory and holding the dispatcher.
  const publisher = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: options.publishTimeoutMs ?? 2_000,
    connectionName: 'palisade-realtime-pub',
  });
  // The subscriber waits for Redis as long as it takes; ioredis resubscribes after a reconnect.
  const subscriber = new Redis(url, { maxRetriesPerRequest: null, connectionName: 'palisade-realtime-sub' });

  const up = { publisher: false, subscriber: false };
  let closing = false;
  let wasHealthy = false;
  let downLogged = false;
  const healthy = () => up.publisher && up.subscriber;

  // Logged on transitions only: ioredis reports every failed reconnect attempt.
  const watch = (client: Redis, name: keyof typeof up) => {
    client.on('ready', () => {
      up[name] = true;
      if (healthy()) {
        if (downLogged || wasHealthy) logger.info({ channel }, 'realtime: Redis connection restored');
        wasHealthy = true;
        downLogged = false;
      }
    });
    client.on('close', () => {
      up[name] = false;
    });
    client.on('error', (error: Error) => {
      if (closing || downLogged) return;
      downLogged = true;
      logger.warn({ err: error, channel }, 'realtime: Redis unreachable, events are not delivered to sockets until it is back');
    });
  };
  watch(publisher, 'publisher');
  watch(subscriber, 'subscriber');

  subscriber.on('message', (from: string, message: string) => {
    if (from !== channel) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(message);
    } catch {
      parsed = undefined;
    }
    const result = realtimeEventSchema.safeParse(parsed);
    if (!result.success) {
      // Another writer on the channel, or a version skew: drop it rather than forward a frame no client expects.
      logger.warn({ channel, bytes: message.length }, 'realtime: dropped a malformed message');
      return;
    }
    deliver([...listeners], result.data, logger);
  });

  const subscribed = subscriber.subscribe(channel).then(() => undefined);
  subscribed.catch((error: unknown) => {
    if (!closing) logger.error({ err: error, channel }, 'realtime: could not subscribe');
  });
  const publisherReady = new Promise<void>((resolve) => {
    if (publisher.status === 'ready') resolve();
    else publisher.once('ready', () => resolve());
  });

  const shut = async (client: Redis) => {
    if (client.status === 'ready') await client.quit().catch(() => client.disconnect());
    else client.disconnect();
  };

  return {
    get degraded() {
      return !healthy();
    },
    ready: () => Promise.all([publisherReady, subscribed]).then(() => undefined),
    async publish(event) {
      await publisher.publish(channel, JSON.stringify(event));
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      closing = true;
      listeners.clear();
      await Promise.all([shut(publisher), shut(subscriber)]);
    },
  };
}
