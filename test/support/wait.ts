/**
 * Polls `read` until `done` accepts its value: the value, or, after `timeoutMs`, an error naming what was
 * awaited. For states that background work reaches eventually (deliveries, recovery after an outage).
 */
export async function waitFor<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 20_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await read();
    if (done(value)) return value;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/**
 * Waits until `check` holds, counting a check that throws as "not yet" (a service coming back); resolves with
 * the milliseconds it took.
 */
export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 15_000, everyMs = 50): Promise<number> {
  const started = Date.now();
  await waitFor(
    what,
    () => check().catch(() => false),
    (ok) => ok,
    timeoutMs,
    everyMs,
  );
  return Date.now() - started;
}

/**
 * Rate limits count in fixed windows of 60 s, the same for every process and aligned to the epoch
 * (src/ratelimit/store.ts): a test whose requests must all be counted in one window waits for the next
 * window when fewer than `needMs` are left of the current one. Without it, a test that happened to start
 * just before a window's end saw its later requests counted afresh.
 */
export async function clearOfWindowEnd(needMs = 15_000): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < needMs) await new Promise((r) => setTimeout(r, left + 250));
}
