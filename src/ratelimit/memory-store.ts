import type { RateLimitDecision, RateLimitPolicy } from './policy.ts';
import { bucketKey, decide, fixedWindow, type RateLimitStore } from './store.ts';

export interface MemoryStoreOptions {
  /** Milliseconds since the epoch; injectable so tests move time instead of sleeping. */
  now?: () => number;
  /** How often expired buckets are dropped; 0 turns the timer off (tests call `sweep()` themselves). */
  sweepIntervalMs?: number;
}

export interface MemoryRateLimitStore extends RateLimitStore {
  /** Drops every bucket whose window has ended; returns how many were dropped. */
  sweep(): number;
  /** Buckets currently held, live or not yet swept. */
  readonly size: number;
}

interface Bucket {
  count: number;
  resetAt: number;
}

/**
 * Counts in this process only: the default when no Redis is configured, and
 * the fallback of the Redis store. A bucket of an ended window is never read
 * again (the next window has another key), so a periodic sweep is all it takes
 * to keep memory proportional to the keys seen in the current window.
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryRateLimitStore {
  const now = options.now ?? Date.now;
  const buckets = new Map<string, Bucket>();

  function sweep(): number {
    const at = now();
    let dropped = 0;
    for (const [key, bucket] of buckets) {
      if (bucket.resetAt <= at) {
        buckets.delete(key);
        dropped++;
      }
    }
    return dropped;
  }

  const interval = options.sweepIntervalMs ?? 60_000;
  // unref: a pending sweep must never keep the process alive at shutdown.
  const timer = interval > 0 ? setInterval(sweep, interval).unref() : undefined;

  return {
    async hit(key: string, policy: RateLimitPolicy): Promise<RateLimitDecision> {
      const at = now();
      const window = fixedWindow(at, policy);
      const id = bucketKey(key, policy, window.number);
      let bucket = buckets.get(id);
      if (!bucket) {
        bucket = { count: 0, resetAt: at + window.msToReset };
        buckets.set(id, bucket);
      }
      // Capped at limit + 1: "over the limit" is all a refused request needs to record.
      bucket.count = Math.min(bucket.count + 1, policy.limit + 1);
      return decide(policy, bucket.count, bucket.resetAt - at);
    },
    sweep,
    get size() {
      return buckets.size;
    },
    async close(): Promise<void> {
      clearInterval(timer);
      buckets.clear();
    },
  };
}
