import type { Plan } from '../db/tenant-table.ts';

/** At most `limit` requests per fixed window of `windowSeconds`, counted per key. */
export interface RateLimitPolicy {
  /** Shown to clients in the RateLimit header fields and part of every bucket key. */
  name: string;
  limit: number;
  windowSeconds: number;
}

export interface RateLimitDecision {
  allowed: boolean;
  policy: RateLimitPolicy;
  /** Requests still allowed in this window, never negative. */
  remaining: number;
  /** Whole seconds until the window resets, at least 1 (rounded up, so a client that waits this long is not refused again). */
  resetSeconds: number;
}

/** Per tenant plan, for API keys and signed-in users. */
export const PLAN_POLICIES: Readonly<Record<Plan, RateLimitPolicy>> = {
  starter: { name: 'plan-starter', limit: 600, windowSeconds: 60 },
  growth: { name: 'plan-growth', limit: 1200, windowSeconds: 60 },
  business: { name: 'plan-business', limit: 3000, windowSeconds: 60 },
  enterprise: { name: 'plan-enterprise', limit: 10_000, windowSeconds: 60 },
};

/** Per client IP, for routes that need no authentication. */
export const ANONYMOUS_POLICY: RateLimitPolicy = { name: 'anonymous', limit: 120, windowSeconds: 60 };

/** Per client IP for sign-in, sign-up and password reset: strict, because these are what credential stuffing hits. */
export const AUTH_POLICY: RateLimitPolicy = { name: 'auth', limit: 10, windowSeconds: 60 };

/** Per chat widget, over all its visitors: one busy page cannot exhaust the tenant's model budget in a burst. */
export const WIDGET_POLICY: RateLimitPolicy = { name: 'widget', limit: 300, windowSeconds: 60 };

/** Per widget visitor (one conversation): a person types a few questions a minute. */
export const WIDGET_VISITOR_POLICY: RateLimitPolicy = { name: 'widget-visitor', limit: 20, windowSeconds: 60 };

export interface RateLimitPolicies {
  plans: Record<Plan, RateLimitPolicy>;
  anonymous: RateLimitPolicy;
  auth: RateLimitPolicy;
  widget: RateLimitPolicy;
  widgetVisitor: RateLimitPolicy;
}

/** A policy with its limit multiplied by `factor`, rounded, and never below 1 (a limit of 0 would lock everyone out). */
export function scalePolicy(policy: RateLimitPolicy, factor: number): RateLimitPolicy {
  if (!Number.isFinite(factor) || factor <= 0)
    throw new RangeError(`rate limit multiplier must be a positive number, got ${factor}`);
  return { ...policy, limit: Math.max(1, Math.round(policy.limit * factor)) };
}

/** Every default policy scaled by the operator's RATE_LIMIT_MULTIPLIER; names and windows stay the same. */
export function scalePolicies(factor: number): RateLimitPolicies {
  return {
    plans: {
      starter: scalePolicy(PLAN_POLICIES.starter, factor),
      growth: scalePolicy(PLAN_POLICIES.growth, factor),
      business: scalePolicy(PLAN_POLICIES.business, factor),
      enterprise: scalePolicy(PLAN_POLICIES.enterprise, factor),
    },
    anonymous: scalePolicy(ANONYMOUS_POLICY, factor),
    auth: scalePolicy(AUTH_POLICY, factor),
    widget: scalePolicy(WIDGET_POLICY, factor),
    widgetVisitor: scalePolicy(WIDGET_VISITOR_POLICY, factor),
  };
}
