import { encode } from 'gpt-tokenizer';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { type ChatModelServer, modelAnswer, startChatModelServer } from '../../../../test/support/chat-model-server.ts';
import { apiKeyClient, createTenant, type TenantFixture } from '../../../../test/support/client.ts';
import { describeEachBackend, startTestServer, type TestServer } from '../../../../test/support/harness.ts';
import { waitFor } from '../../../../test/support/wait.ts';
import { DEFAULT_PRICES } from '../costs/prices.ts';
import { chat } from './chat.ts';
import { estimatePromptTokens } from './model.ts';

interface CostEvent {
  model: string | null;
  unit: string;
  units: number;
  unitPrice: number;
  amount: number;
  metadata: Record<string, unknown>;
}

const GPT_4O = DEFAULT_PRICES.llm['gpt-4o'] as { input: number; output: number };

/*
 * What a model call is charged: priced by the model the agent asked for, and
 * charged for what was consumed even when the service reports no usage or the
 * answer breaks off after it began.
 */
describeEachBackend('ai assistant cost recording', (backend) => {
  let t: TestServer;
  let model: ChatModelServer;
  let a: TenantFixture;

  beforeAll(async () => {
    model = await startChatModelServer();
    t = await startTestServer(backend, { LLM_BASE_URL: model.url, LLM_API_KEY: 'test-model-key' });
    a = await createTenant(t.url, t.inbox, 'ai-costs');
  });
  afterEach(() => model.behave({ answeredModel: null, reportUsage: true, afterFirstDelta: 'continue' }));
  afterAll(async () => {
    await t?.close();
    await model?.close();
  });

  async function conversationWith(tenant: TenantFixture, agentModel: string): Promise<string> {
    const agent = await tenant.admin.post('/api/v1/ai/agents', {
      name: 'Support',
      systemPrompt: 'You answer questions about Acme gadgets.',
      model: agentModel,
    });
    expect(agent.status, JSON.stringify(agent.body)).toBe(201);
    const conversation = await tenant.member.post('/api/v1/ai/conversations', { agentId: agent.body.id });
    expect(conversation.status, JSON.stringify(conversation.body)).toBe(201);
    return conversation.body.id as string;
  }

  async function costEventsOf(tenant: TenantFixture, conversationId: string): Promise<CostEvent[]> {
    const res = await tenant.member.get(`/api/v1/ai/costs/events?sessionId=${conversationId}&sort=createdAt`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.items as CostEvent[];
  }

  /** A tenant with a hard limit (so calls hold reservations), a conversation and an API key. */
  async function underHardLimit(label: string) {
    const tenant = await createTenant(t.url, t.inbox, label);
    const budget = await tenant.admin.request('PUT', '/api/v1/ai/budget', { monthlyLimit: 100, hardLimit: true });
    expect(budget.status, JSON.stringify(budget.body)).toBe(200);
    const conversationId = await conversationWith(tenant, 'gpt-4o');
    const key = await apiKeyClient(tenant.admin, { scopes: ['ai:write'] });
    return { tenant, conversationId, key };
  }

  const byUnit = (events: CostEvent[], unit: string): CostEvent => {
    const found = events.find((e) => e.unit === unit);
    if (!found) throw new Error(`no ${unit} event in ${JSON.stringify(events)}`);
    return found;
  };

  it('prices a call by the agent’s model even when the service answers with a dated snapshot name', async () => {
    model.behave({ answeredModel: 'gpt-4o-2024-08-06' });
    const conversationId = await conversationWith(a, 'gpt-4o');
    const sent = await a.member.post(`/api/v1/ai/conversations/${conversationId}/messages`, { content: 'Which gadget?' });
    expect(sent.status, JSON.stringify(sent.body)).toBe(201);
    expect(sent.body.answer.model).toBe('gpt-4o');

    const events = await costEventsOf(a, conversationId);
    const input = byUnit(events, 'input_tokens');
    const output = byUnit(events, 'output_tokens');
    for (const event of [input, output]) {
      expect(event.model).toBe('gpt-4o');
      expect(event.metadata).toMatchObject({ answeredModel: 'gpt-4o-2024-08-06', tokenCount: 'reported' });
    }
    expect(input.unitPrice).toBeCloseTo(GPT_4O.input / 1000, 12);
    expect(output.unitPrice).toBeCloseTo(GPT_4O.output / 1000, 12);
    expect(input.amount).toBeCloseTo((input.units * GPT_4O.input) / 1000, 9);
    expect(output.amount).toBeCloseTo((output.units * GPT_4O.output) / 1000, 9);
    expect(output.units).toBe(sent.body.answer.tokensOut);
    // Messages and conversations keep six decimals, cost events ten.
    expect(sent.body.answer.cost).toBeCloseTo(input.amount + output.amount, 5);
  });

  it('charges the local tokenizer’s count when the service reports no usage', async () => {
    model.behave({ reportUsage: false });
    const conversationId = await conversationWith(a, 'gpt-4o');
    const question = 'How long is the warranty?';
    const sent = await a.member.post(`/api/v1/ai/conversations/${conversationId}/messages`, { content: question });
    expect(sent.status, JSON.stringify(sent.body)).toBe(201);
    const request = model.requests.at(-1);
    if (!request) throw new Error('the model server saw no request');

    const events = await costEventsOf(a, conversationId);
    const input = byUnit(events, 'input_tokens');
    const output = byUnit(events, 'output_tokens');
    expect(input.units).toBe(estimatePromptTokens(request.messages));
    expect(output.units).toBe(encode(modelAnswer(question)).length);
    expect(input.units).toBeGreaterThan(0);
    expect(output.units).toBeGreaterThan(0);
    expect(output.amount).toBeGreaterThan(0);
    expect(output.metadata).toMatchObject({ tokenCount: 'estimated' });
    expect(sent.body.answer).toMatchObject({ tokensIn: input.units, tokensOut: output.units });
  });

  it('charges the prompt and what was streamed when the call is aborted mid-answer, and settles the reservation', async () => {
    const { tenant, conversationId, key } = await underHardLimit('ai-abort');
    const principal = await t.server.services.sessions.fromApiKey(key.apiKey as string);
    if (!principal) throw new Error('the API key did not resolve');
    model.behave({ afterFirstDelta: 'hold' });

    // What the SSE route does when its client goes away: abort the turn's signal.
    const clientGone = new AbortController();
    const deltas: string[] = [];
    const turn = chat(
      {
        principal,
        actor: { tenantId: tenant.id },
        config: t.config,
        conversationId,
        content: 'Tell me everything about gadgets',
        signal: clientGone.signal,
      },
      (text) => {
        deltas.push(text);
        clientGone.abort();
      },
    );
    await expect(turn).rejects.toMatchObject({ code: 'MODEL_UNAVAILABLE' });
    const request = model.requests.at(-1);
    if (!request) throw new Error('the model server saw no request');

    const events = await costEventsOf(tenant, conversationId);
    expect(events).toHaveLength(2);
    const input = byUnit(events, 'input_tokens');
    const output = byUnit(events, 'output_tokens');
    expect(deltas).toHaveLength(1);
    expect(output.units).toBe(encode(deltas.join('')).length);
    expect(output.units).toBeGreaterThan(0);
    expect(input.units).toBe(estimatePromptTokens(request.messages));
    expect(output).toMatchObject({ model: 'gpt-4o', metadata: { tokenCount: 'estimated', interrupted: true } });
    expect(output.amount).toBeCloseTo((output.units * GPT_4O.output) / 1000, 9);

    const usage = await tenant.member.get('/api/v1/ai/budget');
    expect(usage.body.spent).toBeCloseTo(input.amount + output.amount, 9);
    expect(usage.body.reserved).toBe(0);
    const conversation = await tenant.member.get(`/api/v1/ai/conversations/${conversationId}`);
    expect(conversation.body.totals).toMatchObject({ messages: 0, tokensIn: input.units, tokensOut: output.units });
    // Conversations keep six decimals, cost events ten.
    expect(conversation.body.totals.cost).toBeCloseTo(input.amount + output.amount, 5);
    // No half answer is stored as if it were whole.
    expect(conversation.body.messages.map((m: { role: string }) => m.role)).toEqual(['user']);
    // The abort reached the model service: it is not left generating an answer nobody reads.
    await waitFor(
      'the model service to see the call closed',
      async () => request.closedByClient === true,
      (closed) => closed,
    );
  });

  it('charges a client that hangs up on the stream after the first delta', async () => {
    const { tenant, conversationId, key } = await underHardLimit('ai-hangup');
    model.behave({ afterFirstDelta: 'hold' });

    const client = new AbortController();
    const res = await fetch(`${t.url}/api/v1/ai/conversations/${conversationId}/messages/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key.apiKey as string },
      body: JSON.stringify({ content: 'Tell me everything about gadgets' }),
      signal: client.signal,
    });
    expect(res.status).toBe(200);
    if (!res.body) throw new Error('no response body');
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let received = '';
    while (!received.includes('event: delta')) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the stream ended before any delta: ${received}`);
      received += decoder.decode(value, { stream: true });
    }
    client.abort();
    // Whether the server stops the model call at the hang-up or lets it finish, the
    // tenant pays for it; a released stream finishes if the hang-up went unnoticed.
    model.releaseHeld();

    const events = await waitFor(
      'the cost of the abandoned answer',
      () => costEventsOf(tenant, conversationId),
      (found) => found.length === 2,
    );
    const output = byUnit(events, 'output_tokens');
    expect(output.units).toBeGreaterThan(0);
    expect(output.amount).toBeGreaterThan(0);
    const usage = await waitFor(
      'the budget to settle',
      async () => (await tenant.member.get('/api/v1/ai/budget')).body,
      (body) => body.reserved === 0,
    );
    expect(usage.spent).toBeCloseTo(
      events.reduce((sum, e) => sum + e.amount, 0),
      9,
    );
    expect(usage.spent).toBeGreaterThan(0);
  });

  it('charges what was streamed when the service breaks off mid-answer, but nothing when it fails before answering', async () => {
    const tenant = await createTenant(t.url, t.inbox, 'ai-broken');
    const conversationId = await conversationWith(tenant, 'gpt-4o');
    const path = `/api/v1/ai/conversations/${conversationId}/messages`;

    model.failNext(2);
    const refused = await tenant.member.post(path, { content: 'first try' });
    expect(refused.status).toBe(502);
    expect(await costEventsOf(tenant, conversationId)).toEqual([]);

    model.behave({ afterFirstDelta: 'break' });
    const broken = await tenant.member.post(path, { content: 'second try' });
    expect(broken.status).toBe(502);
    expect(broken.body.error.code).toBe('MODEL_UNAVAILABLE');
    const events = await costEventsOf(tenant, conversationId);
    expect(events.map((e) => e.unit).sort()).toEqual(['input_tokens', 'output_tokens']);
    const output = byUnit(events, 'output_tokens');
    expect(output.units).toBeGreaterThan(0);
    expect(output.metadata).toMatchObject({ tokenCount: 'estimated', interrupted: true });
    const usage = await tenant.member.get('/api/v1/ai/budget');
    expect(usage.body.spent).toBeGreaterThan(0);
  });
});
