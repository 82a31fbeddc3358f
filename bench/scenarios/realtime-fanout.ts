import { Redis } from 'ioredis';
import { WebSocket } from 'ws';
import { DEFAULT_REALTIME_CHANNEL } from '../../src/realtime/broker.ts';
import { type ApiKey, createApiKey, createTenant, touchTenant } from '../api.ts';
import { assertLoopback } from '../database.ts';
import type { ServerProcess } from '../http.ts';
import { sleep, waitUntil } from '../loop.ts';
import type { Observation } from '../report.ts';
import { percentile } from '../stats.ts';
import type { EventScenarioContext } from './context.ts';

export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const EVENT_TYPE = 'tenant.updated';

/** One client socket and what it received. */
interface Listener {
  ws: WebSocket;
  server: 'A' | 'B';
  /** First receipt of each event by id: the event's time and receipt minus it (ms). */
  seen: Map<string, { occurredAt: number; lagMs: number }>;
  duplicates: number;
  /** Set if the socket closed before the scenario closed it. */
  closedWith?: number;
}

type Frame = { type: 'ready' } | { type: 'event'; event: { id: string; type: string; timestamp: string } } | { type: string };

/** Fails fast (the run checks before loading data) when the Redis the two processes would share is not there. */
export async function assertRedis(url: string): Promise<void> {
  assertLoopback(url, 'BENCH_REDIS_URL');
  const probe = new Redis(url, { lazyConnect: true, connectTimeout: 2_000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  try {
    await probe.connect();
    await probe.ping();
  } catch (error) {
    throw new Error(`realtime_fanout needs Redis at ${url} (BENCH_REDIS_URL): ${error instanceof Error ? error.message : error}`);
  } finally {
    probe.disconnect();
  }
}

/** Opens a socket with the API key (as a server-side integrator does) and resolves at the `ready` frame. */
function connect(serverUrl: string, server: 'A' | 'B', apiKey: string): Promise<Listener> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${serverUrl.replace(/^http/, 'ws')}/api/v1/realtime`, {
      headers: { 'x-api-key': apiKey },
      handshakeTimeout: 10_000,
    });
    const listener: Listener = { ws, server, seen: new Map(), duplicates: 0 };
    ws.on('message', (data) => {
      const receivedAt = Date.now(); // before parsing: the frame is here
      const frame = JSON.parse(String(data)) as Frame;
      if (frame.type === 'ready') resolve(listener);
      if (!('event' in frame) || frame.event.type !== EVENT_TYPE) return;
      if (listener.seen.has(frame.event.id)) {
        listener.duplicates++;
        return;
      }
      const occurredAt = Date.parse(frame.event.timestamp);
      listener.seen.set(frame.event.id, { occurredAt, lagMs: receivedAt - occurredAt });
    });
    // A refused handshake or a reset before `ready` rejects; later errors end in `close`.
    ws.on('error', reject);
    ws.on('close', (code) => {
      listener.closedWith = code;
      reject(new Error(`realtime socket closed with ${code} before it was ready`));
    });
  });
}

/** Connects every target, `concurrency` handshakes at a time; the first failure stops the rest. */
async function connectAll(
  targets: Array<{ url: string; server: 'A' | 'B' }>,
  apiKey: string,
  concurrency: number,
  into: Listener[],
): Promise<void> {
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (failure === undefined && next < targets.length) {
      const target = targets[next++] as (typeof targets)[number];
      try {
        into.push(await connect(target.url, target.server, apiKey));
      } catch (error) {
        failure ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (failure !== undefined) throw failure;
}

/**
 * `count` events through `server`, one every `intervalMs` (or back to back if a request takes longer);
 * returns each request's duration in ms, which bounds how far an event's timestamp precedes its commit.
 */
async function sendEvents(server: ServerProcess, key: ApiKey, count: number, intervalMs: number): Promise<number[]> {
  const started = Date.now();
  const durations: number[] = [];
  for (let i = 0; i < count; i++) {
    await sleep(started + i * intervalMs - Date.now());
    const t0 = performance.now();
    await touchTenant(server.url, key, i);
    durations.push(performance.now() - t0);
  }
  return durations;
}

/**
 * Listens on the realtime channel like one more process would and stamps each of the tenant's events
 * when it appears there: the lag up to the dispatcher's publish, without the fan-out to sockets.
 */
async function watchChannel(url: string, tenantId: string) {
  const published = new Map<string, { occurredAt: number; lagMs: number }>();
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  redis.on('message', (_channel: string, message: string) => {
    const receivedAt = Date.now();
    const event = JSON.parse(message) as { id: string; tenantId: string; type: string; timestamp: string };
    if (event.tenantId !== tenantId || event.type !== EVENT_TYPE || published.has(event.id)) return;
    const occurredAt = Date.parse(event.timestamp);
    published.set(event.id, { occurredAt, lagMs: receivedAt - occurredAt });
  });
  await redis.subscribe(DEFAULT_REALTIME_CHANNEL);
  return { published, close: () => redis.disconnect() };
}

/**
 * realtime_fanout: events committed through one process reaching WebSocket
 * clients on two. Process A runs the job runner (it dispatches and publishes
 * to Redis); process B has WORKER_ENABLED=false, so everything its sockets
 * receive came through Redis pub/sub. Both hubs receive every event from
 * Redis, A's own included. Half the clients connect to each, all subscribed
 * to one tenant with an API key holding events:read. The main bench server
 * must be stopped first: its worker would otherwise claim dispatch jobs and
 * publish them to its in-process broker only.
 *
 * Lag is each client's receipt time minus the event's `timestamp` (occurred_at,
 * the now() of the transaction that wrote it; events are sent one at a time,
 * so no lock wait sits in between). Receipt is stamped in this process's event
 * loop, which serves every client socket: the figures include its queueing.
 */
export async function realtimeFanout(ctx: EventScenarioContext): Promise<Observation> {
  const { clients, connectConcurrency, events, warmupEvents, intervalMs, waitSeconds } = ctx.settings.realtime;
  console.error(`\nrealtime_fanout: ${clients} sockets on 2 processes, ${events} events, one every ${intervalMs} ms`);
  await assertRedis(REDIS_URL);
  // One after the other: each applies migrations at start.
  const a = await ctx.startServer({ REDIS_URL, WORKER_ENABLED: 'true' });
  const b = await ctx.startServer({ REDIS_URL, WORKER_ENABLED: 'false' });
  const listeners: Listener[] = [];
  let channel: Awaited<ReturnType<typeof watchChannel>> | undefined;
  try {
    const tenantId = await createTenant(a.url, ctx.owner.cookie, 'Realtime bench', 'realtime-bench');
    channel = await watchChannel(REDIS_URL, tenantId);
    const writer = await createApiKey(a.url, ctx.owner.cookie, tenantId, {
      name: 'writer',
      role: 'admin',
      scopes: ['tenant:write'],
    });
    const reader = await createApiKey(a.url, ctx.owner.cookie, tenantId, {
      name: 'sockets',
      role: 'member',
      scopes: ['events:read'],
    });

    const connectStarted = performance.now();
    const targets = Array.from({ length: clients }, (_, i) =>
      i % 2 === 0 ? { url: a.url, server: 'A' as const } : { url: b.url, server: 'B' as const },
    );
    await connectAll(targets, reader.secret, connectConcurrency, listeners);
    const connectSeconds = (performance.now() - connectStarted) / 1000;
    console.error(`  ${listeners.length} sockets ready in ${connectSeconds.toFixed(1)} s`);

    // Unmeasured warm-up; whatever arrived until now is forgotten (and filtered by time below, in case).
    await sendEvents(a, writer, warmupEvents, intervalMs);
    await waitUntil(() => listeners.every((l) => l.seen.size >= warmupEvents), waitSeconds * 1000, 50);
    for (const l of listeners) l.seen.clear();

    const started = Date.now();
    const writes = await sendEvents(a, writer, events, intervalMs);
    const complete = await waitUntil(() => listeners.every((l) => l.seen.size >= events), waitSeconds * 1000, 50);

    const lagsOf = (server?: 'A' | 'B') =>
      listeners
        .filter((l) => server === undefined || l.server === server)
        .flatMap((l) => [...l.seen.values()].filter((s) => s.occurredAt >= started).map((s) => s.lagMs));
    const lags = lagsOf();
    const publishLags = [...channel.published.values()].filter((p) => p.occurredAt >= started).map((p) => p.lagMs);
    const share = lags.length / (listeners.length * events);
    const closed = listeners.filter((l) => l.closedWith !== undefined).length;
    const duplicates = listeners.reduce((sum, l) => sum + l.duplicates, 0);
    const figures = {
      realtime_clients: listeners.length,
      realtime_events: events,
      realtime_connect_s: connectSeconds,
      realtime_lag_p50_ms: percentile(lags, 50),
      realtime_lag_p99_ms: percentile(lags, 99),
      realtime_lag_max_ms: percentile(lags, 100),
      realtime_lag_p99_worker_process_ms: percentile(lagsOf('A'), 99),
      realtime_lag_p99_other_process_ms: percentile(lagsOf('B'), 99),
      realtime_publish_lag_p50_ms: percentile(publishLags, 50),
      realtime_publish_lag_p99_ms: percentile(publishLags, 99),
      realtime_write_p50_ms: percentile(writes, 50),
      realtime_duplicates: duplicates,
      realtime_closed_early: closed,
    };
    const summary = [
      `${listeners.length} sockets (connected in ${connectSeconds.toFixed(1)} s), ${events} events: ` +
        `${lags.length} of ${listeners.length * events} deliveries${complete ? '' : ` (gave up after ${waitSeconds} s)`}, ` +
        `${duplicates} duplicates, ${closed} sockets closed early`,
      `lag event to receipt p50 ${figures.realtime_lag_p50_ms} ms, p99 ${figures.realtime_lag_p99_ms} ms, ` +
        `max ${figures.realtime_lag_max_ms} ms (p99 on the worker's process ${figures.realtime_lag_p99_worker_process_ms} ms, ` +
        `on the other ${figures.realtime_lag_p99_other_process_ms} ms)`,
      `of which event to publish on Redis p50 ${figures.realtime_publish_lag_p50_ms} ms, p99 ${figures.realtime_publish_lag_p99_ms} ms; ` +
        `the PATCH writing each event took p50 ${figures.realtime_write_p50_ms.toFixed(1)} ms`,
    ];
    for (const line of summary) console.error(`  ${line}`);
    return { name: 'realtime_fanout', ratios: { realtime_delivered_share: share }, figures, summary };
  } finally {
    channel?.close();
    for (const l of listeners) l.ws.terminate();
    await Promise.all([a.stop(), b.stop()]);
  }
}
