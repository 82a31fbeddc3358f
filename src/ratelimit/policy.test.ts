import { describe, expect, it } from 'vitest';
import { ANONYMOUS_POLICY, AUTH_POLICY, PLAN_POLICIES, scalePolicies } from './policy.ts';

describe('rate limit policies', () => {
  it('has the documented defaults, per minute', () => {
    expect(Object.values(PLAN_POLICIES).map((p) => [p.name, p.limit, p.windowSeconds])).toEqual([
      ['plan-starter', 600, 60],
      ['plan-growth', 1200, 60],
      ['plan-business', 3000, 60],
      ['plan-enterprise', 10_000, 60],
    ]);
    expect(ANONYMOUS_POLICY).toEqual({ name: 'anonymous', limit: 120, windowSeconds: 60 });
    expect(AUTH_POLICY).toEqual({ name: 'auth', limit: 10, windowSeconds: 60 });
  });

  it('scales every limit by the multiplier and keeps names and windows', () => {
    const doubled = scalePolicies(2);
    expect(doubled.plans.starter).toEqual({ name: 'plan-starter', limit: 1200, windowSeconds: 60 });
    expect(doubled.plans.enterprise.limit).toBe(20_000);
    expect(doubled.anonymous.limit).toBe(240);
    expect(doubled.auth.limit).toBe(20);
    expect(scalePolicies(0.5).auth.limit).toBe(5);
    expect(scalePolicies(1).plans).toEqual(PLAN_POLICIES);
    // The defaults themselves are not changed.
    expect(PLAN_POLICIES.starter.limit).toBe(600);
  });

  it('never scales a limit below 1 and refuses a multiplier that is not a positive number', () => {
    expect(scalePolicies(0.0001).auth.limit).toBe(1);
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => scalePolicies(bad)).toThrow(RangeError);
  });
});
