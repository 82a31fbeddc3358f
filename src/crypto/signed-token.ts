import { createHmac, timingSafeEqual } from 'node:crypto';
import type { z } from 'zod';

/**
 * Self-contained signed tokens: `<prefix><base64url JSON payload>.<base64url HMAC-SHA256>`.
 * Each kind of token has its own format: a prefix that names it, a context string mixed into
 * the MAC (so a token of one kind never verifies as another, even under the same key), a length
 * bound checked before any work, and the schema its payload must match.
 */
export interface SignedTokenFormat<Payload> {
  prefix: string;
  context: string;
  maxLength: number;
  payload: z.ZodType<Payload>;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

function mac(key: string | Buffer, context: string, payload: string): Buffer {
  return createHmac('sha256', key).update(context).update(payload).digest();
}

export function signToken<Payload>(key: string | Buffer, format: SignedTokenFormat<Payload>, body: Payload): string {
  const payload = Buffer.from(JSON.stringify(body)).toString('base64url');
  return `${format.prefix}${payload}.${mac(key, format.context, payload).toString('base64url')}`;
}

/** The token's payload, or null when it is malformed, tampered with, signed with another key or of another kind. */
export function verifyToken<Payload>(key: string | Buffer, format: SignedTokenFormat<Payload>, token: string): Payload | null {
  if (token.length > format.maxLength || !token.startsWith(format.prefix)) return null;
  const parts = token.slice(format.prefix.length).split('.');
  const [payload, signature] = parts;
  if (parts.length !== 2 || !payload || !signature || !BASE64URL.test(payload) || !BASE64URL.test(signature)) return null;
  // Compared as text: base64url decoding ignores trailing bits, so only the canonical form is accepted.
  const expected = Buffer.from(mac(key, format.context, payload).toString('base64url'));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  const parsed = format.payload.safeParse(json);
  return parsed.success ? parsed.data : null;
}
