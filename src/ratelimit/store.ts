import type { RateLimitDecision, RateLimitPolicy } from './policy.ts';

/**
 * Counts hits in fixed windows: window n covers [n * w, (n + 1) * w) since the
 * epoch, so every process computes the same window for the same instant and a
 * bucket is simply "policy, window, key". A client can burst up to twice the
 * limit across a window boundary; that is the accepted price of one counter
 * per bucket.
 */
export interface RateLimitStore {
  /** Counts one request for `key` under `policy` and says whether it is within the limit. */
  hit(key: string, policy: RateLimitPolicy): Promise<RateLimitDecision>;
  close(): Promise<void>;
}

export interface FixedWindow {
  /** floor(now / window): part of the bucket key, so a new window starts from zero without deleting anything. */
  number: number;
  /** Milliseconds from `nowMs` to the end of the window, at least 1. */
  msToReset: number;
}

export function fixedWindow(nowMs: number, policy: RateLimitPolicy): FixedWindow {
  const windowMs = policy.windowSeconds * 1000;
  const number = Math.floor(nowMs / windowMs);
  return { number, msToReset: Math.max(1, (number + 1) * windowMs - nowMs) };
}

/** The key's bucket in one window. The caller's key goes last, so a ':' inside it cannot collide with another policy or window. */
export function bucketKey(key: string, policy: RateLimitPolicy, windowNumber: number): string {
  return `${policy.name}:${windowNumber}:${key}`;
}

/** The decision for the `count`-th hit in a window that resets in `msToReset`. */
export function decide(policy: RateLimitPolicy, count: number, msToReset: number): RateLimitDecision {
  return {
    allowed: count <= policy.limit,
    policy,
    remaining: Math.max(0, policy.limit - count),
    // Rounded up: Retry-After must not send a client back before the window has really reset.
    resetSeconds: Math.max(1, Math.ceil(msToReset / 1000)),
  };
}
