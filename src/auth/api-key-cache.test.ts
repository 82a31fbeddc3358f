import { describe, expect, it } from 'vitest';
import type { ApiKeyPrincipal } from '../db/tenant.ts';
import { ApiKeyCache } from './principal.ts';

const principal = (apiKeyId: string): ApiKeyPrincipal => ({
  kind: 'apiKey',
  tenantId: '00000000-0000-4000-8000-000000000001',
  apiKeyId,
  role: 'admin',
  scopes: [],
  plan: 'starter',
});

describe('the API key cache', () => {
  it('serves an entry for five minutes and asks for one background resolution after a minute', () => {
    const cache = new ApiKeyCache(60_000, 300_000, 10);
    cache.set('h1', principal('k1'), 0);
    expect(cache.get('h1', 59_999)).toEqual({ principal: principal('k1'), refresh: false });
    // One caller is told to resolve again; the others meanwhile go on with the entry.
    expect(cache.get('h1', 60_000)?.refresh).toBe(true);
    expect(cache.get('h1', 61_000)?.refresh).toBe(false);
    // A failed resolution lets the next request try again.
    cache.refreshFailed('h1');
    expect(cache.get('h1', 62_000)?.refresh).toBe(true);
    // A successful one starts the entry afresh.
    cache.set('h1', principal('k1'), 63_000);
    expect(cache.get('h1', 100_000)?.refresh).toBe(false);
    expect(cache.get('h1', 362_999)?.principal.apiKeyId).toBe('k1');
    expect(cache.get('h1', 363_000)).toBeUndefined();
  });

  it('forgets a key by id or by hash, and drops the oldest entry when full', () => {
    const cache = new ApiKeyCache(60_000, 300_000, 2);
    cache.set('h1', principal('k1'), 0);
    cache.set('h2', principal('k2'), 1);
    cache.set('h3', principal('k3'), 2);
    expect(cache.get('h1', 3)).toBeUndefined();
    expect(cache.get('h2', 3)?.principal.apiKeyId).toBe('k2');
    cache.forget('k2');
    expect(cache.get('h2', 3)).toBeUndefined();
    cache.forgetHash('h3');
    expect(cache.get('h3', 3)).toBeUndefined();
  });
});
