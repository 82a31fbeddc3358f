import { afterAll, beforeAll, expect, it } from 'vitest';
import { apiKeyClient, createTenant, type TenantFixture } from '../support/client.ts';
import { describeEachBackend, startTestServer, type TestServer } from '../support/harness.ts';
import { RealtimeClient, refusal } from '../support/realtime-client.ts';
import { REDIS_URL, serverRedisSuites } from '../support/redis.ts';

/**
 * Realtime end to end: real sign-ins, keys and tokens at the handshake, events
 * committed through the API, dispatched by the worker and fanned out to real
 * WebSocket clients.
 */
const redisUp = await serverRedisSuites('the cross-process realtime tests');
const wsUrl = (t: TestServer, query = '') => `${t.url.replace(/^http/, 'ws')}/api/v1/realtime${query}`;
const FAST = { JOBS_POLL_MS: '50' };

describeEachBackend('realtime', (backend) => {
  let t: TestServer;
  let acme: TenantFixture;
  let globex: TenantFixture;

  beforeAll(async () => {
    t = await startTestServer(backend, FAST);
    [acme, globex] = await Promise.all([createTenant(t.url, t.inbox, 'acme'), createTenant(t.url, t.inbox, 'globex')]);
  });
  afterAll(() => t?.close());

  /** A member's socket opened with a token from POST /api/v1/realtime/token, as a browser does. */
  async function memberSocket(tenant: TenantFixture, who: 'owner' | 'admin' | 'member', types = '') {
    const res = await tenant[who].post('/api/v1/realtime/token', {});
    expect(res.status).toBe(200);
    expect(res.body.token).toMatch(/^rt_/);
    return RealtimeClient.connect(wsUrl(t, `?token=${encodeURIComponent(res.body.token)}${types ? `&types=${types}` : ''}`));
  }

  it("delivers a tenant's events only to that tenant's sockets", async () => {
    const acmeSocket = await memberSocket(acme, 'member');
    const globexSocket = await memberSocket(globex, 'member');
    expect(acmeSocket.frames[0]).toMatchObject({ type: 'ready', tenantId: acme.id });

    expect((await acme.admin.patch('/api/v1/tenants/current', { settings: { realtime: 'acme' } })).status).toBe(200);
    expect((await globex.admin.patch('/api/v1/tenants/current', { settings: { realtime: 'globex' } })).status).toBe(200);
    const acmeEvent = await acmeSocket.next((m) => m.type === 'event' && m.event.type === 'tenant.updated');
    const globexEvent = await globexSocket.next((m) => m.type === 'event' && m.event.type === 'tenant.updated');
    expect(acmeEvent.type === 'event' && acmeEvent.event.data).toMatchObject({ id: acme.id });
    expect(globexEvent.type === 'event' && globexEvent.event.data).toMatchObject({ id: globex.id });
    // Each has seen exactly its own tenant's events: nothing of the other tenant arrived before or after.
    const ids = (socket: RealtimeClient) =>
      socket.frames.flatMap((f) => (f.type === 'event' ? [JSON.stringify(f.event.data)] : []));
    expect(ids(acmeSocket).filter((d) => d.includes(globex.id))).toEqual([]);
    expect(ids(globexSocket).filter((d) => d.includes(acme.id))).toEqual([]);
    await acmeSocket.close();
    await globexSocket.close();
  });

  it("issues tokens only for the caller's own tenant", async () => {
    const foreign = await globex.member.post('/api/v1/realtime/token', {}, { 'x-tenant-id': acme.id });
    expect(foreign.status).toBe(403);
    expect(foreign.body.error.code).toBe('TENANT_ACCESS_DENIED');
    const socket = await memberSocket(globex, 'owner');
    expect(socket.frames[0]).toMatchObject({ type: 'ready', tenantId: globex.id });
    await socket.close();
  });

  it('filters by event type', async () => {
    const socket = await memberSocket(acme, 'admin', 'webhook_endpoint.*');
    expect((await acme.admin.patch('/api/v1/tenants/current', { settings: { filtered: true } })).status).toBe(200);
    const created = await acme.admin.post('/api/v1/webhooks/endpoints', {
      url: 'https://hooks.example.com/rt',
      eventTypes: ['*'],
    });
    expect(created.status).toBe(201);
    await socket.next((m) => m.type === 'event' && m.event.type === 'webhook_endpoint.created');
    expect(socket.eventTypes.every((type) => type.startsWith('webhook_endpoint.'))).toBe(true);
    await socket.close();
  });

  it('delivers events about admin-only objects only to sockets whose role may read them', async () => {
    const memberByToken = await memberSocket(acme, 'member');
    const memberByCookie = await RealtimeClient.connect(wsUrl(t), {
      headers: { cookie: acme.member.cookieHeader(), origin: t.url },
    });
    const memberKey = await apiKeyClient(acme.admin, { role: 'member', scopes: ['events:read'] });
    const memberKeySocket = await RealtimeClient.connect(wsUrl(t), { headers: { 'x-api-key': memberKey.apiKey as string } });
    const admin = await memberSocket(acme, 'admin');
    const members = [memberByToken, memberByCookie, memberKeySocket];

    const endpoint = await acme.admin.post('/api/v1/webhooks/endpoints', {
      url: 'https://hooks.example.com/services/T000/B000/secret-path',
      eventTypes: ['contact.*'],
    });
    expect(endpoint.status).toBe(201);
    const key = await apiKeyClient(acme.admin, { name: 'billing sync', role: 'admin', scopes: ['crm:read'] });
    const endpointEvent = await admin.next((m) => m.type === 'event' && m.event.type === 'webhook_endpoint.created');
    const keyEvent = await admin.next((m) => m.type === 'event' && m.event.type === 'api_key.created');
    expect(endpointEvent.type === 'event' && endpointEvent.event.data).toMatchObject({ id: endpoint.body.id });
    expect(keyEvent.type === 'event' && keyEvent.event.data).toMatchObject({ apiKeyId: key.apiKeyId, name: 'billing sync' });

    // The hub fans an event out to all of a tenant's sockets at once, and a socket receives frames in order: once
    // the admin has both events, a contact created now reaches each member socket after anything sent for them.
    const contact = await acme.admin.post('/api/v1/crm/contacts', { name: 'Milton Waddams' });
    expect(contact.status).toBe(201);
    for (const socket of members) {
      await socket.next((m) => m.type === 'event' && m.event.type === 'contact.created' && m.event.data.id === contact.body.id);
      expect(socket.eventTypes.filter((type) => type.startsWith('webhook_endpoint.') || type.startsWith('api_key.'))).toEqual([]);
      expect(JSON.stringify(socket.frames)).not.toContain('secret-path');
    }
    await admin.next((m) => m.type === 'event' && m.event.type === 'contact.created');
    await Promise.all([...members, admin].map((socket) => socket.close()));
  });

  it("closes a member's sockets when their role changes, so the next handshake reads the new role", async () => {
    const tenant = await createTenant(t.url, t.inbox, 'demotion');
    const demoted = await memberSocket(tenant, 'admin');
    const onlooker = await memberSocket(tenant, 'owner');
    const change = await tenant.owner.patch(`/api/v1/members/${tenant.admin.userId}`, { role: 'member' });
    expect(change.status).toBe(200);
    expect(await demoted.closed).toEqual({ code: 4409, reason: 'role changed' });
    await onlooker.next((m) => m.type === 'event' && m.event.type === 'member.updated');
    expect(demoted.eventTypes).not.toContain('member.updated');
    await onlooker.close();
  });

  it('accepts an API key with events:read at the handshake, and closes its sockets when it is revoked', async () => {
    const key = await apiKeyClient(acme.admin, { scopes: ['events:read'] });
    const socket = await RealtimeClient.connect(wsUrl(t), { headers: { 'x-api-key': key.apiKey as string } });
    expect(socket.frames[0]).toMatchObject({ type: 'ready', tenantId: acme.id });
    expect((await acme.admin.delete(`/api/v1/api-keys/${key.apiKeyId}`)).status).toBe(200);
    expect((await socket.closed).code).toBe(4401);

    // Revoked by another server process after this one resolved (and remembered) it: no new socket.
    const elsewhere = await apiKeyClient(acme.admin, { scopes: ['events:read'] });
    const before = await RealtimeClient.connect(wsUrl(t), { headers: { 'x-api-key': elsewhere.apiKey as string } });
    await before.close();
    await t.ownerQuery('update app.api_keys set revoked_at = now() where id = $1', [elsewhere.apiKeyId]);
    expect((await refusal(wsUrl(t), { 'x-api-key': elsewhere.apiKey as string })).status).toBe(401);

    const noScope = await apiKeyClient(acme.admin, { scopes: ['tenant:read'] });
    const refused = await refusal(wsUrl(t), { 'x-api-key': noScope.apiKey as string });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('INSUFFICIENT_SCOPE');
  });

  it('accepts the session cookie from an allowed origin, and refuses other origins and anonymous callers', async () => {
    const cookie = acme.member.cookieHeader();
    const socket = await RealtimeClient.connect(wsUrl(t), { headers: { cookie, origin: t.url } });
    expect(socket.frames[0]).toMatchObject({ type: 'ready', tenantId: acme.id });
    await socket.close();

    const foreign = await refusal(wsUrl(t), { cookie, origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect((await refusal(wsUrl(t))).status).toBe(401);
    expect((await refusal(wsUrl(t, '?token=rt_forged.token'))).status).toBe(401);
    // A member naming a tenant they do not belong to.
    const other = await refusal(wsUrl(t), { cookie, 'x-tenant-id': globex.id });
    expect(other.status).toBe(403);
    expect(other.body.error.code).toBe('TENANT_ACCESS_DENIED');
  });

  it("closes a removed member's sockets for that tenant within seconds", async () => {
    const tenant = await createTenant(t.url, t.inbox, 'removal');
    const socket = await memberSocket(tenant, 'member');
    const onlooker = await memberSocket(tenant, 'admin');
    expect((await tenant.owner.delete(`/api/v1/members/${tenant.member.userId}`)).status).toBe(200);
    const closed = await socket.closed;
    expect(closed.code).toBe(4403);
    // The rest of the tenant hears about the removal; the removed member did not.
    await onlooker.next((m) => m.type === 'event' && m.event.type === 'member.deleted');
    expect(socket.eventTypes).not.toContain('member.deleted');
    await onlooker.close();
  });

  (redisUp ? it : it.skip)('carries events committed through one process to sockets on another (Redis)', async () => {
    const a = await startTestServer(backend, { ...FAST, REDIS_URL }, { database: t.server.database });
    // B runs no worker: whatever reaches its sockets came through Redis from A.
    const b = await startTestServer(backend, { REDIS_URL, WORKER_ENABLED: 'false' }, { database: t.server.database });
    await t.server.jobs.stop(); // only A dispatches
    try {
      const token = await acme.member.post('/api/v1/realtime/token', {});
      const onB = await RealtimeClient.connect(wsUrl(b, `?token=${encodeURIComponent(token.body.token)}`));
      const otherTenant = await globex.member.post('/api/v1/realtime/token', {});
      const globexOnB = await RealtimeClient.connect(wsUrl(b, `?token=${encodeURIComponent(otherTenant.body.token)}`));
      expect((await acme.admin.patch('/api/v1/tenants/current', { settings: { via: 'A' } })).status).toBe(200);
      const event = await onB.next((m) => m.type === 'event' && m.event.type === 'tenant.updated', 10_000);
      expect(event.type === 'event' && event.event.data).toMatchObject({ id: acme.id });
      expect(globexOnB.eventTypes).toEqual([]);
      await onB.close();
      await globexOnB.close();
    } finally {
      await b.close();
      await a.close();
      await t.server.jobs.start();
    }
  });
});
