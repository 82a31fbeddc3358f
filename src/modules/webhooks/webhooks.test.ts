import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { createTenant, type TenantFixture } from '../../../test/support/client.ts';
import { describeEachBackend, startTestServer, type TestServer } from '../../../test/support/harness.ts';
import { TestReceiver } from '../../../test/support/receiver.ts';
import { isNonPublicAddress } from '../../webhooks/safe-http.ts';

describeEachBackend('webhooks', (backend) => {
  let t: TestServer;
  let acme: TenantFixture;
  let globex: TenantFixture;
  let receiver: TestReceiver;

  beforeAll(async () => {
    // The retry schedule runs a thousand times faster; loopback is allowed for the test receiver only.
    t = await startTestServer(backend, {
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
      WEBHOOK_TIME_SCALE: '0.001',
      WEBHOOK_TIMEOUT_MS: '500',
      JOBS_POLL_MS: '50',
    });
    acme = await createTenant(t.url, t.inbox, 'acme');
    globex = await createTenant(t.url, t.inbox, 'globex');
  });
  beforeAll(async () => {
    receiver = new TestReceiver();
    await receiver.start();
  });
  afterEach(() => {
    receiver.received.length = 0;
    receiver.respond = () => ({ status: 204 });
  });
  afterAll(async () => {
    await receiver?.stop();
    await t?.close();
  });

  async function addEndpoint(tenant: TenantFixture, eventTypes: string[], path = '/hook') {
    const res = await tenant.admin.post('/api/v1/webhooks/endpoints', { url: `${receiver.url}${path}`, eventTypes });
    expect(res.status).toBe(201);
    expect(res.body.secret).toMatch(/^whsec_/);
    return res.body as { id: string; secret: string };
  }

  it('delivers events signed per Standard Webhooks, verified by an independent implementation', async () => {
    const endpoint = await addEndpoint(acme, ['tenant.*']);
    expect((await acme.admin.patch('/api/v1/tenants/current', { settings: { marker: 'signed' } })).status).toBe(200);
    const [request] = await receiver.waitFor(1);
    if (!request) throw new Error('no request');
    const verified = new Webhook(endpoint.secret).verify(request.body, request.headers as Record<string, string>) as {
      type: string;
      timestamp: string;
      data: { id: string; fields: string[] };
    };
    expect(verified.type).toBe('tenant.updated');
    expect(verified.data).toEqual({ id: acme.id, fields: ['settings'] });
    expect(request.headers['webhook-id']).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(() =>
      new Webhook(`whsec_${Buffer.from('wrong secret bytes').toString('base64')}`).verify(
        request.body,
        request.headers as Record<string, string>,
      ),
    ).toThrow();
    // The secret is shown once: reads never return it, and it is stored sealed.
    const read = await acme.admin.get(`/api/v1/webhooks/endpoints/${endpoint.id}`);
    expect(JSON.stringify(read.body)).not.toContain(endpoint.secret);
    const [row] = await t.ownerQuery<{ secret_ciphertext: string }>(
      'select secret_ciphertext from app.webhook_endpoints where id = $1',
      [endpoint.id],
    );
    expect(row?.secret_ciphertext).not.toContain(endpoint.secret.slice(6));
    await acme.admin.delete(`/api/v1/webhooks/endpoints/${endpoint.id}`);
  });

  it('retries a failing receiver with the same webhook-id until it succeeds, logging every attempt', async () => {
    const endpoint = await addEndpoint(acme, ['member.*']);
    receiver.respond = (_request, index) => (index < 2 ? { status: 503 } : { status: 200 });
    expect((await acme.owner.patch(`/api/v1/members/${acme.member.userId}`, { role: 'admin' })).status).toBe(200);
    const requests = await receiver.waitFor(3);
    expect(new Set(requests.map((r) => r.headers['webhook-id'])).size).toBe(1);
    expect(new Set(requests.map((r) => r.body)).size).toBe(1);
    const deliveries = await acme.admin.get(`/api/v1/webhooks/endpoints/${endpoint.id}/deliveries`);
    await expect
      .poll(async () => (await acme.admin.get(`/api/v1/webhooks/endpoints/${endpoint.id}/deliveries`)).body.items[0]?.status, {
        timeout: 10_000,
      })
      .toBe('succeeded');
    const delivery = deliveries.body.items[0];
    const attempts = await acme.admin.get(`/api/v1/webhooks/deliveries/${delivery.id}/attempts`);
    expect(attempts.body.map((a: { statusCode: number }) => a.statusCode)).toEqual([200, 503, 503]);
    // Replay sends the same message again.
    expect((await acme.admin.post(`/api/v1/webhooks/deliveries/${delivery.id}/replay`)).status).toBe(202);
    const again = await receiver.waitFor(4);
    expect(again[3]?.headers['webhook-id']).toBe(requests[0]?.headers['webhook-id']);
    // The endpoint goes first: the role change back is a member.* event too, and its delivery could
    // otherwise reach the receiver during the next test.
    await acme.admin.delete(`/api/v1/webhooks/endpoints/${endpoint.id}`);
    await acme.owner.patch(`/api/v1/members/${acme.member.userId}`, { role: 'member' });
  });

  it('gives up on a receiver that does not answer in time, records the timeout and retries', async () => {
    const endpoint = await addEndpoint(acme, ['webhook.test']);
    receiver.respond = (_request, index) => (index === 0 ? { status: 200, delayMs: 2_000 } : { status: 200 });
    expect((await acme.admin.post(`/api/v1/webhooks/endpoints/${endpoint.id}/test`)).status).toBe(202);
    const requests = await receiver.waitFor(2);
    expect(requests[1]?.headers['webhook-id']).toBe(requests[0]?.headers['webhook-id']);
    const deliveries = await acme.admin.get(`/api/v1/webhooks/endpoints/${endpoint.id}/deliveries`);
    const deliveryId = deliveries.body.items[0].id as string;
    await expect
      .poll(async () => (await acme.admin.get(`/api/v1/webhooks/deliveries/${deliveryId}/attempts`)).body.length, {
        timeout: 10_000,
      })
      .toBe(2);
    const attempts = await acme.admin.get(`/api/v1/webhooks/deliveries/${deliveryId}/attempts`);
    const first = attempts.body.find((a: { attempt: number }) => a.attempt === 1);
    expect(first.statusCode).toBeNull();
    expect(first.error).toMatch(/timed out/);
    await acme.admin.delete(`/api/v1/webhooks/endpoints/${endpoint.id}`);
  });

  it('disables an endpoint that answers 410 Gone, with an audit entry', async () => {
    const endpoint = await addEndpoint(acme, ['webhook.test']);
    receiver.respond = () => ({ status: 410 });
    expect((await acme.admin.post(`/api/v1/webhooks/endpoints/${endpoint.id}/test`)).status).toBe(202);
    await receiver.waitFor(1);
    await expect
      .poll(async () => (await acme.admin.get(`/api/v1/webhooks/endpoints/${endpoint.id}`)).body.enabled, { timeout: 10_000 })
      .toBe(false);
    const audit = await acme.admin.get('/api/v1/audit-log?action=webhook_endpoint.disabled');
    expect(audit.body.items.map((e: { targetId: string }) => e.targetId)).toContain(endpoint.id);
  });

  it('keeps the old secret signing beside the new one after a rotation', async () => {
    const endpoint = await addEndpoint(acme, ['webhook.test']);
    const rotated = await acme.admin.post(`/api/v1/webhooks/endpoints/${endpoint.id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    await acme.admin.post(`/api/v1/webhooks/endpoints/${endpoint.id}/test`);
    const [request] = await receiver.waitFor(1);
    if (!request) throw new Error('no request');
    const headers = request.headers as Record<string, string>;
    expect(headers['webhook-signature']?.split(' ')).toHaveLength(2);
    expect(() => new Webhook(rotated.body.secret).verify(request.body, headers)).not.toThrow();
    expect(() => new Webhook(endpoint.secret).verify(request.body, headers)).not.toThrow();
  });

  it("never delivers one tenant's events to another tenant's endpoint, nor lets it read them", async () => {
    const acmeEndpoint = await addEndpoint(acme, ['*'], '/acme');
    const globexEndpoint = await addEndpoint(globex, ['*'], '/globex');
    await acme.admin.patch('/api/v1/tenants/current', { settings: { marker: 'acme-only' } });
    // Globex's own change is the sentinel: once it has arrived, Acme's earlier event has been dispatched too.
    await globex.admin.patch('/api/v1/tenants/current', { settings: { marker: 'globex-only' } });
    await expect
      .poll(
        () =>
          receiver.received.some((r) => r.path === '/globex' && r.body.includes('tenant.updated') && r.body.includes(globex.id)),
        { timeout: 10_000 },
      )
      .toBe(true);
    await expect
      .poll(
        () => receiver.received.some((r) => r.path === '/acme' && r.body.includes('tenant.updated') && r.body.includes(acme.id)),
        { timeout: 10_000 },
      )
      .toBe(true);
    expect(receiver.received.filter((r) => r.path === '/globex' && r.body.includes(acme.id))).toEqual([]);
    expect(receiver.received.filter((r) => r.path === '/acme' && r.body.includes(globex.id))).toEqual([]);
    const urls = await t.ownerQuery<{ endpoint_id: string }>(
      "select endpoint_id from app.webhook_deliveries where event_type = 'tenant.updated' and payload like '%' || $1 || '%'",
      [acme.id],
    );
    expect(urls.map((u) => u.endpoint_id)).toEqual([acmeEndpoint.id]);
    expect((await globex.admin.get(`/api/v1/webhooks/endpoints/${acmeEndpoint.id}`)).status).toBe(404);
    expect((await globex.admin.get(`/api/v1/webhooks/endpoints/${acmeEndpoint.id}/deliveries`)).status).toBe(404);
    const globexList = await globex.admin.get('/api/v1/webhooks/endpoints');
    expect(globexList.body.items.map((e: { id: string }) => e.id)).toEqual([globexEndpoint.id]);
    await acme.member.signIn(); // the retry test changed its role, which signed it out
    expect((await acme.member.get('/api/v1/webhooks/endpoints')).status).toBe(403);
  });

  it('refuses private, loopback, link-local and metadata destinations not on the allowlist', async () => {
    for (const url of [
      'http://10.0.0.1/x',
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]/x',
      'http://167772161/x', // 10.0.0.1 in decimal
      'http://0x0a000001/x', // in hex
      'http://012.0.0.1/x', // in octal
      'http://localhost/x',
      'ftp://example.com/x',
    ]) {
      const res = await acme.admin.post('/api/v1/webhooks/endpoints', { url, eventTypes: ['*'] });
      expect(res.status, url).toBe(400);
      expect(res.body.error.details[0].path).toBe('url');
    }
    for (const address of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '::1',
      'fe80::1',
      'fd00::1',
      '::ffff:127.0.0.1',
    ]) {
      expect(isNonPublicAddress(address), address).toBe(true);
    }
    expect(isNonPublicAddress('93.184.216.34')).toBe(false);
  });
});
