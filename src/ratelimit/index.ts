import type { Logger } from '../logger.ts';
import { createMemoryStore } from './memory-store.ts';
import { createRedisStore } from './redis-store.ts';
import type { RateLimitStore } from './store.ts';

export { rateLimitHeaders } from './headers.ts';
export { clientIpKey } from './keys.ts';
export { createMemoryStore, type MemoryRateLimitStore } from './memory-store.ts';
export * from './policy.ts';
export { createRedisStore, type RedisRateLimitStore } from './redis-store.ts';
export type { RateLimitStore } from './store.ts';

/** Redis when a URL is configured (counts shared by every process), otherwise this process's memory. */
export async function createRateLimitStore(options: {
  redisUrl?: string | undefined;
  logger: Logger;
  keyPrefix?: string;
}): Promise<RateLimitStore & { readonly degraded: boolean }> {
  if (options.redisUrl) {
    return createRedisStore({
      url: options.redisUrl,
      logger: options.logger,
      ...(options.keyPrefix ? { keyPrefix: options.keyPrefix } : {}),
    });
  }
  const memory = createMemoryStore();
  return {
    degraded: false,
    hit: (key, policy) => memory.hit(key, policy),
    close: () => memory.close(),
  };
}
