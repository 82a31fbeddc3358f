import { Redis } from 'ioredis';

/** The Redis the tests use: REDIS_URL, or the machine's own. */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

async function reachable(url: string): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, connectTimeout: 2_000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/**
 * Whether suites that need server Redis should run. As with server PostgreSQL
 * (global-setup.ts): mandatory in CI (the test file fails when Redis is down),
 * skipped with a visible notice elsewhere.
 */
export async function serverRedisSuites(what: string): Promise<boolean> {
  if (await reachable(REDIS_URL)) return true;
  if (IN_CI) throw new Error(`CI=true but Redis is not reachable at ${new URL(REDIS_URL).host}`);
  console.warn(
    `\n  NOTICE: Redis is not reachable at ${new URL(REDIS_URL).host}; ${what} are SKIPPED. Set REDIS_URL or start Redis.\n`,
  );
  return false;
}
