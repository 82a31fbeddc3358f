import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_URL, serverRedisSuites } from '../../test/support/redis.ts';
import { TcpProxy } from '../../test/support/tcp-proxy.ts';
import { createLogger, type Logger } from '../logger.ts';
import type { RateLimitPolicy } from './policy.ts';
import { createRedisStore, type RedisRateLimitStore } from './redis-store.ts';
import { fixedWindow } from './store.ts';

const reachable = await serverRedisSuites('the Redis rate limit store tests');

/** A logger whose lines the test can read. */
interface LogLine {
  level: number;
  msg: string;
  err?: string;
}

function capturedLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line));
      callback();
    },
  });
  return { logger: createLogger('info', destination), lines };
}

const WARN = 40;
const INFO = 30;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** A window long enough that a burst of hits cannot straddle two windows; waits if one is about to end. */
async function longWindowPolicy(name: string, limit: number): Promise<RateLimitPolicy> {
  const policy = { name, limit, windowSeconds: 3600 };
  const { msToReset } = fixedWindow(Date.now(), policy);
  if (msToReset < 5_000) await new Promise((resolve) => setTimeout(resolve, msToReset + 50));
  return policy;
}

describe.skipIf(!reachable)('Redis rate limit store', () => {
  let admin: Redis;
  const stores: RedisRateLimitStore[] = [];
  const prefixes: string[] = [];

  beforeAll(async () => {
    admin = new Redis(REDIS_URL);
  });

  afterAll(async () => {
    await Promise.all(stores.map((store) => store.close()));
    for (const prefix of prefixes) {
      const keys = await admin.keys(`${prefix}*`);
      if (keys.length > 0) await admin.del(...keys);
    }
    await admin?.quit();
  });

  /** A key prefix of this test's own, cleaned up after the file. */
  function uniquePrefix(): string {
    const prefix = `palisade:rl-test:${randomBytes(6).toString('hex')}:`;
    prefixes.push(prefix);
    return prefix;
  }

  async function store(options: { url?: string; keyPrefix: string; logger?: Logger }): Promise<RedisRateLimitStore> {
    const created = await createRedisStore({
      url: options.url ?? REDIS_URL,
      keyPrefix: options.keyPrefix,
      logger: options.logger ?? capturedLogger().logger,
    });
    stores.push(created);
    return created;
  }

  it('counts exactly in one expiring Redis key per policy, window and client key', async () => {
    const keyPrefix = uniquePrefix();
    const s = await store({ keyPrefix });
    const policy = await longWindowPolicy('test-exact', 5);
    const decisions = [];
    for (let i = 0; i < 7; i++) decisions.push(await s.hit('tenant-1:key-1', policy));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, true, true, false, false]);
    expect(decisions.map((d) => d.remaining)).toEqual([4, 3, 2, 1, 0, 0, 0]);
    for (const d of decisions) expect(d.resetSeconds).toBeGreaterThanOrEqual(1);
    for (const d of decisions) expect(d.resetSeconds).toBeLessThanOrEqual(3600);
    expect(s.degraded).toBe(false);

    const window = fixedWindow(Date.now(), policy).number;
    expect(await admin.keys(`${keyPrefix}*`)).toEqual([`${keyPrefix}test-exact:${window}:tenant-1:key-1`]);
    expect(await admin.get(`${keyPrefix}test-exact:${window}:tenant-1:key-1`)).toBe('7');
    const ttl = await admin.pttl(`${keyPrefix}test-exact:${window}:tenant-1:key-1`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(3_600_000);
  });

  it('shares one exact count between processes: 200 concurrent hits from two connections, limit 50, allow 50', async () => {
    const keyPrefix = uniquePrefix();
    const [a, b] = await Promise.all([store({ keyPrefix }), store({ keyPrefix })]);
    if (!a || !b) throw new Error('stores not created');
    const policy = await longWindowPolicy('test-shared', 50);
    const decisions = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? a : b).hit('shared-key', policy)));
    const allowed = decisions.filter((d) => d.allowed);
    expect(allowed).toHaveLength(50);
    // Every allowed hit saw its own count: the remainders are 49..0, each once.
    expect(allowed.map((d) => d.remaining).sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(decisions.filter((d) => !d.allowed).every((d) => d.remaining === 0)).toBe(true);
    expect(a.degraded || b.degraded).toBe(false);
  });

  it('answers from memory when Redis is unreachable, still enforcing the limit, with one warning', async () => {
    const port = await freePort();
    const { logger, lines } = capturedLogger();
    const s = await store({ url: `redis://127.0.0.1:${port}`, keyPrefix: uniquePrefix(), logger });
    expect(s.degraded).toBe(true);
    const policy = await longWindowPolicy('test-down', 3);
    const decisions = [];
    for (let i = 0; i < 5; i++) decisions.push(await s.hit('ip-1', policy));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false, false]);
    expect(decisions[4]?.resetSeconds).toBeGreaterThanOrEqual(1);
    await Promise.all(Array.from({ length: 50 }, () => s.hit('ip-2', policy)));
    expect(s.degraded).toBe(true);
    const warnings = lines.filter((line) => line.level === WARN);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.msg).toMatch(/Redis unreachable/);
    expect(lines.filter((line) => line.level === INFO)).toHaveLength(0);
  });

  it('answers from memory when Redis stops answering on an open connection (command timeout)', async () => {
    const proxy = new TcpProxy(await freePort(), new URL(REDIS_URL).hostname, Number(new URL(REDIS_URL).port || 6379));
    await proxy.start();
    const keyPrefix = uniquePrefix();
    const { logger, lines } = capturedLogger();
    const s = await store({ url: proxy.urlFor(REDIS_URL), keyPrefix, logger });
    const policy = await longWindowPolicy('test-timeout', 3);
    expect((await s.hit('warm-up', policy)).allowed).toBe(true);

    proxy.freeze();
    const decisions = [];
    for (let i = 0; i < 5; i++) decisions.push(await s.hit('ip-1', policy));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false, false]);
    expect(s.degraded).toBe(true);
    const warnings = lines.filter((line) => line.level === WARN);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.err).toMatch(/timed out/i);

    proxy.thaw();
    await expect
      .poll(
        async () => {
          await s.hit('after', policy);
          return s.degraded;
        },
        { timeout: 15_000, interval: 100 },
      )
      .toBe(false);
    expect(lines.filter((line) => line.level === INFO)).toHaveLength(1);
    await s.close();
    await proxy.stop();
  });

  it('fails over when Redis goes away and counts in Redis again once it is back, logging each change once', async () => {
    const proxy = new TcpProxy(await freePort(), new URL(REDIS_URL).hostname, Number(new URL(REDIS_URL).port || 6379));
    await proxy.start();
    const keyPrefix = uniquePrefix();
    const { logger, lines } = capturedLogger();
    const s = await store({ url: proxy.urlFor(REDIS_URL), keyPrefix, logger });
    const policy = await longWindowPolicy('test-recovery', 1000);
    const window = fixedWindow(Date.now(), policy).number;

    expect((await s.hit('before', policy)).allowed).toBe(true);
    expect(s.degraded).toBe(false);
    expect(await admin.get(`${keyPrefix}test-recovery:${window}:before`)).toBe('1');

    await proxy.stop();
    // The first of these fails in Redis and is answered from memory; the limit holds in this process.
    const strict = { ...policy, name: 'test-recovery-strict', limit: 3 };
    const during = [];
    for (let i = 0; i < 5; i++) during.push(await s.hit('during', strict));
    expect(during.map((d) => d.allowed)).toEqual([true, true, true, false, false]);
    expect(s.degraded).toBe(true);
    expect(await admin.get(`${keyPrefix}test-recovery-strict:${window}:during`)).toBeNull();

    await proxy.start();
    // ioredis reconnects by itself; the next hit that reaches Redis ends the degraded state.
    await expect
      .poll(
        async () => {
          await s.hit('after', policy);
          return s.degraded;
        },
        { timeout: 15_000, interval: 100 },
      )
      .toBe(false);
    await s.hit('back', policy);
    expect(await admin.get(`${keyPrefix}test-recovery:${window}:back`)).toBe('1');

    expect(lines.filter((line) => line.level === WARN)).toHaveLength(1);
    const infos = lines.filter((line) => line.level === INFO);
    expect(infos).toHaveLength(1);
    expect(infos[0]?.msg).toMatch(/answers again/);
    await s.close();
    await proxy.stop();
  });
});
