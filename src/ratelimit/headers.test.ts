import { describe, expect, it } from 'vitest';
import { rateLimitHeaders, sfString } from './headers.ts';
import { PLAN_POLICIES } from './policy.ts';

describe('RateLimit header fields', () => {
  it('describes the policy and the current window of an allowed request', () => {
    const headers = rateLimitHeaders({ allowed: true, policy: PLAN_POLICIES.starter, remaining: 599, resetSeconds: 42 });
    expect(headers).toEqual({
      'RateLimit-Policy': '"plan-starter";q=600;w=60',
      RateLimit: '"plan-starter";r=599;t=42',
    });
  });

  it('adds Retry-After, equal to the reset, to a refusal', () => {
    const policy = { name: 'auth', limit: 10, windowSeconds: 60 };
    expect(rateLimitHeaders({ allowed: false, policy, remaining: 0, resetSeconds: 17 })).toEqual({
      'RateLimit-Policy': '"auth";q=10;w=60',
      RateLimit: '"auth";r=0;t=17',
      'Retry-After': '17',
    });
  });

  it('quotes policy names as structured field strings and refuses names that cannot be one', () => {
    expect(sfString('plan-growth')).toBe('"plan-growth"');
    expect(sfString('say "hi" \\ bye')).toBe('"say \\"hi\\" \\\\ bye"');
    expect(() => sfString('café')).toThrow(TypeError);
    expect(() => sfString('line\nbreak')).toThrow(TypeError);
  });
});
