import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { CHANNELS, type Channel } from './schema.ts';

/**
 * Unsubscribe links: `u1.<base64url JSON payload>.<base64url HMAC-SHA256>`,
 * keyed with a key derived from the server secret for this purpose only
 * (crypto/secret-box.ts `deriveKey(secret, 'campaign-unsubscribe')`). The
 * payload names the tenant, the contact, the channel and, for the record,
 * the campaign and recipient. The token does not expire: an unsubscribe link
 * in an old email must keep working (RFC 8058 asks for it), and all it can
 * ever do is opt that one contact out of that one channel.
 */

export interface UnsubscribeClaims {
  tenantId: string;
  contactId: string;
  channel: Channel;
  campaignId: string;
  recipientId: string;
}

const PREFIX = 'u1.';
/** Domain separation, on top of the derived key. */
const CONTEXT = 'palisade.campaign-unsubscribe.v1.';
const MAX_TOKEN_LENGTH = 1024;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

const payloadSchema = z.object({
  t: z.guid(),
  k: z.guid(),
  ch: z.enum(CHANNELS),
  c: z.guid(),
  r: z.guid(),
});

function mac(key: Buffer, payload: string): Buffer {
  return createHmac('sha256', key).update(CONTEXT).update(payload).digest();
}

export function signUnsubscribeToken(key: Buffer, claims: UnsubscribeClaims): string {
  const body = { t: claims.tenantId, k: claims.contactId, ch: claims.channel, c: claims.campaignId, r: claims.recipientId };
  const payload = Buffer.from(JSON.stringify(body)).toString('base64url');
  return `${PREFIX}${payload}.${mac(key, payload).toString('base64url')}`;
}

/** The token's claims, or null when it is malformed, tampered with or signed with another key. */
export function verifyUnsubscribeToken(key: Buffer, token: string): UnsubscribeClaims | null {
  if (token.length > MAX_TOKEN_LENGTH || !token.startsWith(PREFIX)) return null;
  const parts = token.slice(PREFIX.length).split('.');
  const [payload, signature] = parts;
  if (parts.length !== 2 || !payload || !signature || !BASE64URL.test(payload) || !BASE64URL.test(signature)) return null;
  // Compared as text: base64url decoding ignores trailing bits, so only the canonical form is accepted.
  const expected = Buffer.from(mac(key, payload).toString('base64url'));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  const parsed = payloadSchema.safeParse(json);
  if (!parsed.success) return null;
  const p = parsed.data;
  return { tenantId: p.t, contactId: p.k, channel: p.ch, campaignId: p.c, recipientId: p.r };
}

/** The public unsubscribe page for a token (GET shows a confirmation, POST records the opt-out). */
export function unsubscribeLink(publicUrl: string, token: string): string {
  return `${publicUrl.replace(/\/$/, '')}/unsubscribe?token=${encodeURIComponent(token)}`;
}

/**
 * The email Message-ID of a recipient's message: derived from the recipient
 * row id, so a send retried after a crash carries the same id and the
 * receiving side can drop the repeat.
 */
export function campaignMessageId(publicUrl: string, recipientId: string): string {
  let host = 'palisade.local';
  try {
    host = new URL(publicUrl).hostname || host;
  } catch {
    // keep the default
  }
  return `<campaign.${recipientId}@${host}>`;
}
