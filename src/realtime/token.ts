import { z } from 'zod';
import { type SignedTokenFormat, signToken, verifyToken } from '../crypto/signed-token.ts';

/**
 * Short-lived tokens for browsers, which cannot set headers on a WebSocket:
 * `rt_<base64url JSON payload>.<base64url HMAC-SHA256>`. A token is a bearer
 * credential until it expires (default 60 s) and may be used more than once
 * in that window; it proves who it was issued to, so the handshake should
 * still check that the subscriber is a member (the hub revalidates later).
 */

export interface RealtimeClaims {
  tenantId: string;
  userId: string | null;
  apiKeyId: string | null;
}

const REALTIME_TOKEN: SignedTokenFormat<{ tenantId: string; userId: string | null; apiKeyId: string | null; exp: number }> = {
  prefix: 'rt_',
  // Domain separation: the secret may also key other MACs (sessions, webhook secrets).
  context: 'palisade.realtime-token.v1.',
  maxLength: 2048,
  payload: z.object({
    tenantId: z.string().min(1),
    userId: z.string().min(1).nullable(),
    apiKeyId: z.string().min(1).nullable(),
    exp: z.number().int(),
  }),
};

/** Issues a token valid for `ttlSeconds`; `now` (ms) is for tests. */
export function issueRealtimeToken(secret: string, claims: RealtimeClaims, ttlSeconds = 60, now = Date.now()): string {
  const exp = Math.floor(now / 1000) + ttlSeconds;
  return signToken(secret, REALTIME_TOKEN, { tenantId: claims.tenantId, userId: claims.userId, apiKeyId: claims.apiKeyId, exp });
}

/** The token's claims, or null when it is malformed, tampered with, signed with another secret or expired. */
export function verifyRealtimeToken(secret: string, token: string, now = Date.now()): RealtimeClaims | null {
  const payload = verifyToken(secret, REALTIME_TOKEN, token);
  if (!payload || payload.exp * 1000 <= now) return null;
  return { tenantId: payload.tenantId, userId: payload.userId, apiKeyId: payload.apiKeyId };
}
