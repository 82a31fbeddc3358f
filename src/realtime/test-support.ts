import { randomUUID } from 'node:crypto';
import pino from 'pino';
import type { Role } from '../db/core-schema.ts';
import type { RealtimeEvent } from './broker.ts';
import type { RealtimeConnection, Subscriber } from './hub.ts';
import { type ServerMessage, serverMessageSchema } from './protocol.ts';

/** Helpers for the realtime tests only. */

export function makeEvent(tenantId: string, type: string, data: Record<string, unknown> = {}): RealtimeEvent {
  return { id: randomUUID(), tenantId, type, data, timestamp: new Date().toISOString() };
}

export function subscriber(
  tenantId: string,
  userId: string | null,
  apiKeyId: string | null = null,
  role: Role = 'member',
): Subscriber {
  return { tenantId, userId, apiKeyId, role };
}

/** Log lines kept in memory, to assert that something was logged. */
export function captureLogger() {
  const lines: { level: number; msg: string }[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

export const silentLogger = pino({ level: 'silent' });

/** Rejects after `ms`, so a missing message fails the test instead of hanging it. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A hub connection that records what it is sent: the socket side of the hub, without a socket. */
export class RecordingConnection implements RealtimeConnection {
  readonly frames: ServerMessage[] = [];
  closed: { code: number; reason: string } | undefined;
  readonly #waiters: { id: string; resolve: () => void }[] = [];

  constructor(
    readonly subscriber: Subscriber,
    public types: string[] = ['*'],
  ) {}

  send(text: string): void {
    const frame = serverMessageSchema.parse(JSON.parse(text));
    this.frames.push(frame);
    if (frame.type !== 'event') return;
    for (const waiter of this.#waiters.filter((w) => w.id === frame.event.id)) waiter.resolve();
  }

  close(code: number, reason: string): void {
    this.closed = { code, reason };
  }

  get eventIds(): string[] {
    return this.frames.flatMap((f) => (f.type === 'event' ? [f.event.id] : []));
  }

  /** Resolves when the event with this id has arrived (at once if it already has). */
  waitForEvent(id: string, ms = 5_000): Promise<void> {
    if (this.eventIds.includes(id)) return Promise.resolve();
    return within(new Promise<void>((resolve) => this.#waiters.push({ id, resolve })), ms, `event ${id}`);
  }
}
