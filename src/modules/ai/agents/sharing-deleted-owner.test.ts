import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTenant, type TenantFixture } from '../../../../test/support/client.ts';
import { describeEachBackend, startTestServer, type TestServer } from '../../../../test/support/harness.ts';

const AGENT = { name: 'Concierge', systemPrompt: 'You answer questions about the hotel.', model: 'gpt-4o-mini' };

describeEachBackend('agents shared by a tenant that is then deleted', (backend) => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer(backend);
  });
  afterAll(() => t?.close());

  async function sharedAgent(owner: TenantFixture, sharing: object): Promise<string> {
    const created = await owner.admin.post('/api/v1/ai/agents', AGENT);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const shared = await owner.admin.request('PUT', `/api/v1/ai/agents/${created.body.id}/sharing`, sharing);
    expect(shared.status, JSON.stringify(shared.body)).toBe(200);
    return created.body.id as string;
  }

  it('are invisible to the tenants they were shared with and cannot start or continue conversations', async () => {
    const [a, b] = await Promise.all([createTenant(t.url, t.inbox, 'owner'), createTenant(t.url, t.inbox, 'user')]);
    const globalId = await sharedAgent(a, { sharing: 'global' });
    const selectiveId = await sharedAgent(a, { sharing: 'selective', sharedWith: [b.id] });
    const sharedIds = async () =>
      (await b.member.get('/api/v1/ai/agents?owner=shared&limit=100')).body.items.map((i: { id: string }) => i.id);

    // While A is live, B sees and uses both: what follows is the deletion's doing.
    expect(await sharedIds()).toEqual(expect.arrayContaining([globalId, selectiveId]));
    const earlier = await b.member.post('/api/v1/ai/conversations', { agentId: globalId });
    expect(earlier.status, JSON.stringify(earlier.body)).toBe(201);

    const deleted = await a.owner.delete(`/api/v1/tenants/current?confirmSlug=${a.slug}`);
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(200);

    const after = await sharedIds();
    expect(after).not.toContain(globalId);
    expect(after).not.toContain(selectiveId);
    for (const id of [globalId, selectiveId]) {
      const seen = await b.member.get(`/api/v1/ai/agents/${id}`);
      expect(seen.status, id).toBe(404);
      expect(seen.body.error.code).toBe('NOT_FOUND');
      const started = await b.member.post('/api/v1/ai/conversations', { agentId: id });
      expect(started.status, id).toBe(422);
      expect(started.body.error.code).toBe('UNPROCESSABLE');
    }
    const continued = await b.member.post(`/api/v1/ai/conversations/${earlier.body.id}/messages`, { content: 'Still there?' });
    expect(continued.status).toBe(422);
    expect(continued.body.error.code).toBe('UNPROCESSABLE');

    // Soft delete: the rows and their sharing are kept; only their visibility ended.
    const rows = await t.ownerQuery<{ sharing: string }>(
      'select sharing from app.ai_agents where id = any($1) order by sharing',
      [[globalId, selectiveId]],
    );
    expect(rows.map((r) => r.sharing)).toEqual(['global', 'selective']);
  });

  it("still shows a live owner's shared agents next to a deleted owner's hidden ones", async () => {
    const [live, doomed, viewer] = await Promise.all([
      createTenant(t.url, t.inbox, 'live'),
      createTenant(t.url, t.inbox, 'doomed'),
      createTenant(t.url, t.inbox, 'viewer'),
    ]);
    const liveId = await sharedAgent(live, { sharing: 'global' });
    const doomedId = await sharedAgent(doomed, { sharing: 'global' });
    expect((await doomed.owner.delete(`/api/v1/tenants/current?confirmSlug=${doomed.slug}`)).status).toBe(200);

    const listed = await viewer.member.get('/api/v1/ai/agents?owner=shared&limit=100');
    const ids = listed.body.items.map((i: { id: string }) => i.id);
    expect(ids).toContain(liveId);
    expect(ids).not.toContain(doomedId);
    expect((await viewer.member.post('/api/v1/ai/conversations', { agentId: liveId })).status).toBe(201);
    // The live owner still sees and uses its own agent.
    expect((await live.member.get(`/api/v1/ai/agents/${liveId}`)).status).toBe(200);
  });
});
