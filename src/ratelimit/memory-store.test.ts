import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMemoryStore } from './memory-store.ts';
import type { RateLimitPolicy } from './policy.ts';

const perMinute: RateLimitPolicy = { name: 'test-minute', limit: 3, windowSeconds: 60 };

/** A clock the test moves by hand; starts half a second into a window. */
function manualClock(start = 1_700_000_040_500) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

describe('memory rate limit store', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('allows exactly `limit` hits per window and never reports a negative remainder', async () => {
    const clock = manualClock();
    const store = createMemoryStore({ now: clock.now, sweepIntervalMs: 0 });
    const decisions = [];
    for (let i = 0; i < 6; i++) decisions.push(await store.hit('key-a', perMinute));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false, false, false]);
    expect(decisions.map((d) => d.remaining)).toEqual([2, 1, 0, 0, 0, 0]);
    // 59.5 s left in the window, rounded up.
    expect(decisions.map((d) => d.resetSeconds)).toEqual([60, 60, 60, 60, 60, 60]);
    expect(decisions[0]?.policy).toBe(perMinute);
    await store.close();
  });

  it('keeps keys and policies apart', async () => {
    const clock = manualClock();
    const store = createMemoryStore({ now: clock.now, sweepIntervalMs: 0 });
    const other: RateLimitPolicy = { name: 'test-other', limit: 1, windowSeconds: 60 };
    for (let i = 0; i < 3; i++) await store.hit('key-a', perMinute);
    expect((await store.hit('key-a', perMinute)).allowed).toBe(false);
    expect((await store.hit('key-b', perMinute)).remaining).toBe(2);
    expect((await store.hit('key-a', other)).allowed).toBe(true);
    expect((await store.hit('key-a', other)).allowed).toBe(false);
    await store.close();
  });

  it('starts a new count when the window ends, and counts down the seconds to that moment', async () => {
    const clock = manualClock();
    const store = createMemoryStore({ now: clock.now, sweepIntervalMs: 0 });
    for (let i = 0; i < 4; i++) await store.hit('key-a', perMinute);
    clock.advance(58_000); // 1.5 s left
    const refused = await store.hit('key-a', perMinute);
    expect(refused).toMatchObject({ allowed: false, remaining: 0, resetSeconds: 2 });
    clock.advance(1_499); // 1 ms left
    expect(await store.hit('key-a', perMinute)).toMatchObject({ allowed: false, resetSeconds: 1 });
    clock.advance(1); // the next window
    expect(await store.hit('key-a', perMinute)).toMatchObject({ allowed: true, remaining: 2, resetSeconds: 60 });
    await store.close();
  });

  it('sweeps the buckets of ended windows and keeps the live ones', async () => {
    const clock = manualClock();
    const store = createMemoryStore({ now: clock.now, sweepIntervalMs: 0 });
    for (let i = 0; i < 100; i++) await store.hit(`ip-${i}`, perMinute);
    expect(store.size).toBe(100);
    expect(store.sweep()).toBe(0);
    clock.advance(60_000);
    await store.hit('ip-live', perMinute);
    expect(store.sweep()).toBe(100);
    expect(store.size).toBe(1);
    // The survivor still counts where it was.
    expect((await store.hit('ip-live', perMinute)).remaining).toBe(1);
    await store.close();
  });

  it('sweeps on its own timer', async () => {
    vi.useFakeTimers({ now: 1_700_000_040_000 });
    const store = createMemoryStore({ sweepIntervalMs: 10_000 });
    for (let i = 0; i < 10; i++) await store.hit(`ip-${i}`, perMinute);
    vi.advanceTimersByTime(50_000);
    expect(store.size).toBe(10);
    vi.advanceTimersByTime(20_000);
    expect(store.size).toBe(0);
    await store.close();
  });
});
