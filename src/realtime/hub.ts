import { ROLE_RANK, type Role } from '../db/core-schema.ts';
import { minRoleToSee } from '../events/catalogue.ts';
import { matchesFilter } from '../events/filter.ts';
import type { Logger } from '../logger.ts';
import type { RealtimeBroker, RealtimeEvent } from './broker.ts';
import { encodeServerMessage } from './protocol.ts';

/** Who a socket belongs to, fixed at the handshake. */
export interface Subscriber {
  tenantId: string;
  userId: string | null;
  apiKeyId: string | null;
  /**
   * The member's role, or the key's role ceiling, when the socket opened: it decides which event types
   * the socket receives (events/catalogue.ts). A role change closes the member's sockets, so that the
   * reconnecting client is authenticated again under its new role.
   */
  role: Role;
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
export const CLOSE_ROLE_CHANGED = 4409;

export interface RealtimeHubOptions {
  broker: RealtimeBroker;
  logger: Logger;
  /** The role a subscriber holds now (member of the tenant, key not revoked), or null if it may no longer listen. */
  revalidate?: (subscriber: Subscriber) => Promise<Role | null>;
  revalidateEveryMs?: number;
  /** How many revalidations run at once, so a round does not flood the database. */
  revalidateConcurrency?: number;
}

const subscriberKey = (s: Subscriber) => `${s.tenantId}\u0000${s.userId ?? ''}\u0000${s.apiKeyId ?? ''}`;

/**
 * The sockets of this process, indexed by tenant. Events arrive through the
 * broker (from any process) and go only to sockets of the event's tenant
 * whose role may see the event's type and whose filter matches.
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
        let role: Role | null;
        try {
          role = await check(first.subscriber);
        } catch (error) {
          // Fail open: a database hiccup must not disconnect everyone; the next round checks again.
          this.#logger.warn({ err: error }, 'realtime revalidation could not run');
          continue;
        }
        // A role change whose event this process missed (Redis away) is caught here: the client reconnects
        // and is authenticated under its new role.
        for (const connection of group) {
          if (!role) this.#drop(connection, CLOSE_ACCESS_REVOKED, 'access revoked');
          else if (role !== connection.subscriber.role) this.#drop(connection, CLOSE_ROLE_CHANGED, 'role changed');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, queue.length) }, worker));
  }

  #onEvent(event: RealtimeEvent): void {
    const set = this.#byTenant.get(event.tenantId);
    if (!set) return;
    // Revocations and role changes close first, so the party concerned does not receive the event about it.
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
    } else if (event.type === 'member.updated' && typeof event.data.userId === 'string') {
      // Closed rather than given the event's role: events from several processes may arrive out of order,
      // and the handshake of the reconnecting client reads the role that is current then.
      const { userId, role } = event.data;
      for (const connection of [...set]) {
        const { subscriber } = connection;
        if (subscriber.userId === userId && subscriber.role !== role) this.#drop(connection, CLOSE_ROLE_CHANGED, 'role changed');
      }
    }
    const requiredRank = ROLE_RANK[minRoleToSee(event.type)];
    let frame: string | undefined;
    for (const connection of set) {
      if (ROLE_RANK[connection.subscriber.role] < requiredRank) continue;
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
