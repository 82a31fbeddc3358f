import { Redis } from 'ioredis';
import type { Logger } from '../logger.ts';
import { createMemoryStore } from './memory-store.ts';
import type { RateLimitDecision, RateLimitPolicy } from './policy.ts';
import { bucketKey, decide, fixedWindow, type RateLimitStore } from './store.ts';

/**
 * One round trip, atomic on the server: concurrent hits from any number of
 * processes each get a distinct count. The expiry is set with the first hit of
 * a bucket (and repaired if a key somehow has none), so buckets of ended
 * windows delete themselves. Returns { count, milliseconds to expiry }.
 */
const HIT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return { count, ttl }
`;

/** While degraded, Redis is retried by at most one request at a time, this often, so an unanswering Redis slows almost nobody. */
const PROBE_INTERVAL_MS = 500;

export interface RedisStoreOptions {
  url: string;
  logger: Logger;
  /** Prepended to every key; tests pass their own to stay apart. */
  keyPrefix?: string;
  /** How long one hit waits for Redis before answering from memory. */
  commandTimeoutMs?: number;
}

export interface RedisRateLimitStore extends RateLimitStore {
  /** True while Redis is unreachable and hits are counted in this process only; for health checks and metrics. */
  readonly degraded: boolean;
}

type HitCommand = (key: string, ttlMs: number) => Promise<[number, number]>;

/**
 * Counts in Redis, shared by every process. When Redis fails, hits are counted
 * in this process instead: limits then hold per process, not cluster-wide, but
 * no request is refused because Redis is down (availability over strictness,
 * see docs/rate-limits.md). One warning when that starts, one info line when
 * Redis answers again; ioredis reconnects by itself meanwhile.
 *
 * Resolves once the first connection attempt has succeeded or failed, so the
 * first requests after startup do not all fail over while Redis is connecting.
 */
export async function createRedisStore(options: RedisStoreOptions): Promise<RedisRateLimitStore> {
  const { logger } = options;
  const prefix = options.keyPrefix ?? 'palisade:rl:';
  const redis = new Redis(options.url, {
    lazyConnect: true,
    // Fail fast instead of queueing: a hit that cannot be answered now is answered from memory.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs ?? 250,
    // A connection that leaves commands unanswered this long is dropped and reopened: a silently broken TCP
    // connection (a partition, no reset) would otherwise make every probe wait for its timeout for minutes.
    socketTimeout: 2_000,
    connectTimeout: 1_000,
    // Reconnect quickly and keep trying forever; recovery is noticed by the next hit that reaches Redis.
    retryStrategy: (times) => Math.min(times * 100, 1_000),
  });
  // Connection errors are reported through `degraded` and the warning below; without a listener ioredis prints them to stderr.
  redis.on('error', (error: Error) => logger.debug({ err: error.message }, 'rate limit redis connection error'));
  redis.defineCommand('palisadeRateLimitHit', { numberOfKeys: 1, lua: HIT_SCRIPT });
  const hitScript = (redis as unknown as { palisadeRateLimitHit: HitCommand }).palisadeRateLimitHit.bind(redis);
  const fallback = createMemoryStore();

  let degraded = false;
  let probing = false;
  let lastProbeAt = 0;
  let closed = false;
  /**
   * While degraded, Redis is also asked (PING) on a timer, so recovery does not wait for a request: readiness
   * reports the store's state, and an instance a load balancer took out of service gets no requests at all.
   */
  let pinger: NodeJS.Timeout | undefined;

  function degrade(error: unknown): void {
    if (degraded) return;
    degraded = true;
    lastProbeAt = Date.now();
    logger.warn(
      { err: error instanceof Error ? error.message : String(error) },
      'rate limit store: Redis unreachable, counting per process until it answers again',
    );
    if (!closed) {
      pinger = setInterval(() => void ping(), PROBE_INTERVAL_MS);
      pinger.unref();
    }
  }

  function recover(): void {
    degraded = false;
    clearInterval(pinger);
    pinger = undefined;
    logger.info('rate limit store: Redis answers again, counting is shared again');
  }

  async function ping(): Promise<void> {
    if (!degraded || probing || redis.status !== 'ready') return;
    probing = true;
    lastProbeAt = Date.now();
    try {
      await redis.ping();
      if (degraded) recover();
    } catch {
      // Still unreachable; the next tick tries again.
    } finally {
      probing = false;
    }
  }

  try {
    await redis.connect();
  } catch (error) {
    degrade(error);
  }

  return {
    get degraded() {
      return degraded;
    },

    async hit(key: string, policy: RateLimitPolicy): Promise<RateLimitDecision> {
      const probe = degraded;
      if (probe) {
        if (redis.status !== 'ready' || probing || Date.now() - lastProbeAt < PROBE_INTERVAL_MS) return fallback.hit(key, policy);
        probing = true;
        lastProbeAt = Date.now();
      }
      const window = fixedWindow(Date.now(), policy);
      try {
        const [count, ttlMs] = await hitScript(prefix + bucketKey(key, policy, window.number), window.msToReset);
        // Only a hit sent while degraded proves recovery: a slow answer to an older command does not.
        if (probe && degraded) recover();
        return decide(policy, count, ttlMs);
      } catch (error) {
        degrade(error);
        return fallback.hit(key, policy);
      } finally {
        if (probe) probing = false;
      }
    },

    async close(): Promise<void> {
      closed = true;
      clearInterval(pinger);
      await fallback.close();
      if (redis.status === 'ready') {
        await redis.quit().catch(() => redis.disconnect());
      } else {
        redis.disconnect();
      }
    },
  };
}
