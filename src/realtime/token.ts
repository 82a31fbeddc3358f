import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

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

const PREFIX = 'rt_';
/** Domain separation: the secret may also key other MACs (sessions, webhook secrets). */
const CONTEXT = 'palisade.realtime-token.v1.';
const MAX_TOKEN_LENGTH = 2048;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

const payloadSchema = z.object({
  tenantId: z.string().min(1),
  userId: z.string().min(1).nullable(),
  apiKeyId: z.string().min(1).nullable(),
  exp: z.number().int(),
});

function mac(secret: string, payload: string): Buffer {
  return createHmac('sha256', secret).update(CONTEXT).update(payload).digest();
}

/** Issues a token valid for `ttlSeconds`; `now` (ms) is for tests. */
export function issueRealtimeToken(secret: string, claims: RealtimeClaims, ttlSeconds = 60, now = Date.now()): string {
  const exp = Math.floor(now / 1000) + ttlSeconds;
  const body = { tenantId: claims.tenantId, userId: claims.userId, apiKeyId: claims.apiKeyId, exp };
  const payload = Buffer.from(JSON.stringify(body)).toString('base64url');
  return `${PREFIX}${payload}.${mac(secret, payload).toString('base64url')}`;
}

/** The token's claims, or null when it is malformed, tampered with, signed with another secret or expired. */
export function verifyRealtimeToken(secret: string, token: string, now = Date.now()): RealtimeClaims | null {
  if (token.length > MAX_TOKEN_LENGTH || !token.startsWith(PREFIX)) return null;
  const parts = token.slice(PREFIX.length).split('.');
  const [payload, signature] = parts;
  if (parts.length !== 2 || !payload || !signature || !BASE64URL.test(payload) || !BASE64URL.test(signature)) return null;
  // Compared as text: base64url decoding ignores trailing bits, so only the canonical form is accepted.
  const expected = Buffer.from(mac(secret, payload).toString('base64url'));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  const parsed = payloadSchema.safeParse(json);
  if (!parsed.success || parsed.data.exp * 1000 <= now) return null;
  return { tenantId: parsed.data.tenantId, userId: parsed.data.userId, apiKeyId: parsed.data.apiKeyId };
}
