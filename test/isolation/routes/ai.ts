import type { TenantFixture } from '../../support/client.ts';
import { created, markerWord, type RouteKey, type TenantRouteCase } from '../tenant-procedures.ts';

/** A private agent in A, created by A's admin. */
export async function agentIn(a: TenantFixture): Promise<{ id: string; name: string; prompt: string }> {
  const name = markerWord('agent');
  const prompt = markerWord('prompt');
  const body = await created(await a.admin.post('/api/v1/ai/agents', { name, systemPrompt: prompt }), 'agent');
  return { id: body.id, name, prompt };
}

/** A conversation in A with A's own agent. */
async function conversationIn(a: TenantFixture): Promise<{ id: string; title: string }> {
  const agent = await agentIn(a);
  const title = markerWord('conversation');
  const body = await created(await a.member.post('/api/v1/ai/conversations', { agentId: agent.id, title }), 'conversation');
  return { id: body.id, title };
}

/** A widget in A; its publishable key is a marker too. */
async function widgetIn(a: TenantFixture): Promise<{ id: string; name: string; key: string }> {
  const agent = await agentIn(a);
  const name = markerWord('widget');
  const body = await created(
    await a.member.post('/api/v1/ai/widgets', { name, agentId: agent.id, allowedDomains: ['a.example.com'] }),
    'widget',
  );
  return { id: body.id, name, key: body.publishableKey };
}

/** Cross-tenant cases for agents, conversations and widgets (see tenant-procedures.ts for what each field means). */
export const AI_ROUTES: Record<RouteKey, TenantRouteCase> = {
  'GET /api/v1/ai/agents': {
    shape: 'list',
    arrange: async ({ a }) => {
      const agent = await agentIn(a);
      return { input: { limit: 100 }, markers: [agent.id, agent.name] };
    },
  },
  'GET /api/v1/ai/agents/{id}': {
    shape: 'object',
    arrange: async ({ a }) => {
      const agent = await agentIn(a);
      return { params: { id: agent.id }, markers: [agent.id, agent.name, agent.prompt] };
    },
  },
  'POST /api/v1/ai/agents': {
    shape: 'create',
    arrange: async () => ({ input: { name: 'Smuggled', systemPrompt: 'Be helpful.' }, markers: [] }),
  },
  'PATCH /api/v1/ai/agents/{id}': {
    shape: 'object',
    arrange: async ({ a }) => {
      const agent = await agentIn(a);
      return { params: { id: agent.id }, input: { name: 'changed' }, markers: [agent.name] };
    },
  },
  'PUT /api/v1/ai/agents/{id}/sharing': {
    shape: 'object',
    arrange: async ({ a }) => {
      const agent = await agentIn(a);
      return { params: { id: agent.id }, input: { sharing: 'global' }, markers: [agent.name], controlActor: a.admin };
    },
  },
  'DELETE /api/v1/ai/agents/{id}': {
    shape: 'object',
    arrange: async ({ a }) => {
      const agent = await agentIn(a);
      return { params: { id: agent.id }, markers: [agent.name] };
    },
  },

  'GET /api/v1/ai/conversations': {
    shape: 'list',
    arrange: async ({ a }) => {
      const conversation = await conversationIn(a);
      return { input: { limit: 100 }, markers: [conversation.id, conversation.title] };
    },
  },
  'GET /api/v1/ai/conversations/{id}': {
    shape: 'object',
    arrange: async ({ a }) => {
      const conversation = await conversationIn(a);
      return { params: { id: conversation.id }, markers: [conversation.id, conversation.title] };
    },
  },
  'POST /api/v1/ai/conversations': {
    shape: 'create',
    // A's agent is private: naming it from another tenant is refused (422), never a conversation in A.
    arrange: async ({ a }) => {
      const agent = await agentIn(a);
      return { input: { agentId: agent.id, title: 'Smuggled' }, markers: [] };
    },
  },
  'POST /api/v1/ai/conversations/{id}/messages': {
    shape: 'object',
    arrange: async ({ a }) => {
      const conversation = await conversationIn(a);
      return { params: { id: conversation.id }, input: { content: 'Hello' }, markers: [conversation.id] };
    },
  },
  'POST /api/v1/ai/conversations/{id}/close': {
    shape: 'object',
    arrange: async ({ a }) => {
      const conversation = await conversationIn(a);
      return { params: { id: conversation.id }, markers: [conversation.title] };
    },
  },
  'DELETE /api/v1/ai/conversations/{id}': {
    shape: 'object',
    arrange: async ({ a }) => {
      const conversation = await conversationIn(a);
      return { params: { id: conversation.id }, markers: [conversation.title] };
    },
  },

  'GET /api/v1/ai/widgets': {
    shape: 'list',
    arrange: async ({ a }) => {
      const widget = await widgetIn(a);
      return { input: { limit: 100 }, markers: [widget.id, widget.name, widget.key] };
    },
  },
  'GET /api/v1/ai/widgets/{id}': {
    shape: 'object',
    arrange: async ({ a }) => {
      const widget = await widgetIn(a);
      return { params: { id: widget.id }, markers: [widget.id, widget.name, widget.key] };
    },
  },
  'POST /api/v1/ai/widgets': {
    shape: 'create',
    arrange: async ({ a }) => {
      const agent = await agentIn(a);
      return { input: { name: 'Smuggled', agentId: agent.id }, markers: [] };
    },
  },
  'PATCH /api/v1/ai/widgets/{id}': {
    shape: 'object',
    arrange: async ({ a }) => {
      const widget = await widgetIn(a);
      return {
        params: { id: widget.id },
        input: { name: 'changed', allowedDomains: ['evil.example.net'] },
        markers: [widget.name],
      };
    },
  },
  'POST /api/v1/ai/widgets/{id}/rotate-key': {
    shape: 'object',
    arrange: async ({ a }) => {
      const widget = await widgetIn(a);
      return { params: { id: widget.id }, markers: [widget.name] };
    },
  },
  'DELETE /api/v1/ai/widgets/{id}': {
    shape: 'object',
    arrange: async ({ a }) => {
      const widget = await widgetIn(a);
      return { params: { id: widget.id }, markers: [widget.name] };
    },
  },
};
