import { createHmac, randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import QRCode from 'qrcode';
import { AppError } from '../../api/errors.ts';
import type { Auth } from '../../auth/auth.ts';
import { sha256Hex } from '../../crypto/hash.ts';
import { queryRows, type Tx } from '../../db/tenant.ts';

/**
 * QR sign-in (docs/qr-sign-in.md); src/api/qr-sign-in.ts is its transport.
 *
 * Two secrets: the poll secret never leaves the signed-out device, the
 * approval code is what the QR image shows. Someone who photographs the QR
 * image can only approve it (signing the device in as themselves), never
 * collect the session. Only SHA-256 hashes are stored, and the request role
 * reaches a row only by presenting one (RLS on app.qr_sign_ins).
 */

/** Opens a transaction that presents the hash of the poll secret or of the approval code (db/presented-secret.ts). */
export interface QrStore {
  presenting<T>(kind: 'qrPoll' | 'qrApprove', hash: string, fn: (tx: Tx) => Promise<T>): Promise<T>;
}

export const QR_TTL_SECONDS = 120;
export const POLL_INTERVAL_MS = 2000;
const POLL_PREFIX = 'qrp_';
const CODE_PREFIX = 'qra_';
const SECRET = /^[A-Za-z0-9_-]{43}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const newSecret = (prefix: string) => `${prefix}${randomBytes(32).toString('base64url')}`;
const wellFormed = (value: unknown, prefix: string): value is string =>
  typeof value === 'string' && value.startsWith(prefix) && SECRET.test(value.slice(prefix.length));
const iso = (value: string | Date) => (value instanceof Date ? value : new Date(value)).toISOString();

interface QrRow {
  id: string;
  status: 'pending' | 'approved' | 'used';
  user_id: string | null;
  expired: boolean;
  expires_at: string | Date;
  requester_ip: string | null;
  requester_agent: string | null;
}

export interface CreatedQrSignIn {
  id: string;
  pollSecret: string;
  approveUrl: string;
  qrSvg: string;
  qrDataUrl: string;
  expiresAt: string;
  pollIntervalMs: number;
}

/** A new QR session for a signed-out device. */
export async function createQrSignIn(
  store: QrStore,
  request: { publicUrl: string; ip: string; userAgent: string | null; ttlSeconds?: number },
): Promise<CreatedQrSignIn> {
  const pollSecret = newSecret(POLL_PREFIX);
  const approveCode = newSecret(CODE_PREFIX);
  const pollHash = sha256Hex(pollSecret);
  const ttl = request.ttlSeconds ?? QR_TTL_SECONDS;
  const row = await store.presenting('qrPoll', pollHash, async (tx) => {
    const [inserted] = await queryRows<{ id: string; expires_at: string | Date }>(
      tx,
      sql`insert into app.qr_sign_ins (poll_hash, approve_hash, expires_at, requester_ip, requester_agent)
          values (${pollHash}, ${sha256Hex(approveCode)}, now() + make_interval(secs => ${ttl}), ${request.ip},
                  ${request.userAgent?.slice(0, 300) || null})
          returning id, expires_at`,
    );
    if (!inserted) throw new AppError('INTERNAL');
    return inserted;
  });
  const approveUrl = `${request.publicUrl.replace(/\/$/, '')}/qr-sign-in/approve?code=${approveCode}`;
  const qrSvg = await QRCode.toString(approveUrl, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return {
    id: row.id,
    pollSecret,
    approveUrl,
    qrSvg,
    qrDataUrl: `data:image/svg+xml;base64,${Buffer.from(qrSvg).toString('base64')}`,
    expiresAt: iso(row.expires_at),
    pollIntervalMs: POLL_INTERVAL_MS,
  };
}

/** The signed-in user approves the QR session whose code they present. */
export async function approveQrSignIn(store: QrStore, userId: string, code: unknown) {
  if (!wellFormed(code, CODE_PREFIX)) throw new AppError('NOT_FOUND');
  const approveHash = sha256Hex(code);
  const row = await store.presenting('qrApprove', approveHash, async (tx) => {
    const [found] = await queryRows<QrRow>(
      tx,
      sql`select id, status, user_id, expires_at <= now() as expired, expires_at, requester_ip, requester_agent
            from app.qr_sign_ins where approve_hash = ${approveHash} for update`,
    );
    if (!found) throw new AppError('NOT_FOUND');
    if (found.expired || found.status !== 'pending') throw new AppError('QR_SIGN_IN_EXPIRED');
    await tx.execute(
      sql`update app.qr_sign_ins set status = 'approved', user_id = ${userId}, approved_at = now() where id = ${found.id}`,
    );
    return found;
  });
  return {
    id: row.id,
    status: 'approved' as const,
    expiresAt: iso(row.expires_at),
    requester: { ip: row.requester_ip, userAgent: row.requester_agent },
  };
}

/**
 * The signed-out device's poll: pending, or approved, in which case the
 * session is marked used (once: the row lock makes a concurrent poll wait,
 * then see `used`) and the approving user's id returned for the session.
 * Unknown id, malformed or wrong secret: one answer (404).
 */
export async function pollQrSignIn(
  store: QrStore,
  id: string,
  secret: unknown,
): Promise<{ status: 'pending'; expiresAt: string } | { status: 'approved'; userId: string }> {
  if (!UUID.test(id) || !wellFormed(secret, POLL_PREFIX)) throw new AppError('NOT_FOUND');
  const pollHash = sha256Hex(secret);
  return store.presenting('qrPoll', pollHash, async (tx) => {
    const [row] = await queryRows<QrRow>(
      tx,
      sql`select id, status, user_id, expires_at <= now() as expired, expires_at, requester_ip, requester_agent
            from app.qr_sign_ins where id = ${id} and poll_hash = ${pollHash} for update`,
    );
    if (!row) throw new AppError('NOT_FOUND');
    if (row.status === 'used' || row.expired) throw new AppError('QR_SIGN_IN_EXPIRED');
    if (row.status === 'pending') return { status: 'pending' as const, expiresAt: iso(row.expires_at) };
    await tx.execute(
      sql`update app.qr_sign_ins set status = 'used', used_at = now() where id = ${row.id} and status = 'approved'`,
    );
    return { status: 'approved' as const, userId: row.user_id as string };
  });
}

/**
 * A real Better Auth session for `userId`, as a Set-Cookie value: created
 * through the library's own internal adapter (its hooks run: the active
 * tenant is chosen as at any sign-in), and its cookie signed as the library
 * signs it (HMAC-SHA256 of the token with the auth secret, `token.signature`,
 * URL-encoded), with the library's cookie name, attributes and lifetime.
 */
export async function issueSessionCookie(auth: Auth, userId: string, client: { ip: string; userAgent: string }): Promise<string> {
  const context = await auth.$context;
  const session = await context.internalAdapter.createSession(userId, false, {
    ipAddress: client.ip,
    userAgent: client.userAgent.slice(0, 500),
  });
  if (!session) throw new Error('session not created');
  const cookie = context.authCookies.sessionToken;
  const signature = createHmac('sha256', context.secret).update(session.token).digest('base64');
  const attributes = cookie.attributes as {
    path?: string;
    httpOnly?: boolean;
    secure?: boolean;
    sameSite?: string;
    domain?: string;
  };
  const parts = [`${cookie.name}=${encodeURIComponent(`${session.token}.${signature}`)}`];
  parts.push(`Max-Age=${Math.floor(context.sessionConfig.expiresIn)}`);
  if (attributes.domain) parts.push(`Domain=${attributes.domain}`);
  parts.push(`Path=${attributes.path ?? '/'}`);
  if (attributes.httpOnly !== false) parts.push('HttpOnly');
  if (attributes.secure) parts.push('Secure');
  const sameSite = attributes.sameSite ?? 'lax';
  parts.push(`SameSite=${sameSite.charAt(0).toUpperCase()}${sameSite.slice(1)}`);
  return parts.join('; ');
}
