import { afterAll, beforeAll, expect, it } from 'vitest';
import { ApiClient, apiKeyClient, createTenant, type TenantFixture } from '../../../test/support/client.ts';
import { describeEachBackend, startTestServer, type TestServer } from '../../../test/support/harness.ts';
import { logCapture } from '../../../test/support/log-capture.ts';
import { generateApiKey, hashApiKey, isWellFormedApiKey } from '../../auth/api-key-format.ts';

it('generates recognisable keys with a checksum, and stores only their hash', () => {
  const key = generateApiKey('live');
  expect(key.secret).toMatch(/^pal_live_[0-9A-Za-z]{32}_[0-9A-Za-z]{6}$/);
  expect(isWellFormedApiKey(key.secret)).toBe(true);
  expect(key.secret.startsWith(key.displayPrefix)).toBe(true);
  expect(key.displayPrefix).toHaveLength('pal_live_'.length + 6);
  expect(key.secretHash).toBe(hashApiKey(key.secret));
  expect(key.secretHash).not.toContain(key.secret.slice(9, 41));
  // One changed character breaks the checksum.
  const body = key.secret.slice(9, 41);
  const typo = key.secret.replace(body, `${body.slice(0, -1)}${body.endsWith('a') ? 'b' : 'a'}`);
  expect(isWellFormedApiKey(typo)).toBe(false);
  expect(generateApiKey('test').secret).toMatch(/^pal_test_/);
  expect(new Set(Array.from({ length: 50 }, () => generateApiKey('test').secret)).size).toBe(50);
});

describeEachBackend('api keys', (backend) => {
  let t: TestServer;
  let acme: TenantFixture;
  let globex: TenantFixture;
  const log = logCapture();
  const logLines = log.lines;

  beforeAll(async () => {
    t = await startTestServer(backend, { LOG_LEVEL: 'debug' }, { logDestination: log.destination });
    [acme, globex] = await Promise.all([createTenant(t.url, t.inbox, 'acme'), createTenant(t.url, t.inbox, 'globex')]);
  });
  afterAll(() => t?.close());

  it('shows the secret once; lists show the prefix, scopes, creator and times but never the secret or its hash', async () => {
    const res = await acme.admin.post('/api/v1/api-keys', { name: 'CI', scopes: ['webhooks:read'] });
    expect(res.status).toBe(201);
    const secret = res.body.secret as string;
    expect(secret).toMatch(/^pal_test_/);
    expect(res.body).toMatchObject({ name: 'CI', role: 'member', scopes: ['webhooks:read'], createdBy: acme.admin.userId });
    expect(secret.startsWith(res.body.displayPrefix)).toBe(true);

    const [stored] = await t.ownerQuery<{ secret_hash: string }>('select secret_hash from app.api_keys where id = $1', [
      res.body.id,
    ]);
    expect(stored?.secret_hash).toBe(hashApiKey(secret));

    const list = await acme.admin.get('/api/v1/api-keys');
    expect(list.status).toBe(200);
    const listed = list.body.items.find((k: { id: string }) => k.id === res.body.id);
    expect(listed).toMatchObject({ displayPrefix: res.body.displayPrefix, scopes: ['webhooks:read'], lastUsedAt: null });
    expect(JSON.stringify(list.body)).not.toContain(secret);
    expect(JSON.stringify(list.body)).not.toContain(hashApiKey(secret));
    const one = await acme.admin.get(`/api/v1/api-keys/${res.body.id}`);
    expect(one.status).toBe(200);
    expect(one.body).not.toHaveProperty('secret');
  });

  it('acts inside its tenant, by Authorization: Bearer or x-api-key, and records its last use', async () => {
    const key = await apiKeyClient(acme.admin, { scopes: ['tenant:read'] });
    const byHeader = await key.get('/api/v1/tenants/current');
    expect(byHeader.status).toBe(200);
    expect(byHeader.body.id).toBe(acme.id);

    const bearer = new ApiClient(t.url);
    const byBearer = await bearer.get('/api/v1/tenants/current', { authorization: `Bearer ${key.apiKey}` });
    expect(byBearer.status).toBe(200);
    expect(byBearer.body.id).toBe(acme.id);

    const overTrpc = await key.trpc('query', 'tenants.current');
    expect(overTrpc.status).toBe(200);
    expect(overTrpc.body.result.data.id).toBe(acme.id);

    const [row] = await t.ownerQuery<{ last_used_at: Date | null }>('select last_used_at from app.api_keys where id = $1', [
      key.apiKeyId,
    ]);
    expect(row?.last_used_at).not.toBeNull();
  });

  it('holds only its scopes and its role ceiling', async () => {
    const reader = await apiKeyClient(acme.admin, { role: 'admin', scopes: ['webhooks:read'] });
    expect((await reader.get('/api/v1/webhooks/endpoints')).status).toBe(200);
    const write = await reader.post('/api/v1/webhooks/endpoints', { url: 'https://hooks.example.com/x', eventTypes: ['*'] });
    expect(write.status).toBe(403);
    expect(write.body.error.code).toBe('INSUFFICIENT_SCOPE');
    const audit = await reader.get('/api/v1/audit-log');
    expect(audit.body.error.code).toBe('INSUFFICIENT_SCOPE');

    // write includes read
    const writer = await apiKeyClient(acme.admin, { role: 'admin', scopes: ['webhooks:write'] });
    expect((await writer.get('/api/v1/webhooks/endpoints')).status).toBe(200);

    // A member-ceiling key cannot use admin procedures even with no scope restriction.
    const member = await apiKeyClient(acme.admin, { role: 'member' });
    expect((await member.get('/api/v1/members')).status).toBe(200);
    const admin = await member.get('/api/v1/webhooks/endpoints');
    expect(admin.status).toBe(403);
    expect(admin.body.error.code).toBe('FORBIDDEN');
  });

  it('cannot call member-only procedures, and cannot mint or revoke keys', async () => {
    const key = await apiKeyClient(acme.admin, { role: 'admin' });
    for (const res of [
      await key.post('/api/v1/api-keys', { name: 'child' }),
      await key.get('/api/v1/api-keys'),
      await key.post('/api/v1/invitations', { email: 'someone@test.example' }),
      await key.get('/api/v1/me'),
      await key.post('/api/v1/members/leave', {}),
    ]) {
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('API_KEY_NOT_ALLOWED');
    }
  });

  it("is useless against another tenant: another tenant's ids are not found, X-Tenant-Id is refused", async () => {
    const endpoint = await globex.admin.post('/api/v1/webhooks/endpoints', {
      url: 'https://hooks.example.com/globex',
      eventTypes: ['*'],
    });
    expect(endpoint.status).toBe(201);
    const key = await apiKeyClient(acme.admin, { role: 'admin' });
    const foreign = await key.get(`/api/v1/webhooks/endpoints/${endpoint.body.id}`);
    expect(foreign.status).toBe(404);
    const switched = await key.get('/api/v1/tenants/current', { 'x-tenant-id': globex.id });
    expect(switched.status).toBe(403);
    expect(switched.body.error.code).toBe('TENANT_ACCESS_DENIED');
    const list = await key.get('/api/v1/webhooks/endpoints?limit=100');
    expect(JSON.stringify(list.body)).not.toContain(endpoint.body.id);
  });

  it('is refused with 401 from the next request after revocation, and when expired or malformed', async () => {
    const key = await apiKeyClient(acme.admin, { scopes: ['tenant:read'] });
    expect((await key.get('/api/v1/tenants/current')).status).toBe(200);
    const revoked = await acme.admin.delete(`/api/v1/api-keys/${key.apiKeyId}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).not.toBeNull();
    const after = await key.get('/api/v1/tenants/current');
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('UNAUTHENTICATED');
    // Listed only when asked for, and "false" in a query string means false.
    const listed = async (query: string) =>
      (await acme.admin.get(`/api/v1/api-keys?limit=100${query}`)).body.items.map((k: { id: string }) => k.id);
    expect(await listed('')).not.toContain(key.apiKeyId);
    expect(await listed('&includeRevoked=false')).not.toContain(key.apiKeyId);
    expect(await listed('&includeRevoked=true')).toContain(key.apiKeyId);

    const expiring = await apiKeyClient(acme.admin, {
      scopes: ['tenant:read'],
      expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expect((await expiring.get('/api/v1/tenants/current')).status).toBe(200);
    await t.ownerQuery("update app.api_keys set expires_at = now() - interval '1 second' where id = $1", [expiring.apiKeyId]);
    expect((await expiring.get('/api/v1/tenants/current')).status).toBe(401);

    // Revoked by another server process: this one resolved the key before and remembers it
    // (auth/principal.ts, ApiKeyCache), but its next transaction checks it again.
    const elsewhere = await apiKeyClient(acme.admin, { scopes: ['tenant:read'] });
    expect((await elsewhere.get('/api/v1/tenants/current')).status).toBe(200);
    await t.ownerQuery('update app.api_keys set revoked_at = now() where id = $1', [elsewhere.apiKeyId]);
    const refused = await elsewhere.get('/api/v1/tenants/current');
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('UNAUTHENTICATED');

    // Also by procedures that answer from this process's memory, not from a table.
    const reader = await apiKeyClient(acme.admin, { role: 'admin', scopes: ['audit:read'] });
    expect((await reader.get('/api/v1/observability/stats')).status).toBe(200);
    await t.ownerQuery('update app.api_keys set revoked_at = now() where id = $1', [reader.apiKeyId]);
    expect((await reader.get('/api/v1/observability/stats')).status).toBe(401);
    expect((await reader.get('/api/v1/observability/slow-queries')).status).toBe(401);

    const made = new ApiClient(t.url);
    made.apiKey = generateApiKey('test').secret; // well formed, never issued
    expect((await made.get('/api/v1/tenants/current')).status).toBe(401);
    made.apiKey = 'pal_test_not-a-key';
    expect((await made.get('/api/v1/tenants/current')).status).toBe(401);
  });

  it('never falls back to the session cookie when a presented key is invalid', async () => {
    const res = await acme.admin.get('/api/v1/tenants/current', { 'x-api-key': 'pal_test_invalid' });
    expect(res.status).toBe(401);
  });

  it('is attributed in the audit log and events, with IP, user agent and before/after', async () => {
    const key = await apiKeyClient(acme.admin, { role: 'admin', scopes: ['webhooks:write'] });
    const created = await key.post(
      '/api/v1/webhooks/endpoints',
      { url: 'https://hooks.example.com/by-key', eventTypes: ['*'] },
      { 'user-agent': 'palisade-test-agent/1.0' },
    );
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^whsec_/);
    const updated = await key.patch(`/api/v1/webhooks/endpoints/${created.body.id}`, { description: 'renamed' });
    expect(updated.status).toBe(200);
    const log = await acme.admin.get(`/api/v1/audit-log?actorApiKeyId=${key.apiKeyId}`);
    expect(log.status).toBe(200);
    const entries = log.body.items as Array<Record<string, unknown>>;
    expect(entries.map((e) => e.action)).toEqual(['webhook_endpoint.updated', 'webhook_endpoint.created']);
    expect(entries[1]).toMatchObject({
      actorUserId: null,
      actorApiKeyId: key.apiKeyId,
      ip: '127.0.0.1',
      userAgent: 'palisade-test-agent/1.0',
    });
    expect(entries[0]).toMatchObject({ before: { description: '' }, after: { description: 'renamed' } });
    const [event] = await t.ownerQuery<{ actor_api_key_id: string }>(
      "select actor_api_key_id from app.events where tenant_id = $1 and type = 'webhook_endpoint.created' and data->>'id' = $2",
      [acme.id, created.body.id],
    );
    expect(event?.actor_api_key_id).toBe(key.apiKeyId);

    const keyCreated = await acme.admin.get(`/api/v1/audit-log?action=api_key.created&limit=1`);
    expect(keyCreated.body.items[0]).toMatchObject({ targetType: 'api_key', after: { role: 'admin' } });
  });

  it('members cannot create keys, and admins cannot create keys above their own role', async () => {
    const res = await acme.member.post('/api/v1/api-keys', { name: 'nope' });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('FORBIDDEN');
    const owner = await acme.admin.post('/api/v1/api-keys', { name: 'owner', role: 'owner' });
    expect(owner.status).toBe(400);
  });

  it('never writes a key to the logs', async () => {
    const key = await apiKeyClient(acme.admin, { scopes: ['tenant:read'] });
    await key.get('/api/v1/tenants/current');
    await new ApiClient(t.url).get('/api/v1/tenants/current', { authorization: `Bearer ${key.apiKey}` });
    expect(logLines.length).toBeGreaterThan(0);
    const secret = key.apiKey as string;
    expect(logLines.filter((l) => l.includes(secret) || l.includes(secret.slice(9, 41)))).toEqual([]);
  });
});
