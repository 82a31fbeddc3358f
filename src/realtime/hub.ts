import { matchesFilter } from '../events/filter.ts';
import type { Logger } from '../logger.ts';
import type { RealtimeBroker, RealtimeEvent } from './broker.ts';
import { encodeServerMessage } from './protocol.ts';

/** Who a socket belongs to, fixed at the handshake. */
export interface Subscriber {
  tenantId: string;
  userId: string | null;
  apiKeyId: string | null;
}

/** A socket as the hub sees it; the route adapts a `ws` WebSocket to this. */
export interface RealtimeConnection {
  readonly subscriber: Subscriber;
  /** Event type filters; replaced when the client subscribes again. */
  types: string[];
  send(text: string): void;
  close(code: number, reason: string): void;
}

export const CLOSE_SHUTDOWN = 1001;
export const CLOSE_POLICY = 1008;
export const CLOSE_TOO_BIG = 1009;
export const CLOSE_KEY_REVOKED = 4401;
export const CLOSE_ACCESS_REVOKED = 4403;

export interface RealtimeHubOptions {
  broker: RealtimeBroker;
  logger: Logger;
  /** Whether a subscriber may still listen (member of the tenant, key not revoked). */
  revalidate?: (subscriber: Subscriber) => Promise<boolean>;
  revalidateEveryMs?: number;
  /** How many revalidations run at once, so a round does not flood the database. */
  revalidateConcurrency?: number;
}

const subscriberKey = (s: Subscriber) => `${s.tenantId}\u0000${s.userId ?? ''}\u0000${s.apiKeyId ?? ''}`;

/**
 * The sockets of this process, indexed by tenant. Events arrive through the
 * broker (from any process) and go only to sockets of the event's tenant
 * whose filter matches.
 */
export class RealtimeHub {
  readonly #byTenant = new Map<string, Set<RealtimeConnection>>();
  readonly #logger: Logger;
  readonly #revalidate: RealtimeHubOptions['revalidate'];
  readonly #concurrency: number;
  readonly #unsubscribe: () => void;
  readonly #timer: NodeJS.Timeout | undefined;
  #size = 0;
  #closed = false;
  #revalidating: Promise<void> | undefined;

  constructor(options: RealtimeHubOptions) {
    this.#logger = options.logger;
    this.#revalidate = options.revalidate;
    this.#concurrency = options.revalidateConcurrency ?? 8;
    this.#unsubscribe = options.broker.subscribe((event) => this.#onEvent(event));
    if (this.#revalidate) {
      this.#timer = setInterval(() => {
        this.revalidateNow().catch((error: unknown) => this.#logger.error({ err: error }, 'realtime revalidation failed'));
      }, options.revalidateEveryMs ?? 15_000);
      this.#timer.unref();
    }
  }

  /** Open connections in this process. */
  get size(): number {
    return this.#size;
  }

  /** Registers a connection; the returned function removes it (call it when the socket closes). */
  add(connection: RealtimeConnection): () => void {
    if (this.#closed) {
      connection.close(CLOSE_SHUTDOWN, 'server shutting down');
      return () => {};
    }
    const { tenantId } = connection.subscriber;
    let set = this.#byTenant.get(tenantId);
    if (!set) {
      set = new Set();
      this.#byTenant.set(tenantId, set);
    }
    set.add(connection);
    this.#size++;
    return () => this.#remove(connection);
  }

  /** Closes every connection and stops listening: graceful shutdown. New connections are closed at once. */
  closeAll(code: number, reason: string): void {
    this.#closed = true;
    this.#unsubscribe();
    if (this.#timer) clearInterval(this.#timer);
    for (const set of [...this.#byTenant.values()]) {
      for (const connection of [...set]) this.#drop(connection, code, reason);
    }
  }

  /** One revalidation round (the timer runs them); rounds never overlap. */
  revalidateNow(): Promise<void> {
    this.#revalidating ??= this.#revalidateRound().finally(() => {
      this.#revalidating = undefined;
    });
    return this.#revalidating;
  }

  async #revalidateRound(): Promise<void> {
    const check = this.#revalidate;
    if (!check) return;
    // One check per subscriber, however many tabs it has open.
    const groups = new Map<string, RealtimeConnection[]>();
    for (const set of this.#byTenant.values()) {
      for (const connection of set) {
        const key = subscriberKey(connection.subscriber);
        const group = groups.get(key);
        if (group) group.push(connection);
        else groups.set(key, [connection]);
      }
    }
    const queue = [...groups.values()];
    const worker = async () => {
      for (let group = queue.pop(); group; group = queue.pop()) {
        const [first] = group;
        if (!first) continue;
        let valid: boolean;
        try {
          valid = await check(first.subscriber);
        } catch (error) {
          // Fail open: a database hiccup must not disconnect everyone; the next round checks again.
          this.#logger.warn({ err: error }, 'realtime revalidation could not run');
          continue;
        }
        if (!valid) for (const connection of group) this.#drop(connection, CLOSE_ACCESS_REVOKED, 'access revoked');
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, queue.length) }, worker));
  }

  #onEvent(event: RealtimeEvent): void {
    const set = this.#byTenant.get(event.tenantId);
    if (!set) return;
    // Revocations close first, so the removed party does not receive the event that removed it.
    if (event.type === 'member.deleted' && typeof event.data.userId === 'string') {
      const userId = event.data.userId;
      for (const connection of [...set]) {
        if (connection.subscriber.userId === userId) this.#drop(connection, CLOSE_ACCESS_REVOKED, 'membership removed');
      }
    } else if (event.type === 'api_key.revoked' && typeof event.data.apiKeyId === 'string') {
      const apiKeyId = event.data.apiKeyId;
      for (const connection of [...set]) {
        if (connection.subscriber.apiKeyId === apiKeyId) this.#drop(connection, CLOSE_KEY_REVOKED, 'api key revoked');
      }
    }
    let frame: string | undefined;
    for (const connection of set) {
      if (!matchesFilter(connection.types, event.type)) continue;
      // Serialised once per event, not once per socket.
      frame ??= encodeServerMessage({
        type: 'event',
        event: { id: event.id, type: event.type, timestamp: event.timestamp, data: event.data },
      });
      try {
        connection.send(frame);
      } catch (error) {
        this.#logger.debug({ err: error }, 'realtime send failed');
      }
    }
  }

  /** Unindexes first, so no further event reaches a socket that is closing. */
  #drop(connection: RealtimeConnection, code: number, reason: string): void {
    if (!this.#remove(connection)) return;
    try {
      connection.close(code, reason);
    } catch (error) {
      this.#logger.debug({ err: error }, 'realtime close failed');
    }
  }

  #remove(connection: RealtimeConnection): boolean {
    const { tenantId } = connection.subscriber;
    const set = this.#byTenant.get(tenantId);
    if (!set?.delete(connection)) return false;
    this.#size--;
    if (set.size === 0) this.#byTenant.delete(tenantId);
    return true;
  }
}
