import { TokenVerifier } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeyClient, createTenant, type TenantFixture } from '../../../../test/support/client.ts';
import { describeEachBackend, startTestServer, type TestServer } from '../../../../test/support/harness.ts';
import { AppError } from '../../../api/errors.ts';
import { JOIN_TOKEN_TTL_SECONDS, liveKitSettings } from './livekit.ts';
import { participantMinutes } from './procedures.ts';

const LIVEKIT = {
  LIVEKIT_URL: 'wss://livekit.test.example',
  LIVEKIT_API_KEY: 'APItestkey',
  LIVEKIT_API_SECRET: 'test-livekit-secret-that-is-long-enough-0123456789',
};

it('needs all three LiveKit settings, and estimates participant-minutes from attendees and whole minutes', () => {
  expect(liveKitSettings(LIVEKIT)).toEqual({
    url: LIVEKIT.LIVEKIT_URL,
    apiKey: LIVEKIT.LIVEKIT_API_KEY,
    apiSecret: LIVEKIT.LIVEKIT_API_SECRET,
  });
  for (const missing of ['LIVEKIT_URL', 'LIVEKIT_API_KEY', 'LIVEKIT_API_SECRET'] as const) {
    const error = (() => {
      try {
        liveKitSettings({ ...LIVEKIT, [missing]: undefined });
        return null;
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('MEETINGS_NOT_CONFIGURED');
    expect((error as AppError).status).toBe(503);
  }
  const startedAt = new Date('2026-01-01T10:00:00Z');
  const endedAt = new Date('2026-01-01T10:30:10Z'); // 30 minutes and 10 seconds: 31 started minutes
  expect(participantMinutes({ startedAt, endedAt, attendees: ['a', 'b'], participants: [1, 2, 3] })).toBe(62);
  // Nobody took a token: the invited participants count.
  expect(participantMinutes({ startedAt, endedAt, attendees: [], participants: [1, 2, 3] })).toBe(93);
  expect(participantMinutes({ startedAt, endedAt: startedAt, attendees: [], participants: [] })).toBe(1);
});

describeEachBackend('ai meetings', (backend) => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer(backend, {
      ...LIVEKIT,
      AI_PRICES: JSON.stringify({ livekit: { default: 0.01 } }),
      WORKER_ENABLED: 'false',
    });
  });
  afterAll(() => t?.close());

  async function contactOf(a: TenantFixture, name: string): Promise<string> {
    const res = await a.member.post('/api/v1/crm/contacts', { name, email: `${name.toLowerCase()}@example.com` });
    expect(res.status).toBe(201);
    return res.body.id as string;
  }

  it('creates a room with its meeting-mode conversation, lists, changes, starts and ends it, recording the LiveKit cost', async () => {
    const a = await createTenant(t.url, t.inbox, 'meet');
    const contactId = await contactOf(a, 'Grace');
    const created = await a.member.post('/api/v1/ai/meetings', {
      title: 'Quarterly review',
      description: 'Numbers',
      scheduledAt: '2030-01-02T09:00:00Z',
      participants: [
        { userId: a.admin.userId, name: 'Admin' },
        { contactId, name: 'Grace', email: 'grace@example.com' },
        { name: 'Guest' },
      ],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const meeting = created.body;
    expect(meeting).toMatchObject({
      title: 'Quarterly review',
      description: 'Numbers',
      status: 'scheduled',
      scheduledAt: '2030-01-02T09:00:00.000Z',
      startedAt: null,
      endedAt: null,
      createdBy: { kind: 'user', id: a.member.userId },
      livekitRoom: `palisade-${meeting.id}`,
    });
    expect(meeting.participants).toHaveLength(3);
    const [conversation] = await t.ownerQuery<{ mode: string; status: string; title: string }>(
      'select mode, status, title from app.ai_conversations where tenant_id = $1 and id = $2',
      [a.id, meeting.conversationId],
    );
    expect(conversation).toEqual({ mode: 'meeting', status: 'open', title: 'Quarterly review' });

    // Participants must be the tenant's own members and contacts.
    const stranger = await a.member.post('/api/v1/ai/meetings', {
      title: 'x',
      participants: [{ userId: crypto.randomUUID(), name: 'Nobody' }],
    });
    expect(stranger.status).toBe(422);
    expect(stranger.body.error.code).toBe('UNPROCESSABLE');
    const noContact = await a.member.post('/api/v1/ai/meetings', {
      title: 'x',
      participants: [{ contactId: crypto.randomUUID(), name: 'Nobody' }],
    });
    expect(noContact.status).toBe(422);
    const invalid = await a.member.post('/api/v1/ai/meetings', { title: '', participants: [{ name: 'x', role: 'boss' }] });
    expect(invalid.status).toBe(400);
    const meetings = await t.ownerQuery<{ n: number }>('select count(*)::int as n from app.ai_meetings where tenant_id = $1', [
      a.id,
    ]);
    expect(meetings[0]?.n).toBe(1);

    const second = await a.member.post('/api/v1/ai/meetings', { title: 'Stand-up' });
    expect(second.status).toBe(201);
    const list = await a.member.get('/api/v1/ai/meetings?limit=1');
    expect(list.body.items.map((m: { id: string }) => m.id)).toEqual([second.body.id]);
    const next = await a.member.get(`/api/v1/ai/meetings?limit=1&cursor=${list.body.nextCursor}`);
    expect(next.body.items.map((m: { id: string }) => m.id)).toEqual([meeting.id]);
    expect(next.body.nextCursor).toBeNull();
    const bySchedule = await a.member.get('/api/v1/ai/meetings?sort=-scheduledAt');
    expect(bySchedule.body.items.map((m: { id: string }) => m.id)).toEqual([meeting.id, second.body.id]);

    const changed = await a.member.patch(`/api/v1/ai/meetings/${meeting.id}`, {
      title: 'Q4 review',
      participants: [{ name: 'Only me' }],
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ title: 'Q4 review', participants: [{ name: 'Only me' }], description: 'Numbers' });

    const started = await a.member.post(`/api/v1/ai/meetings/${meeting.id}/start`);
    expect(started.status).toBe(200);
    expect(started.body.status).toBe('live');
    const startedAgain = await a.member.post(`/api/v1/ai/meetings/${meeting.id}/start`);
    expect(startedAgain.status).toBe(409);
    expect(startedAgain.body.error.code).toBe('INVALID_TRANSITION');
    const liveList = await a.member.get('/api/v1/ai/meetings?status=live');
    expect(liveList.body.items.map((m: { id: string }) => m.id)).toEqual([meeting.id]);
    const deleteLive = await a.member.delete(`/api/v1/ai/meetings/${meeting.id}`);
    expect(deleteLive.status).toBe(409);
    expect((await a.member.post(`/api/v1/ai/meetings/${second.body.id}/end`)).status).toBe(409);

    // Two people take tokens (twice for one of them): two attendees.
    expect((await a.member.post(`/api/v1/ai/meetings/${meeting.id}/join-token`)).status).toBe(200);
    expect((await a.member.post(`/api/v1/ai/meetings/${meeting.id}/join-token`)).status).toBe(200);
    expect((await a.admin.post(`/api/v1/ai/meetings/${meeting.id}/join-token`)).status).toBe(200);

    const ended = await a.member.post(`/api/v1/ai/meetings/${meeting.id}/end`);
    expect(ended.status, JSON.stringify(ended.body)).toBe(200);
    expect(ended.body.status).toBe('ended');
    // Under a minute: one started minute for each of the two attendees, at 0.01 USD.
    expect(ended.body.cost).toMatchObject({ participantMinutes: 2, amount: 0.02 });
    const [cost] = await t.ownerQuery<{ service: string; units: string; unit: string; session_id: string; amount: string }>(
      'select service, units::text, unit, session_id, amount::text from app.ai_cost_events where tenant_id = $1 and id = $2',
      [a.id, ended.body.cost.id],
    );
    expect(cost).toMatchObject({ service: 'livekit', unit: 'participant_minutes', session_id: meeting.conversationId });
    expect(Number(cost?.units)).toBe(2);
    expect(Number(cost?.amount)).toBeCloseTo(0.02, 10);
    const [closed] = await t.ownerQuery<{ status: string }>(
      'select status from app.ai_conversations where tenant_id = $1 and id = $2',
      [a.id, meeting.conversationId],
    );
    expect(closed?.status).toBe('closed');
    expect((await a.member.post(`/api/v1/ai/meetings/${meeting.id}/end`)).status).toBe(409);
    expect((await a.member.post(`/api/v1/ai/meetings/${meeting.id}/join-token`)).status).toBe(409);
    expect((await a.member.patch(`/api/v1/ai/meetings/${meeting.id}`, { title: 'late' })).status).toBe(409);

    // Measured participant-minutes, when the caller has them, are recorded as given.
    await a.member.post(`/api/v1/ai/meetings/${second.body.id}/start`);
    const measured = await a.member.post(`/api/v1/ai/meetings/${second.body.id}/end`, { participantMinutes: 45.5 });
    expect(measured.body.cost).toMatchObject({ participantMinutes: 45.5, amount: 0.455 });

    const deleted = await a.member.delete(`/api/v1/ai/meetings/${meeting.id}`);
    expect(deleted.status).toBe(200);
    expect((await a.member.get(`/api/v1/ai/meetings/${meeting.id}`)).status).toBe(404);
    // The conversation and its costs stay.
    const kept = await t.ownerQuery<{ n: number }>(
      'select count(*)::int as n from app.ai_cost_events where tenant_id = $1 and session_id = $2',
      [a.id, meeting.conversationId],
    );
    expect(kept[0]?.n).toBe(1);
    const audit = await t.ownerQuery<{ target_id: string; actor_user_id: string }>(
      "select target_id, actor_user_id from app.audit_log where tenant_id = $1 and action = 'ai.meeting.deleted'",
      [a.id],
    );
    expect(audit).toEqual([{ target_id: meeting.id, actor_user_id: a.member.userId }]);
    const events = await t.ownerQuery<{ type: string }>(
      "select type from app.events where tenant_id = $1 and type like 'ai.meeting.%' and data->>'id' = $2 order by occurred_at, type",
      [a.id, meeting.id],
    );
    expect(events.map((e) => e.type)).toEqual([
      'ai.meeting.created',
      'ai.meeting.updated',
      'ai.meeting.started',
      'ai.meeting.ended',
      'ai.meeting.deleted',
    ]);
  });

  it('issues a join token for that room only, naming the caller, short-lived, signed with the LiveKit secret', async () => {
    const a = await createTenant(t.url, t.inbox, 'token');
    const meeting = (await a.member.post('/api/v1/ai/meetings', { title: 'Call' })).body;
    const res = await a.member.post(`/api/v1/ai/meetings/${meeting.id}/join-token`, { name: 'Ada' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ url: LIVEKIT.LIVEKIT_URL, room: meeting.livekitRoom, identity: `user:${a.member.userId}` });

    const claims = await new TokenVerifier(LIVEKIT.LIVEKIT_API_KEY, LIVEKIT.LIVEKIT_API_SECRET).verify(res.body.token);
    expect(claims.sub).toBe(`user:${a.member.userId}`);
    expect(claims.iss).toBe(LIVEKIT.LIVEKIT_API_KEY);
    expect(claims.name).toBe('Ada');
    expect(claims.video).toMatchObject({
      room: meeting.livekitRoom,
      roomJoin: true,
      roomCreate: false,
      roomAdmin: false,
      roomList: false,
    });
    const lifetime = (claims.exp ?? 0) - (claims.nbf ?? 0);
    expect(lifetime).toBe(JOIN_TOKEN_TTL_SECONDS);
    expect(new Date(res.body.expiresAt).getTime() / 1000).toBeCloseTo(claims.exp ?? 0, -1);
    // Another secret does not verify it.
    await expect(
      new TokenVerifier(LIVEKIT.LIVEKIT_API_KEY, `${LIVEKIT.LIVEKIT_API_SECRET}x`).verify(res.body.token),
    ).rejects.toThrow();

    // An API key with ai:write joins as itself.
    const key = await apiKeyClient(a.admin, { scopes: ['ai:write'] });
    const byKey = await key.post(`/api/v1/ai/meetings/${meeting.id}/join-token`);
    expect(byKey.status).toBe(200);
    expect(byKey.body.identity).toBe(`api_key:${key.apiKeyId}`);
    const keyClaims = await new TokenVerifier(LIVEKIT.LIVEKIT_API_KEY, LIVEKIT.LIVEKIT_API_SECRET).verify(byKey.body.token);
    expect(keyClaims.sub).toBe(`api_key:${key.apiKeyId}`);
    const reader = await apiKeyClient(a.admin, { scopes: ['ai:read'] });
    expect((await reader.post(`/api/v1/ai/meetings/${meeting.id}/join-token`)).body.error.code).toBe('INSUFFICIENT_SCOPE');
    // The response never carries the secret.
    expect(JSON.stringify(res.body)).not.toContain(LIVEKIT.LIVEKIT_API_SECRET);
  });

  it("gives another tenant's owner, admin and API key no token for A's room and leaves A unchanged", async () => {
    const [a, b] = await Promise.all([createTenant(t.url, t.inbox, 'ja'), createTenant(t.url, t.inbox, 'jb')]);
    const meeting = (await a.member.post('/api/v1/ai/meetings', { title: 'Private' })).body;
    const bKey = await apiKeyClient(b.admin, { role: 'admin' });
    const snapshot = () =>
      t
        .ownerQuery('select m::text as row from app.ai_meetings m where tenant_id = $1 order by id', [a.id])
        .then((rows) => JSON.stringify(rows));
    const before = await snapshot();
    for (const actor of [b.owner, b.admin, bKey]) {
      const plain = await actor.post(`/api/v1/ai/meetings/${meeting.id}/join-token`, { tenantId: a.id, tenant_id: a.id });
      expect(plain.status).toBe(404);
      expect(plain.body.error.code).toBe('NOT_FOUND');
      expect(JSON.stringify(plain.body)).not.toContain(meeting.livekitRoom);
      const header = await actor.post(`/api/v1/ai/meetings/${meeting.id}/join-token`, {}, { 'x-tenant-id': a.id });
      expect(header.status).toBe(403);
      expect(header.body.error.code).toBe('TENANT_ACCESS_DENIED');
    }
    expect(await snapshot()).toBe(before);
    // The same request inside A works (the refusals came from isolation).
    expect((await a.owner.post(`/api/v1/ai/meetings/${meeting.id}/join-token`)).status).toBe(200);
    expect(await snapshot()).not.toBe(before);
  });
});

describe('ai meetings without LiveKit [pglite]', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer('pglite', { WORKER_ENABLED: 'false' });
  });
  afterAll(() => t?.close());

  it('answers join-token with 503 MEETINGS_NOT_CONFIGURED and everything else works', async () => {
    const a = await createTenant(t.url, t.inbox, 'nolk');
    const meeting = await a.member.post('/api/v1/ai/meetings', { title: 'Offline' });
    expect(meeting.status).toBe(201);
    const token = await a.member.post(`/api/v1/ai/meetings/${meeting.body.id}/join-token`);
    expect(token.status).toBe(503);
    expect(token.body.error.code).toBe('MEETINGS_NOT_CONFIGURED');
    // A missing meeting is still 404, not 503.
    expect((await a.member.post(`/api/v1/ai/meetings/${crypto.randomUUID()}/join-token`)).status).toBe(404);
    expect((await a.member.post(`/api/v1/ai/meetings/${meeting.body.id}/start`)).status).toBe(200);
    const ended = await a.member.post(`/api/v1/ai/meetings/${meeting.body.id}/end`);
    expect(ended.status).toBe(200);
    expect(ended.body.cost.participantMinutes).toBe(1);
  });
});
