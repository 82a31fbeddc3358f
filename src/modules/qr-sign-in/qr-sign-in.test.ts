import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, signUp } from '../../../test/support/client.ts';
import { describeEachBackend, startTestServer, type TestServer } from '../../../test/support/harness.ts';
import { clearOfWindowEnd } from '../../../test/support/wait.ts';
import { sha256Hex } from '../../crypto/hash.ts';
import { queryRows } from '../../db/tenant.ts';

interface Created {
  id: string;
  pollSecret: string;
  approveUrl: string;
  qrSvg: string;
  qrDataUrl: string;
  expiresAt: string;
}

const codeOf = (created: Created) => new URL(created.approveUrl).searchParams.get('code') as string;

describeEachBackend('qr sign-in', (backend) => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer(backend);
  });
  afterAll(() => t?.close());

  async function start(device: ApiClient): Promise<Created> {
    const res = await device.post('/api/v1/qr-sign-in', {});
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body as Created;
  }

  it('signs a second device in as the user who approved its QR code, once', async () => {
    const phone = await signUp(t.url, 'qr-phone', 'Quinn Phone');
    const laptop = new ApiClient(t.url); // signed out
    expect((await laptop.get('/api/v1/me')).status).toBe(401);

    const created = await start(laptop);
    expect(created.pollSecret).toMatch(/^qrp_[A-Za-z0-9_-]{43}$/);
    expect(created.approveUrl).toMatch(new RegExp(`^${t.url}/qr-sign-in/approve\\?code=qra_`));
    expect(created.qrSvg).toMatch(/^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(created.qrDataUrl.startsWith('data:image/svg+xml;base64,')).toBe(true);
    const ttl = Date.parse(created.expiresAt) - Date.now();
    expect(ttl).toBeGreaterThan(60_000);
    expect(ttl).toBeLessThanOrEqual(121_000);
    // Only hashes are stored.
    const [stored] = await t.ownerQuery<{ poll_hash: string; approve_hash: string }>(
      'select poll_hash, approve_hash from app.qr_sign_ins where id = $1',
      [created.id],
    );
    expect(stored).toEqual({ poll_hash: sha256Hex(created.pollSecret), approve_hash: sha256Hex(codeOf(created)) });

    const pending = await laptop.post(`/api/v1/qr-sign-in/${created.id}/poll`, { secret: created.pollSecret });
    expect(pending.status).toBe(200);
    expect(pending.body.status).toBe('pending');
    expect(pending.headers.get('set-cookie')).toBeNull();

    // The QR code's approval code cannot collect the session, and the poll secret cannot approve.
    expect((await laptop.post(`/api/v1/qr-sign-in/${created.id}/poll`, { secret: codeOf(created) })).status).toBe(404);
    expect((await phone.post('/api/v1/qr-sign-in/approve', { code: created.pollSecret })).status).toBe(404);
    // Approving needs a signed-in user.
    expect((await new ApiClient(t.url).post('/api/v1/qr-sign-in/approve', { code: codeOf(created) })).status).toBe(401);
    // A foreign Origin is refused (the cookie alone proves nothing).
    expect(
      (await phone.post('/api/v1/qr-sign-in/approve', { code: codeOf(created) }, { origin: 'https://evil.example' })).status,
    ).toBe(403);

    const approved = await phone.post('/api/v1/qr-sign-in/approve', { code: codeOf(created) });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body).toMatchObject({ id: created.id, status: 'approved', requester: { ip: '127.0.0.1' } });
    // Approving again: already approved.
    expect((await phone.post('/api/v1/qr-sign-in/approve', { code: codeOf(created) })).status).toBe(410);

    const done = await laptop.post(`/api/v1/qr-sign-in/${created.id}/poll`, { secret: created.pollSecret });
    expect(done.status).toBe(200);
    expect(done.body).toEqual({ status: 'approved', userId: phone.userId });
    expect(done.headers.get('set-cookie')).toMatch(/session_token=.+; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Lax/);
    const me = await laptop.get('/api/v1/me');
    expect(me.status).toBe(200);
    expect(JSON.stringify(me.body)).toContain(phone.email);

    // Single use: polling again is refused, and sets no cookie.
    const again = await new ApiClient(t.url).post(`/api/v1/qr-sign-in/${created.id}/poll`, { secret: created.pollSecret });
    expect(again.status).toBe(410);
    expect(again.body.error.code).toBe('QR_SIGN_IN_EXPIRED');
    expect(again.headers.get('set-cookie')).toBeNull();
    // The phone's own session is untouched; the laptop's is a separate one that signs out on its own.
    expect((await phone.get('/api/v1/me')).status).toBe(200);
    const sessions = await t.ownerQuery<{ n: number }>('select count(*)::int as n from auth.sessions where user_id = $1', [
      phone.userId,
    ]);
    expect(sessions[0]?.n).toBe(2);
  });

  it('refuses expired QR sessions, wrong secrets and unknown ids', async () => {
    const phone = await signUp(t.url, 'qr-exp');
    const laptop = new ApiClient(t.url);
    const created = await start(laptop);
    const other = await start(new ApiClient(t.url));

    // Another device's secret, a made-up secret, a malformed one, an unknown id: all the same 404.
    for (const [id, secret] of [
      [created.id, other.pollSecret],
      [created.id, `qrp_${'A'.repeat(43)}`],
      [created.id, 'nope'],
      ['00000000-0000-4000-8000-000000000000', created.pollSecret],
      ['not-a-uuid', created.pollSecret],
    ] as const) {
      const res = await laptop.post(`/api/v1/qr-sign-in/${id}/poll`, { secret });
      expect(res.status, `${id} ${secret}`).toBe(404);
    }
    expect((await phone.post('/api/v1/qr-sign-in/approve', { code: `qra_${'B'.repeat(43)}` })).status).toBe(404);

    // Expired before approval: neither approval nor polling works.
    await t.ownerQuery("update app.qr_sign_ins set expires_at = now() - interval '1 second' where id = $1", [created.id]);
    expect((await phone.post('/api/v1/qr-sign-in/approve', { code: codeOf(created) })).status).toBe(410);
    expect((await laptop.post(`/api/v1/qr-sign-in/${created.id}/poll`, { secret: created.pollSecret })).status).toBe(410);

    // Approved, but not collected in time: refused, no session.
    expect((await phone.post('/api/v1/qr-sign-in/approve', { code: codeOf(other) })).status).toBe(200);
    await t.ownerQuery("update app.qr_sign_ins set expires_at = now() - interval '1 second' where id = $1", [other.id]);
    const late = await laptop.post(`/api/v1/qr-sign-in/${other.id}/poll`, { secret: other.pollSecret });
    expect(late.status).toBe(410);
    expect(late.headers.get('set-cookie')).toBeNull();
    expect((await laptop.get('/api/v1/me')).status).toBe(401);
  });

  it('shows the request role only the row whose secret hash it presents', async () => {
    const a = await start(new ApiClient(t.url));
    const b = await start(new ApiClient(t.url));
    const asApp = (setting: string, value: string) =>
      t.server.database.transaction(
        {
          text: `select pg_catalog.set_config('role', 'palisade_app', true), pg_catalog.set_config('${setting}', $1, true)`,
          params: [value],
        },
        (tx) => queryRows<{ id: string }>(tx, sql`select id from app.qr_sign_ins order by id`),
      );
    expect(await asApp('app.qr_poll_hash', '')).toEqual([]);
    expect(await asApp('app.qr_poll_hash', sha256Hex(a.pollSecret))).toEqual([{ id: a.id }]);
    expect(await asApp('app.qr_approve_hash', sha256Hex(codeOf(b)))).toEqual([{ id: b.id }]);
    expect(await asApp('app.qr_poll_hash', sha256Hex(codeOf(b)))).toEqual([]);
    // Nor can it forge an approved row or delete one.
    const someone = await signUp(t.url, 'qr-forged');
    await expect(
      t.server.database.transaction(
        {
          text: "select pg_catalog.set_config('role', 'palisade_app', true), pg_catalog.set_config('app.qr_poll_hash', $1, true)",
          params: ['x'],
        },
        (tx) =>
          tx.execute(
            sql`insert into app.qr_sign_ins (poll_hash, approve_hash, expires_at, status, user_id)
                values ('x', 'y', now() + interval '1 minute', 'approved', ${someone.userId})`,
          ),
      ),
    ).rejects.toMatchObject({ cause: { code: '42501' } });
    const deleted = await t.server.database.transaction(
      {
        text: "select pg_catalog.set_config('role', 'palisade_app', true), pg_catalog.set_config('app.qr_poll_hash', $1, true)",
        params: [sha256Hex(a.pollSecret)],
      },
      (tx) => queryRows<{ id: string }>(tx, sql`delete from app.qr_sign_ins returning id`),
    );
    expect(deleted).toEqual([]);
  });
});

describe('qr sign-in rate limit', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer('pglite', { RATE_LIMIT_MULTIPLIER: '1' });
  });
  afterAll(() => t?.close());

  it('counts QR sessions against the auth policy per address', async () => {
    const device = new ApiClient(t.url);
    await clearOfWindowEnd();
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await device.post('/api/v1/qr-sign-in', {})).status);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(201));
    const refused = await device.post('/api/v1/qr-sign-in', {});
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('RATE_LIMITED');
    expect(refused.headers.get('ratelimit-policy')).toContain('"auth"');
  });
});
