import type { RateLimitDecision } from './policy.ts';

/**
 * A Structured Field String (RFC 9651, section 3.3.3): printable ASCII in
 * double quotes, with `"` and `\` escaped. Policy names are ours, so anything
 * else is a programming error, not input to clean up.
 */
export function sfString(value: string): string {
  if (!/^[\x20-\x7e]*$/.test(value)) throw new TypeError(`not a valid structured field string: ${JSON.stringify(value)}`);
  return `"${value.replace(/[\\"]/g, '\\$&')}"`;
}

/**
 * The RateLimit header fields of draft-ietf-httpapi-ratelimit-headers (the
 * named-policy syntax of draft -08 to -11):
 *
 *   RateLimit-Policy: "plan-starter";q=600;w=60
 *   RateLimit: "plan-starter";r=599;t=42
 *
 * plus Retry-After (RFC 9110) on a refusal. `t` and Retry-After are the same
 * rounded-up seconds, as the draft asks: Retry-After never points before the
 * end of the effective window.
 */
export function rateLimitHeaders(decision: RateLimitDecision): Record<string, string> {
  const { policy } = decision;
  const name = sfString(policy.name);
  const headers: Record<string, string> = {
    'RateLimit-Policy': `${name};q=${policy.limit};w=${policy.windowSeconds}`,
    RateLimit: `${name};r=${decision.remaining};t=${decision.resetSeconds}`,
  };
  if (!decision.allowed) headers['Retry-After'] = String(decision.resetSeconds);
  return headers;
}
