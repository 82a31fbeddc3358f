import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freeLoopbackPort } from '../../test/support/free-port.ts';
import { REDIS_URL, serverRedisSuites } from '../../test/support/redis.ts';
import { createLocalBroker, createRedisBroker, type RealtimeEvent, type RedisBroker, toRealtimeEvent } from './broker.ts';
import { RealtimeHub } from './hub.ts';
import { captureLogger, makeEvent, RecordingConnection, silentLogger, subscriber, within } from './test-support.ts';

const redisUp = await serverRedisSuites('the Redis broker tests');

describe('local broker', () => {
  it('delivers to every listener, even when one throws, until it unsubscribes', async () => {
    const { logger, lines } = captureLogger();
    const broker = createLocalBroker({ logger });
    const received: string[] = [];
    broker.subscribe(() => {
      throw new Error('listener bug');
    });
    const unsubscribe = broker.subscribe((event) => received.push(event.id));
    const first = makeEvent('acme', 'contact.created');
    await broker.publish(first);
    unsubscribe();
    await broker.publish(makeEvent('acme', 'contact.created'));
    expect(received).toEqual([first.id]);
    expect(lines.some((l) => l.msg === 'realtime listener failed')).toBe(true);
    await broker.close();
  });

  it("maps the dispatcher's event", () => {
    const occurredAt = new Date('2025-01-02T03:04:05.678Z');
    expect(toRealtimeEvent({ id: 'e1', tenantId: 't1', type: 'member.created', data: { userId: 'u1' }, occurredAt })).toEqual({
      id: 'e1',
      tenantId: 't1',
      type: 'member.created',
      data: { userId: 'u1' },
      timestamp: '2025-01-02T03:04:05.678Z',
    });
  });
});

describe('Redis broker while Redis is unreachable', () => {
  it('rejects publish at once, reports degraded and logs it', async () => {
    const { logger, lines } = captureLogger();
    const broker = createRedisBroker({
      url: `redis://127.0.0.1:${await freeLoopbackPort()}`,
      logger,
      channel: `rt-test-${randomUUID()}`,
    });
    try {
      expect(broker.degraded).toBe(true);
      await expect(broker.publish(makeEvent('acme', 'contact.created'))).rejects.toThrow();
      await expect
        .poll(() => lines.some((l) => l.level === 40 && /Redis unreachable/.test(l.msg)), { timeout: 5_000 })
        .toBe(true);
      // Logged once per outage, not once per reconnect attempt.
      expect(lines.filter((l) => /Redis unreachable/.test(l.msg))).toHaveLength(1);
    } finally {
      await broker.close();
    }
  });
});

describe.skipIf(!redisUp)('Redis broker against real Redis', () => {
  const brokers: RedisBroker[] = [];
  const hubs: RealtimeHub[] = [];

  beforeAll(() => {});
  afterEach(async () => {
    for (const hub of hubs.splice(0)) hub.closeAll(1001, 'test over');
    await Promise.all(brokers.splice(0).map((b) => b.close()));
  });

  /** One server process: its own broker (two Redis connections) and its own hub. */
  async function processOn(channel: string, logger = silentLogger) {
    const broker = createRedisBroker({ url: REDIS_URL, logger, channel });
    brokers.push(broker);
    await within(broker.ready(), 5_000, 'Redis broker ready');
    const hub = new RealtimeHub({ broker, logger });
    hubs.push(hub);
    return { broker, hub };
  }

  it('carries an event published in process A to sockets in process B, and only to its tenant', async () => {
    const channel = `rt-test-${randomUUID()}`;
    const a = await processOn(channel);
    const b = await processOn(channel);
    expect(a.broker.degraded).toBe(false);
    const onA = new RecordingConnection(subscriber('acme', 'u1'));
    const acmeOnB = new RecordingConnection(subscriber('acme', 'u2'));
    const globexOnB = new RecordingConnection(subscriber('globex', 'u3'));
    a.hub.add(onA);
    b.hub.add(acmeOnB);
    b.hub.add(globexOnB);

    const acmeEvent = makeEvent('acme', 'contact.created', { id: 'c1' });
    await a.broker.publish(acmeEvent);
    // One publisher connection, one channel: Redis keeps the order, so once Globex's own later event
    // has arrived, Acme's earlier one would have arrived before it.
    const sentinel = makeEvent('globex', 'contact.created', { id: 'c2' });
    await a.broker.publish(sentinel);
    await globexOnB.waitForEvent(sentinel.id);
    await acmeOnB.waitForEvent(acmeEvent.id);
    await onA.waitForEvent(acmeEvent.id);

    expect(acmeOnB.eventIds).toEqual([acmeEvent.id]);
    expect(onA.eventIds).toEqual([acmeEvent.id]);
    expect(globexOnB.eventIds).toEqual([sentinel.id]);
    expect(acmeOnB.frames[0]).toEqual({
      type: 'event',
      event: { id: acmeEvent.id, type: 'contact.created', timestamp: acmeEvent.timestamp, data: { id: 'c1' } },
    });
  });

  it('closes a removed member’s socket in another process', async () => {
    const channel = `rt-test-${randomUUID()}`;
    const a = await processOn(channel);
    const b = await processOn(channel);
    const removed = new RecordingConnection(subscriber('acme', 'u1'));
    const colleague = new RecordingConnection(subscriber('acme', 'u2'));
    b.hub.add(removed);
    b.hub.add(colleague);
    const removal = makeEvent('acme', 'member.deleted', { userId: 'u1' });
    await a.broker.publish(removal);
    await colleague.waitForEvent(removal.id);
    expect(removed.closed).toEqual({ code: 4403, reason: 'membership removed' });
    expect(b.hub.size).toBe(1);
  });

  it('drops and logs malformed messages on the channel', async () => {
    const channel = `rt-test-${randomUUID()}`;
    const { logger, lines } = captureLogger();
    const b = await processOn(channel, logger);
    const received: RealtimeEvent[] = [];
    b.broker.subscribe((event) => received.push(event));
    const intruder = new Redis(REDIS_URL);
    try {
      await intruder.publish(channel, 'not json');
      await intruder.publish(channel, JSON.stringify({ id: 'x', tenantId: 'acme', type: 'contact.created' }));
      const valid = makeEvent('acme', 'contact.created');
      await intruder.publish(channel, JSON.stringify(valid));
      await expect.poll(() => received.length, { timeout: 5_000 }).toBe(1);
      expect(received[0]).toEqual(valid);
      expect(lines.filter((l) => l.msg === 'realtime: dropped a malformed message')).toHaveLength(2);
    } finally {
      intruder.disconnect();
    }
  });
});
