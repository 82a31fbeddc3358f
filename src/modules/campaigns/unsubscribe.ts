import { z } from 'zod';
import { type SignedTokenFormat, signToken, verifyToken } from '../../crypto/signed-token.ts';
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

const UNSUBSCRIBE_TOKEN: SignedTokenFormat<{ t: string; k: string; ch: Channel; c: string; r: string }> = {
  prefix: 'u1.',
  // Domain separation, on top of the derived key.
  context: 'palisade.campaign-unsubscribe.v1.',
  maxLength: 1024,
  payload: z.object({ t: z.guid(), k: z.guid(), ch: z.enum(CHANNELS), c: z.guid(), r: z.guid() }),
};

export function signUnsubscribeToken(key: Buffer, claims: UnsubscribeClaims): string {
  return signToken(key, UNSUBSCRIBE_TOKEN, {
    t: claims.tenantId,
    k: claims.contactId,
    ch: claims.channel,
    c: claims.campaignId,
    r: claims.recipientId,
  });
}

/** The token's claims, or null when it is malformed, tampered with or signed with another key. */
export function verifyUnsubscribeToken(key: Buffer, token: string): UnsubscribeClaims | null {
  const p = verifyToken(key, UNSUBSCRIBE_TOKEN, token);
  return p && { tenantId: p.t, contactId: p.k, channel: p.ch, campaignId: p.c, recipientId: p.r };
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
