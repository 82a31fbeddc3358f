import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ChatModelServer,
  modelAnswer,
  readEventStream,
  startChatModelServer,
} from '../../../test/support/chat-model-server.ts';
import { ApiClient, apiKeyClient, createTenant, type TenantFixture } from '../../../test/support/client.ts';
import { describeEachBackend, startTestServer, type TestServer } from '../../../test/support/harness.ts';
import { STARTER_AGENTS, seedDemo } from '../../seed.ts';
import { OFFLINE_LABEL } from './conversations/offline.ts';
import { originAllowed } from './widgets/domains.ts';

describe('widget origins', () => {
  it('matches exact hosts, ports and wildcard subdomains, nothing else', () => {
    const allowed = ['shop.example.com', '*.example.org', 'localhost:8080'];
    expect(originAllowed('https://shop.example.com', allowed)).toBe(true);
    expect(originAllowed('http://shop.example.com:3000', allowed)).toBe(true);
    expect(originAllowed('https://a.b.example.org', allowed)).toBe(true);
    expect(originAllowed('https://example.org', allowed)).toBe(false);
    expect(originAllowed('https://evilexample.org', allowed)).toBe(false);
    expect(originAllowed('https://shop.example.com.evil.io', allowed)).toBe(false);
    expect(originAllowed('http://localhost:8080', allowed)).toBe(true);
    expect(originAllowed('http://localhost:8081', allowed)).toBe(false);
    expect(originAllowed('null', allowed)).toBe(false);
    expect(originAllowed(undefined, allowed)).toBe(false);
  });
});

const AGENT = {
  name: 'Support',
  systemPrompt: 'You answer questions about Acme gadgets.',
  model: 'gpt-4o-mini',
  knowledgeCategories: ['support'],
};

async function agentIn(a: TenantFixture, extra: object = {}): Promise<string> {
  const res = await a.admin.post('/api/v1/ai/agents', { ...AGENT, ...extra });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id as string;
}

async function documentIn(a: TenantFixture, title: string, content: string, category = 'support'): Promise<string> {
  const res = await a.member.post('/api/v1/ai/knowledge/documents', { title, content, category });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id as string;
}

describeEachBackend('ai assistant (offline responder)', (backend) => {
  let t: TestServer;
  let a: TenantFixture;
  let b: TenantFixture;

  beforeAll(async () => {
    t = await startTestServer(backend);
    a = await createTenant(t.url, t.inbox, 'ai-a');
    b = await createTenant(t.url, t.inbox, 'ai-b');
  });
  afterAll(() => t?.close());

  it('shares agents through RLS: others use them, never change them, and every change is audited', async () => {
    const id = await agentIn(a);
    expect((await b.owner.get(`/api/v1/ai/agents/${id}`)).status).toBe(404);

    const shared = await a.admin.request('PUT', `/api/v1/ai/agents/${id}/sharing`, { sharing: 'global' });
    expect(shared.status, JSON.stringify(shared.body)).toBe(200);
    const seen = await b.member.get(`/api/v1/ai/agents/${id}`);
    expect(seen.status).toBe(200);
    expect(seen.body).toMatchObject({ id, owned: false, systemPrompt: null, sharedWith: [] });
    const list = await b.member.get('/api/v1/ai/agents?owner=shared');
    expect(list.body.items.map((i: { id: string }) => i.id)).toContain(id);
    expect((await b.member.get('/api/v1/ai/agents?owner=own')).body.items).toEqual([]);

    const change = await b.owner.patch(`/api/v1/ai/agents/${id}`, { name: 'Hijacked' });
    expect(change.status).toBe(403);
    expect(change.body.error.code).toBe('SHARED_AGENT_READ_ONLY');
    expect((await b.owner.delete(`/api/v1/ai/agents/${id}`)).status).toBe(403);
    expect((await b.owner.request('PUT', `/api/v1/ai/agents/${id}/sharing`, { sharing: 'private' })).status).toBe(403);
    const [row] = await t.ownerQuery<{ name: string; sharing: string }>('select name, sharing from app.ai_agents where id = $1', [
      id,
    ]);
    expect(row).toEqual({ name: 'Support', sharing: 'global' });

    // Use, yes: B talks to A's agent, and the use is counted in B's own statistics.
    const conversation = await b.member.post('/api/v1/ai/conversations', { agentId: id });
    expect(conversation.status).toBe(201);
    expect((await b.member.get(`/api/v1/ai/agents/${id}`)).body.usage.conversations).toBe(1);
    expect((await a.member.get(`/api/v1/ai/agents/${id}`)).body.usage.conversations).toBe(0);

    // Selective: only the listed tenant sees it.
    const c = await createTenant(t.url, t.inbox, 'ai-c');
    const selective = await a.admin.request('PUT', `/api/v1/ai/agents/${id}/sharing`, {
      sharing: 'selective',
      sharedWith: [c.id],
    });
    expect(selective.status).toBe(200);
    expect((await c.member.get(`/api/v1/ai/agents/${id}`)).status).toBe(200);
    expect((await b.member.get(`/api/v1/ai/agents/${id}`)).status).toBe(404);
    expect((await b.member.post('/api/v1/ai/conversations', { agentId: id })).status).toBe(422);

    const audit = await t.ownerQuery<{ action: string }>(
      "select action from app.audit_log where tenant_id = $1 and action = 'agent.sharing_changed' order by created_at",
      [a.id],
    );
    expect(audit).toHaveLength(2);
    // Sharing is an admin's decision.
    expect((await a.member.request('PUT', `/api/v1/ai/agents/${id}/sharing`, { sharing: 'private' })).status).toBe(403);
  });

  it('changes only the fields an update names: the rest keep their values, not the create defaults', async () => {
    const agentId = await agentIn(a, { temperature: 0.2, maxTokens: 300, active: false });
    await documentIn(a, 'Internal codes', '# Codes\n\nThe platypus vault code is 4711.', 'internal');
    const renamed = await a.member.patch(`/api/v1/ai/agents/${agentId}`, { name: 'Renamed' });
    expect(renamed.status, JSON.stringify(renamed.body)).toBe(200);
    expect(renamed.body).toMatchObject({
      name: 'Renamed',
      knowledgeCategories: ['support'],
      temperature: 0.2,
      maxTokens: 300,
      active: false,
    });
    const [row] = await t.ownerQuery<{ knowledge_categories: string[]; active: boolean }>(
      'select knowledge_categories, active from app.ai_agents where id = $1',
      [agentId],
    );
    expect(row).toEqual({ knowledge_categories: ['support'], active: false });
    const [audit] = await t.ownerQuery<{ after: object }>(
      "select after from app.audit_log where tenant_id = $1 and action = 'agent.updated' and target_id = $2",
      [a.id, agentId],
    );
    expect(audit?.after).toEqual({ name: 'Renamed' });

    // Still limited to its categories: another category's document stays out of its answers.
    expect((await a.member.patch(`/api/v1/ai/agents/${agentId}`, { active: true })).status).toBe(200);
    const conversation = await a.member.post('/api/v1/ai/conversations', { agentId });
    const sent = await a.member.post(`/api/v1/ai/conversations/${conversation.body.id}/messages`, {
      content: 'What is the platypus vault code?',
    });
    expect(sent.status, JSON.stringify(sent.body)).toBe(201);
    expect(sent.body.answer.content).not.toContain('4711');
  });

  it('answers offline from the tenant’s own knowledge, with citations and a clear label', async () => {
    const agentId = await agentIn(a);
    await documentIn(a, 'Returns policy', '# Returns\n\nGadgets can be returned within 30 days with the receipt.');
    await documentIn(b, 'B secret', '# Returns\n\nTenant B refunds platypus gadgets within 99 days.');
    const conversation = await a.member.post('/api/v1/ai/conversations', { agentId, title: 'Returns' });
    const sent = await a.member.post(`/api/v1/ai/conversations/${conversation.body.id}/messages`, {
      content: 'How many days do I have to return gadgets?',
    });
    expect(sent.status, JSON.stringify(sent.body)).toBe(201);
    expect(sent.body.offline).toBe(true);
    expect(sent.body.answer.content.startsWith(OFFLINE_LABEL)).toBe(true);
    expect(sent.body.answer.content).toContain('30 days');
    expect(sent.body.answer.content).not.toContain('platypus');
    expect(sent.body.answer.citations[0]).toMatchObject({ documentTitle: 'Returns policy' });
    expect(sent.body.answer.model).toBe('offline');

    const transcript = await a.member.get(`/api/v1/ai/conversations/${conversation.body.id}`);
    expect(transcript.body.messages.map((m: { role: string }) => m.role)).toEqual(['user', 'assistant']);
    expect(transcript.body.totals.messages).toBe(2);
    expect((await b.owner.get(`/api/v1/ai/conversations/${conversation.body.id}`)).status).toBe(404);
  });

  it('streams answers as server-sent events to members and API keys', async () => {
    const agentId = await agentIn(a);
    const key = await apiKeyClient(a.admin, { scopes: ['ai:write'] });
    const conversation = await key.post('/api/v1/ai/conversations', { agentId });
    expect(conversation.status).toBe(201);
    const res = await fetch(`${t.url}/api/v1/ai/conversations/${conversation.body.id}/messages/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key.apiKey as string },
      body: JSON.stringify({ content: 'Hello there' }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const events = await readEventStream(res);
    const deltas = events.filter((e) => e.event === 'delta').map((e) => e.data.text as string);
    const done = events.find((e) => e.event === 'done');
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe(done?.data.answer.content);
    // Another tenant's key cannot stream into A's conversation.
    const other = await apiKeyClient(b.admin, { scopes: ['ai:write'] });
    const foreign = await fetch(`${t.url}/api/v1/ai/conversations/${conversation.body.id}/messages/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': other.apiKey as string },
      body: JSON.stringify({ content: 'Hello there' }),
    });
    expect(foreign.status).toBe(404);
    const [count] = await t.ownerQuery<{ n: number }>(
      'select count(*)::int as n from app.ai_messages where conversation_id = $1',
      [conversation.body.id],
    );
    expect(count?.n).toBe(2);
  });

  it('serves widgets only to their allowed origins, and a widget key reaches only its own conversations', async () => {
    const agentId = await agentIn(a);
    await documentIn(a, 'Shipping', '# Shipping\n\nWe ship gadgets worldwide in 5 working days.');
    const created = await a.member.post('/api/v1/ai/widgets', {
      name: 'Shop chat',
      agentId,
      greeting: 'Hi! Ask me anything.',
      allowedDomains: ['shop.example.com', '*.acme.test'],
      theme: { primaryColor: '#112233' },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const key = created.body.publishableKey as string;
    expect(created.body.embedSnippet).toContain(`data-palisade-widget="${key}"`);
    const api = `${t.url}/api/v1/widget/${key}`;
    const allowed = { origin: 'https://shop.example.com', 'content-type': 'application/json' };

    const config = await fetch(`${api}/config`, { headers: { origin: 'https://www.acme.test' } });
    expect(config.status).toBe(200);
    expect(config.headers.get('access-control-allow-origin')).toBe('https://www.acme.test');
    expect((await config.json()) as object).toMatchObject({
      name: 'Shop chat',
      greeting: 'Hi! Ask me anything.',
      theme: { primaryColor: '#112233' },
    });

    const refused = await fetch(`${api}/config`, { headers: { origin: 'https://evil.example.net' } });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    expect(((await refused.json()) as any).error.code).toBe('ORIGIN_NOT_ALLOWED');
    expect((await fetch(`${api}/config`)).status).toBe(403);
    const preflight = await fetch(`${api}/sessions`, {
      method: 'OPTIONS',
      headers: { origin: 'https://shop.example.com', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://shop.example.com');

    const session = await fetch(`${api}/sessions`, { method: 'POST', headers: allowed, body: '{}' });
    expect(session.status).toBe(201);
    const { sessionId, visitorToken } = (await session.json()) as { sessionId: string; visitorToken: string };
    const answer = await fetch(`${api}/sessions/${sessionId}/messages`, {
      method: 'POST',
      headers: allowed,
      body: JSON.stringify({ visitorToken, content: 'How long does shipping take?' }),
    });
    expect(answer.status).toBe(200);
    const events = await readEventStream(answer);
    const done = events.find((e) => e.event === 'done');
    expect(done?.data.answer.content).toContain('5 working days');

    // The token is the visitor's: a wrong one, or another conversation, is not found.
    const wrongToken = await fetch(`${api}/sessions/${sessionId}/messages`, {
      method: 'POST',
      headers: allowed,
      body: JSON.stringify({ visitorToken: `vt_${'x'.repeat(32)}`, content: 'hi' }),
    });
    expect(wrongToken.status).toBe(404);
    const bAgent = await agentIn(b);
    const bConversation = await b.member.post('/api/v1/ai/conversations', { agentId: bAgent });
    const crossTenant = await fetch(`${api}/sessions/${bConversation.body.id}/messages`, {
      method: 'POST',
      headers: allowed,
      body: JSON.stringify({ visitorToken, content: 'hi' }),
    });
    expect(crossTenant.status).toBe(404);
    const [bMessages] = await t.ownerQuery<{ n: number }>('select count(*)::int as n from app.ai_messages where tenant_id = $1', [
      b.id,
    ]);
    expect(bMessages?.n).toBe(0);

    // The tenant sees the visitor's conversation; a switched-off widget is refused.
    const conversations = await a.member.get(`/api/v1/ai/conversations?widgetId=${created.body.id}`);
    expect(conversations.body.items.map((c: { id: string }) => c.id)).toEqual([sessionId]);
    expect((await a.member.patch(`/api/v1/ai/widgets/${created.body.id}`, { active: false })).status).toBe(200);
    // A later change of something else leaves it switched off.
    expect((await a.member.patch(`/api/v1/ai/widgets/${created.body.id}`, { greeting: 'Hello again' })).status).toBe(200);
    const inactive = await fetch(`${api}/sessions`, { method: 'POST', headers: allowed, body: '{}' });
    expect(inactive.status).toBe(403);
    expect(((await inactive.json()) as any).error.code).toBe('WIDGET_INACTIVE');

    // Deleting the widget keeps the tenant's transcript, detached from the widget.
    expect((await a.member.delete(`/api/v1/ai/widgets/${created.body.id}`)).status).toBe(200);
    const kept = await a.member.get(`/api/v1/ai/conversations/${sessionId}`);
    expect(kept.body).toMatchObject({ id: sessionId, widgetId: null });
    expect((await fetch(`${api}/config`, { headers: { origin: 'https://shop.example.com' } })).status).toBe(404);

    const script = await fetch(`${t.url}/widget.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toContain('javascript');
    expect(await script.text()).toContain('attachShadow');
  });
});

describeEachBackend('ai assistant (model service)', (backend) => {
  let t: TestServer;
  let model: ChatModelServer;
  let a: TenantFixture;

  beforeAll(async () => {
    model = await startChatModelServer();
    t = await startTestServer(backend, {
      LLM_BASE_URL: model.url,
      LLM_API_KEY: 'test-model-key',
      // Expensive enough that one answer passes a one-dollar budget.
      AI_PRICES: JSON.stringify({ llm: { 'pricey-model': { input: 100, output: 100 } } }),
    });
    a = await createTenant(t.url, t.inbox, 'ai-model');
  });
  afterAll(async () => {
    await t?.close();
    await model?.close();
  });

  it('keeps conversations, meetings and cost events when the widget, contact or conversation they name is deleted', async () => {
    const agentId = await agentIn(a);
    const contact = await a.member.post('/api/v1/crm/contacts', { name: 'Ada Detached' });
    const withContact = await a.member.post('/api/v1/ai/conversations', { agentId, contactId: contact.body.id });
    expect(withContact.status, JSON.stringify(withContact.body)).toBe(201);
    const widget = await a.member.post('/api/v1/ai/widgets', {
      name: 'Gone soon',
      agentId,
      allowedDomains: ['shop.example.com'],
    });
    const visitor = await fetch(`${t.url}/api/v1/widget/${widget.body.publishableKey}/sessions`, {
      method: 'POST',
      headers: { origin: 'https://shop.example.com', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(visitor.status).toBe(201);
    const { sessionId } = (await visitor.json()) as { sessionId: string };
    const meeting = await a.member.post('/api/v1/ai/meetings', { title: 'Review' });
    expect(meeting.status, JSON.stringify(meeting.body)).toBe(201);
    const meetingConversation = meeting.body.conversationId as string;
    await t.ownerQuery(
      `insert into app.ai_cost_events (tenant_id, service, units, unit, unit_price, amount, session_id)
       values ($1, 'livekit', 1, 'participant_minute', 0.004, 0.004, $2)`,
      [a.id, meetingConversation],
    );

    expect((await a.admin.delete(`/api/v1/ai/widgets/${widget.body.id}`)).status).toBe(200);
    expect((await a.admin.delete(`/api/v1/crm/contacts/${contact.body.id}`)).status).toBe(200);
    const purged = await a.admin.post(`/api/v1/crm/contacts/${contact.body.id}/purge`, {});
    expect(purged.status, JSON.stringify(purged.body)).toBe(200);
    expect((await a.admin.delete(`/api/v1/ai/conversations/${meetingConversation}`)).status).toBe(200);

    const conversations = await t.ownerQuery<{ id: string; widget_id: string | null; contact_id: string | null }>(
      'select id, widget_id, contact_id from app.ai_conversations where tenant_id = $1 and id = any($2::uuid[]) order by id',
      [a.id, [sessionId, withContact.body.id]],
    );
    expect(conversations).toEqual(
      [
        { id: sessionId, widget_id: null, contact_id: null },
        { id: withContact.body.id, widget_id: null, contact_id: null },
      ].sort((x, y) => x.id.localeCompare(y.id)),
    );
    const [kept] = await t.ownerQuery<{ conversation_id: string | null }>(
      'select conversation_id from app.ai_meetings where tenant_id = $1 and id = $2',
      [a.id, meeting.body.id],
    );
    expect(kept).toEqual({ conversation_id: null });
    const costs = await t.ownerQuery<{ session_id: string | null }>(
      "select session_id from app.ai_cost_events where tenant_id = $1 and service = 'livekit'",
      [a.id],
    );
    expect(costs).toEqual([{ session_id: null }]);
  });

  it('grounds the model in the tenant’s knowledge and records tokens, cost and latency', async () => {
    const agentId = await agentIn(a, { temperature: 0.2, maxTokens: 300 });
    await documentIn(a, 'Warranty', '# Warranty\n\nEvery gadget carries a two year warranty.');
    const conversation = await a.member.post('/api/v1/ai/conversations', { agentId });
    const sent = await a.member.post(`/api/v1/ai/conversations/${conversation.body.id}/messages`, {
      content: 'What warranty do gadgets carry?',
    });
    expect(sent.status, JSON.stringify(sent.body)).toBe(201);
    expect(sent.body.offline).toBe(false);
    expect(sent.body.answer.content).toBe(modelAnswer('What warranty do gadgets carry?'));
    expect(sent.body.answer.tokensOut).toBeGreaterThan(0);
    expect(sent.body.answer.cost).toBeGreaterThan(0);
    expect(sent.body.answer.latencyMs).toBeGreaterThanOrEqual(0);

    const request = model.requests.at(-1);
    expect(request?.model).toBe('gpt-4o-mini');
    expect(request?.body).toMatchObject({ temperature: 0.2, max_tokens: 300, stream: true });
    expect(request?.messages[0]?.role).toBe('system');
    expect(request?.messages[0]?.content).toContain('two year warranty');

    const costs = await t.ownerQuery<{ unit: string; units: number }>(
      "select unit, units::float8 as units from app.ai_cost_events where tenant_id = $1 and service = 'llm' order by unit",
      [a.id],
    );
    expect(costs.map((c) => c.unit)).toEqual(['input_tokens', 'output_tokens']);
    const conversationRow = await a.member.get(`/api/v1/ai/conversations/${conversation.body.id}`);
    expect(conversationRow.body.totals.cost).toBeCloseTo(sent.body.answer.cost, 6);
  });

  it('refuses model calls with BUDGET_EXCEEDED at the hard limit, and charges nothing when the model fails', async () => {
    const tenant = await createTenant(t.url, t.inbox, 'ai-budget');
    const agentId = await agentIn(tenant, { model: 'pricey-model' });
    const budget = await tenant.admin.request('PUT', '/api/v1/ai/budget', { monthlyLimit: 1, hardLimit: true });
    expect(budget.status, JSON.stringify(budget.body)).toBe(200);
    const conversation = await tenant.member.post('/api/v1/ai/conversations', { agentId });
    const path = `/api/v1/ai/conversations/${conversation.body.id}/messages`;

    model.failNext(2);
    const failed = await tenant.member.post(path, { content: 'first try' });
    expect(failed.status).toBe(502);
    expect(failed.body.error.code).toBe('MODEL_UNAVAILABLE');
    expect(JSON.stringify(failed.body)).not.toContain('exploded');
    const [reserved] = await t.ownerQuery<{ n: number }>(
      'select count(*)::int as n from app.ai_budget_reservations where tenant_id = $1',
      [tenant.id],
    );
    expect(reserved?.n).toBe(0);

    expect((await tenant.member.post(path, { content: 'one question costs more than a dollar here' })).status).toBe(201);
    const refused = await tenant.member.post(path, { content: 'and another' });
    expect(refused.status).toBe(402);
    expect(refused.body.error.code).toBe('BUDGET_EXCEEDED');
    const [events] = await t.ownerQuery<{ n: number }>(
      "select count(*)::int as n from app.ai_cost_events where tenant_id = $1 and unit = 'output_tokens'",
      [tenant.id],
    );
    expect(events?.n).toBe(1);
  });
});

describe('demo seed', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer('pglite');
  });
  afterAll(() => t?.close());

  it('publishes the starter catalog as global agents every tenant can use but not change', async () => {
    const seeded = await seedDemo(t.server);
    const owner = seeded?.find((u) => u.tenant === 'acme' && u.role === 'owner');
    if (!owner) throw new Error('no acme owner seeded');
    const client = new ApiClient(t.url);
    expect((await client.post('/api/auth/sign-in/email', { email: owner.email, password: owner.password })).status).toBe(200);
    const tenants = await client.get('/api/v1/me');
    client.tenantHeader = tenants.body.tenants.find((m: { slug: string }) => m.slug === 'acme').id;
    const shared = await client.get('/api/v1/ai/agents?owner=shared');
    expect(shared.body.items.map((a: { name: string }) => a.name).sort()).toEqual(STARTER_AGENTS.map((a) => a.name).sort());
    const first = shared.body.items[0];
    expect((await client.patch(`/api/v1/ai/agents/${first.id}`, { name: 'Mine now' })).status).toBe(403);
  });
});
