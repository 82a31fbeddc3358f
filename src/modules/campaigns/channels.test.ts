import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ApiClient, createTenant, type TenantFixture, uniqueEmail } from '../../../test/support/client.ts';
import { describeEachBackend, startTestServer, type TestServer } from '../../../test/support/harness.ts';
import { TestReceiver } from '../../../test/support/receiver.ts';
import { waitFor } from '../../../test/support/wait.ts';
import { deriveKey } from '../../crypto/secret-box.ts';
import { createLogger } from '../../logger.ts';
import { verifyStandardWebhook } from './gateway.ts';
import { createCampaignMailer } from './mail.ts';
import { campaignMessageId, signUnsubscribeToken, verifyUnsubscribeToken } from './unsubscribe.ts';

const ids = {
  tenantId: '0b6f1c8e-1d2a-4c3b-9e4f-5a6b7c8d9e0f',
  contactId: '1b6f1c8e-1d2a-4c3b-9e4f-5a6b7c8d9e0f',
  campaignId: '2b6f1c8e-1d2a-4c3b-9e4f-5a6b7c8d9e0f',
  recipientId: '3b6f1c8e-1d2a-4c3b-9e4f-5a6b7c8d9e0f',
};

it('signs unsubscribe tokens that verify only unaltered and with the same key', () => {
  const key = deriveKey('a-server-secret-that-is-long-enough-123', 'campaign-unsubscribe');
  const token = signUnsubscribeToken(key, { ...ids, channel: 'email' });
  expect(verifyUnsubscribeToken(key, token)).toEqual({ ...ids, channel: 'email' });
  const other = deriveKey('a-server-secret-that-is-long-enough-123', 'webhook-secrets');
  expect(verifyUnsubscribeToken(other, token)).toBeNull();
  const [head, payload, mac] = token.split('.');
  const forged = Buffer.from(
    JSON.stringify({ t: ids.tenantId, k: ids.contactId, ch: 'sms', c: ids.campaignId, r: ids.recipientId }),
  );
  expect(verifyUnsubscribeToken(key, `${head}.${forged.toString('base64url')}.${mac}`)).toBeNull();
  expect(verifyUnsubscribeToken(key, `${head}.${payload}.${mac?.slice(0, -2)}AA`)).toBeNull();
  expect(verifyUnsubscribeToken(key, 'preview')).toBeNull();
  expect(campaignMessageId('http://mail.example.com:3000', ids.recipientId)).toBe(
    `<campaign.${ids.recipientId}@mail.example.com>`,
  );
});

it('verifies Standard Webhooks signatures made by the standardwebhooks package, within the tolerance', () => {
  const secret = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
  const now = new Date();
  const body = '{"status":"delivered"}';
  const signature = new Webhook(secret).sign('msg_1', now, body);
  const ts = String(Math.floor(now.getTime() / 1000));
  expect(verifyStandardWebhook(secret, { id: 'msg_1', timestamp: ts, signature }, body)).toBe(true);
  expect(verifyStandardWebhook(secret, { id: 'msg_1', timestamp: ts, signature: `v1,AAAA ${signature}` }, body)).toBe(true);
  expect(verifyStandardWebhook(secret, { id: 'msg_2', timestamp: ts, signature }, body)).toBe(false);
  expect(verifyStandardWebhook(secret, { id: 'msg_1', timestamp: ts, signature }, `${body} `)).toBe(false);
  expect(verifyStandardWebhook(secret, { id: 'msg_1', timestamp: String(Number(ts) - 600), signature }, body)).toBe(false);
  expect(verifyStandardWebhook(secret, { id: 'msg_1', timestamp: ts, signature: undefined }, body)).toBe(false);
});

it('sends campaign mail with a stable Message-ID and RFC 8058 one-click unsubscribe headers', async () => {
  const received: { messageId?: string; listUnsubscribe: unknown; listUnsubscribePost: unknown }[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData: (stream, _session, callback) => {
      simpleParser(stream)
        .then((mail) => {
          received.push({
            ...(mail.messageId ? { messageId: mail.messageId } : {}),
            listUnsubscribe: mail.headerLines.find((h) => h.key === 'list-unsubscribe')?.line,
            listUnsubscribePost: mail.headerLines.find((h) => h.key === 'list-unsubscribe-post')?.line,
          });
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  try {
    const mailer = createCampaignMailer({
      smtpUrl: `smtp://127.0.0.1:${port}`,
      from: 'x@test.example',
      logger: createLogger('silent'),
    });
    const mail = {
      to: 'someone@test.example',
      subject: 'Hello',
      text: 'Body',
      messageId: campaignMessageId('http://127.0.0.1:1', ids.recipientId),
      unsubscribeUrl: 'http://127.0.0.1:1/unsubscribe?token=u1.abc.def',
    };
    await mailer.send(mail);
    await mailer.send(mail); // a retry after a crash: the same id
    expect(received).toHaveLength(2);
    for (const r of received) {
      expect(r.messageId).toBe(`<campaign.${ids.recipientId}@127.0.0.1>`);
      expect(r.listUnsubscribe).toBe('List-Unsubscribe: <http://127.0.0.1:1/unsubscribe?token=u1.abc.def>');
      expect(r.listUnsubscribePost).toBe('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
    }
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

const poll = <T>(read: () => Promise<T>, done: (value: T) => boolean, what: string) => waitFor(what, read, done);

describeEachBackend('campaign channels', (backend) => {
  let t: TestServer;
  let receiver: TestReceiver;

  beforeAll(async () => {
    receiver = new TestReceiver();
    await receiver.start();
    t = await startTestServer(backend, { JOBS_POLL_MS: '50', WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' });
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.stop();
  });

  async function contact(client: ApiClient, name: string, fields: Record<string, unknown>): Promise<string> {
    const res = await client.post('/api/v1/crm/contacts', { name, ...fields });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id as string;
  }

  async function runCampaign(client: ApiClient, channel: string, contactIds: string[], body: string, subject?: string) {
    const g = await client.post('/api/v1/campaigns/groups', { name: 'G' });
    expect((await client.post(`/api/v1/campaigns/groups/${g.body.id}/members`, { contactIds })).status).toBe(200);
    const tpl = await client.post('/api/v1/campaigns/templates', { name: 'T', channel, body, subject });
    expect(tpl.status, JSON.stringify(tpl.body)).toBe(201);
    const c = await client.post('/api/v1/campaigns', { name: 'C', templateId: tpl.body.id, groupIds: [g.body.id] });
    expect(c.status).toBe(201);
    return c.body.id as string;
  }

  const form = (url: string, body: string) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body, redirect: 'manual' });

  const optOutCount = async (tenantId: string) =>
    (
      await t.ownerQuery<{ n: number }>('select count(*)::int as n from app.campaign_opt_outs where tenant_id = $1', [tenantId])
    )[0]?.n;

  it('unsubscribes through the signed link in the email: page, form post, one-click, idempotent; forged links change nothing', async () => {
    const a = await createTenant(t.url, t.inbox, 'unsub');
    const emails = [uniqueEmail('u1'), uniqueEmail('u2')];
    const c1 = await contact(a.member, 'Ada Lovelace', { email: emails[0] });
    const c2 = await contact(a.member, 'Bob Byte', { email: emails[1] });
    const id = await runCampaign(a.member, 'email', [c1, c2], 'Hello {{firstName}}', 'News');
    expect((await a.member.post(`/api/v1/campaigns/${id}/start`, {})).status).toBe(200);
    const link = (await t.inbox.waitFor(emails[0] as string, /Unsubscribe: (\S+)/)).match[1] as string;
    const link2 = (await t.inbox.waitFor(emails[1] as string, /Unsubscribe: (\S+)/)).match[1] as string;
    expect(link).toMatch(/\/unsubscribe\?token=u1\./);
    const token = decodeURIComponent(new URL(link).searchParams.get('token') as string);

    // The page changes nothing (mail scanners follow links).
    const pageRes = await fetch(link);
    expect(pageRes.status).toBe(200);
    const html = await pageRes.text();
    expect(html).toContain('<form method="post" action="/unsubscribe">');
    expect(html).toContain('name="token"');
    expect(await optOutCount(a.id)).toBe(0);

    // Forged and malformed tokens: 400 page, no row.
    const forged = `${token.slice(0, -3)}${token.endsWith('A') ? 'B' : 'A'}xy`;
    for (const bad of [forged, 'u1.e30.AAAA', 'nonsense', '']) {
      const res = await form(`${t.url}/unsubscribe`, new URLSearchParams({ token: bad }).toString());
      expect(res.status, bad).toBe(400);
      expect(await res.text()).toContain('not valid');
    }
    expect((await fetch(`${t.url}/unsubscribe?token=${encodeURIComponent(forged)}`)).status).toBe(400);
    expect(await optOutCount(a.id)).toBe(0);

    // The form: opted out, once, however often it is posted.
    for (let i = 0; i < 2; i++) {
      const res = await form(`${t.url}/unsubscribe`, new URLSearchParams({ token }).toString());
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('You are unsubscribed');
    }
    const list = await a.member.get(`/api/v1/campaigns/opt-outs?contactId=${c1}`);
    expect(list.body.items).toEqual([expect.objectContaining({ contactId: c1, channel: 'email' })]);
    expect(await optOutCount(a.id)).toBe(1);
    const audit = await t.ownerQuery<{ n: number }>(
      "select count(*)::int as n from app.audit_log where tenant_id = $1 and action = 'campaign_opt_out.created' and target_id = $2",
      [a.id, c1],
    );
    expect(audit[0]?.n).toBe(1);

    // RFC 8058 one-click: POST to the List-Unsubscribe URL itself.
    const oneClick = await form(link2, 'List-Unsubscribe=One-Click');
    expect(oneClick.status).toBe(200);
    expect(await optOutCount(a.id)).toBe(2);

    // An opted-out contact is left out of the next campaign.
    const next = await runCampaign(a.member, 'email', [c1, c2], 'Again {{firstName}}', 'More');
    const started = await a.member.post(`/api/v1/campaigns/${next}/start`, {});
    expect(started.body.counts.total).toBe(0);
  });

  async function setGateway(a: TenantFixture, url: string) {
    const res = await a.admin.request('PUT', '/api/v1/campaigns/gateway', { url });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as { id: string; url: string; callbackUrl: string; secret: string | null };
  }

  it('configures the gateway (admins only, secret shown once) and refuses gateway campaigns without one', async () => {
    const a = await createTenant(t.url, t.inbox, 'gwcfg');
    expect((await a.admin.get('/api/v1/campaigns/gateway')).status).toBe(404);
    const c = await contact(a.member, 'Sam Sms', { phones: ['+15550001'] });
    const id = await runCampaign(a.member, 'sms', [c], 'Hi {{firstName}}');
    const refused = await a.member.post(`/api/v1/campaigns/${id}/start`, {});
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toContain('gateway');

    expect((await a.member.request('PUT', '/api/v1/campaigns/gateway', { url: `${receiver.url}/gw` })).status).toBe(403);
    expect((await a.member.get('/api/v1/campaigns/gateway')).status).toBe(403);
    const created = await setGateway(a, `${receiver.url}/gw`);
    expect(created.secret).toMatch(/^whsec_/);
    expect(created.callbackUrl).toBe(`${t.url}/api/v1/campaigns/callbacks/${a.id}/${created.id}`);
    const read = await a.admin.get('/api/v1/campaigns/gateway');
    expect(read.status).toBe(200);
    expect(read.body.secret).toBeUndefined();
    expect(JSON.stringify(read.body)).not.toContain('whsec_');
    const stored = await t.ownerQuery<{ secret: string }>('select secret from app.campaign_gateways where tenant_id = $1', [
      a.id,
    ]);
    expect(stored[0]?.secret.startsWith('v1.')).toBe(true);
    expect(stored[0]?.secret).not.toContain(created.secret?.slice(6, 20));
    const same = await setGateway(a, `${receiver.url}/gw2`);
    expect(same.secret).toBeNull();
    expect(same.id).toBe(created.id);
    const rotated = await a.admin.request('PUT', '/api/v1/campaigns/gateway', { url: `${receiver.url}/gw2`, rotateSecret: true });
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(created.secret);
    const bad = await a.admin.request('PUT', '/api/v1/campaigns/gateway', { url: 'ftp://example.com' });
    expect(bad.status).toBe(400);
    expect((await a.admin.delete('/api/v1/campaigns/gateway')).status).toBe(200);
    expect((await a.admin.get('/api/v1/campaigns/gateway')).status).toBe(404);
  });

  it('sends sms, whatsapp and webhook messages to the gateway signed like webhooks, with the recipient id as webhook-id, and takes signed status callbacks', async () => {
    const a = await createTenant(t.url, t.inbox, 'gw');
    const b = await createTenant(t.url, t.inbox, 'gwb');
    const gw = await setGateway(a, `${receiver.url}/gateway/${a.id}`);
    const gwB = await setGateway(b, `${receiver.url}/gateway/${b.id}`);
    const secret = gw.secret as string;
    const people = [
      await contact(a.member, 'Pia Phone', { phones: ['+15550101'] }),
      await contact(a.member, 'Quinn Phone', { phones: ['+15550102'] }),
      await contact(a.member, 'Mail Only', { email: uniqueEmail('mo') }),
    ];
    const before = receiver.received.length;
    const smsId = await runCampaign(a.member, 'sms', people, 'Hi {{firstName}}, code 42');
    const started = await a.member.post(`/api/v1/campaigns/${smsId}/start`, {});
    expect(started.status, JSON.stringify(started.body)).toBe(200);
    expect(started.body.counts.total).toBe(2); // sms needs a phone
    await poll(
      () => a.member.get(`/api/v1/campaigns/${smsId}`),
      (res) => res.body.status === 'completed',
      'sms campaign completed',
    );
    const mine = receiver.received.slice(before).filter((r) => r.path === `/gateway/${a.id}`);
    expect(mine).toHaveLength(2);
    const history = await a.member.get(`/api/v1/campaigns/messages?campaignId=${smsId}`);
    expect(history.body.items).toHaveLength(2);
    const wh = new Webhook(secret);
    for (const request of mine) {
      const payload = wh.verify(request.body, {
        'webhook-id': request.headers['webhook-id'] as string,
        'webhook-timestamp': request.headers['webhook-timestamp'] as string,
        'webhook-signature': request.headers['webhook-signature'] as string,
      }) as Record<string, string>;
      const message = history.body.items.find((m: { id: string }) => m.id === payload.messageId);
      expect(message, request.body).toBeDefined();
      expect(request.headers['webhook-id']).toBe(message.recipientId);
      expect(payload).toMatchObject({
        type: 'campaign.message',
        channel: 'sms',
        recipientId: message.recipientId,
        to: message.recipient,
      });
      expect(payload.content).toMatch(/^Hi (Pia|Quinn), code 42$/);
      expect(message.status).toBe('sent');
      expect(message.providerMessageId).toBe(`sms:${message.id}`);
      // Another tenant's gateway secret does not verify it.
      expect(() =>
        new Webhook(gwB.secret as string).verify(request.body, {
          'webhook-id': request.headers['webhook-id'] as string,
          'webhook-timestamp': request.headers['webhook-timestamp'] as string,
          'webhook-signature': request.headers['webhook-signature'] as string,
        }),
      ).toThrow();
    }

    // whatsapp and webhook templates go the same way; the gateway's JSON id becomes the provider message id.
    receiver.respond = (req) =>
      req.path === `/gateway/${a.id}` ? { status: 200, headers: { 'content-type': 'application/json' } } : { status: 204 };
    for (const channel of ['whatsapp', 'webhook']) {
      const cid = await runCampaign(a.member, channel, [people[0] as string], `Via ${channel}`);
      expect((await a.member.post(`/api/v1/campaigns/${cid}/start`, {})).status).toBe(200);
      const done = await poll(
        () => a.member.get(`/api/v1/campaigns/${cid}`),
        (res) => res.body.status === 'completed',
        `${channel} campaign completed`,
      );
      expect(done.body.counts).toMatchObject({ total: 1, sent: 1 });
    }

    const [first, second] = history.body.items as { id: string; providerMessageId: string; status: string }[];
    const callback = (
      body: object,
      sign: (id: string, raw: string) => Record<string, string>,
      path = new URL(gw.callbackUrl).pathname,
    ) => {
      const raw = JSON.stringify(body);
      return fetch(`${t.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...sign(`cb_${Math.random().toString(36).slice(2)}`, raw) },
        body: raw,
      });
    };
    const signedWith = (key: string) => (id: string, raw: string) => {
      const now = new Date();
      return {
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': new Webhook(key).sign(id, now, raw),
      };
    };
    const statusOf = async (id: string) => (await a.member.get(`/api/v1/campaigns/messages/${id}`)).body.status;

    // Unsigned, forged, another tenant's secret, another tenant's path: 401 and nothing changes.
    const report = { providerMessageId: first?.providerMessageId, status: 'delivered' };
    expect((await callback(report, () => ({}))).status).toBe(401);
    expect(
      (await callback(report, (id) => ({ 'webhook-id': id, 'webhook-timestamp': '1', 'webhook-signature': 'v1,AAAA' }))).status,
    ).toBe(401);
    expect((await callback(report, signedWith(gwB.secret as string))).status).toBe(401);
    expect((await callback(report, signedWith(secret), `/api/v1/campaigns/callbacks/${b.id}/${gw.id}`)).status).toBe(401);
    expect((await callback(report, signedWith(secret), `/api/v1/campaigns/callbacks/${a.id}/${gwB.id}`)).status).toBe(401);
    expect((await callback(report, signedWith(secret), '/api/v1/campaigns/callbacks/nope/nope')).status).toBe(401);
    // A message of tenant A reported through tenant B's own (valid) gateway: not found there.
    const crossed = await callback(
      { messageId: first?.id, status: 'delivered' },
      signedWith(gwB.secret as string),
      new URL(gwB.callbackUrl).pathname,
    );
    expect(crossed.status).toBe(404);
    expect(await statusOf(first?.id as string)).toBe('sent');

    // Signed: by provider message id, then by our message id; a repeat is a no-op, an impossible move 409.
    const ok = await callback(report, signedWith(secret));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ id: first?.id, status: 'delivered' });
    expect(await statusOf(first?.id as string)).toBe('delivered');
    expect((await callback(report, signedWith(secret))).status).toBe(200);
    const read = await callback({ messageId: first?.id, status: 'read' }, signedWith(secret));
    expect(read.status).toBe(200);
    expect(await statusOf(first?.id as string)).toBe('read');
    expect((await callback({ messageId: first?.id, status: 'failed' }, signedWith(secret))).status).toBe(409);
    const failed = await callback({ messageId: second?.id, status: 'failed', error: 'unreachable handset' }, signedWith(secret));
    expect(failed.status).toBe(200);
    const after = (await a.member.get(`/api/v1/campaigns/messages/${second?.id}`)).body;
    expect(after).toMatchObject({ status: 'failed', error: 'unreachable handset' });
    expect((await callback({ status: 'delivered' }, signedWith(secret))).status).toBe(400);
    const events = await t.ownerQuery<{ n: number }>(
      "select count(*)::int as n from app.events where tenant_id = $1 and type = 'campaign_message.status_changed'",
      [a.id],
    );
    expect(events[0]?.n).toBe(3);
  });

  it('retries a failing gateway with the same webhook-id', async () => {
    const a = await createTenant(t.url, t.inbox, 'gwretry');
    await setGateway(a, `${receiver.url}/retry/${a.id}`);
    let calls = 0;
    receiver.respond = (req) => (req.path === `/retry/${a.id}` && calls++ === 0 ? { status: 503 } : { status: 204 });
    const c = await contact(a.member, 'Rita Retry', { phones: ['+15550199'] });
    const id = await runCampaign(a.member, 'sms', [c], 'Retry me');
    expect((await a.member.post(`/api/v1/campaigns/${id}/start`, {})).status).toBe(200);
    // The first attempt failed; make the retry due now instead of in 30 s.
    await poll(
      async () => receiver.received.filter((r) => r.path === `/retry/${a.id}`).length,
      (n) => n >= 1,
      'first attempt',
    );
    await poll(
      () =>
        t.ownerQuery<{ n: number }>(
          "select count(*)::int as n from app.campaign_recipients where tenant_id = $1 and status = 'pending' and attempts = 1",
          [a.id],
        ),
      (rows) => rows[0]?.n === 1,
      'retry scheduled',
    );
    await t.ownerQuery("update app.jobs set run_at = now() where tenant_id = $1 and kind = 'send_campaign_message'", [a.id]);
    await poll(
      () => a.member.get(`/api/v1/campaigns/${id}`),
      (res) => res.body.status === 'completed',
      'campaign completed after retry',
    );
    receiver.respond = () => ({ status: 204 });
    const attempts = receiver.received.filter((r) => r.path === `/retry/${a.id}`);
    expect(attempts).toHaveLength(2);
    expect(attempts[0]?.headers['webhook-id']).toBe(attempts[1]?.headers['webhook-id']);
  });
});
