import type { TenantFixture } from '../../support/client.ts';
import { created, markerWord, type RouteKey, type TenantRouteCase } from '../tenant-procedures.ts';

/** Cross-tenant cases for the knowledge base routes (see tenant-procedures.ts for what each field means). */

/** A knowledge document in A whose title and text carry a marker word. */
async function documentIn(a: TenantFixture): Promise<{ id: string; word: string }> {
  const word = markerWord('kb');
  const body = await created(
    await a.member.post('/api/v1/ai/knowledge/documents', {
      title: `Doc ${word}`,
      category: 'isolation',
      content: `# Section ${word}\n\nThe passage about ${word} lives in tenant A only.`,
    }),
    'knowledge document',
  );
  return { id: body.id as string, word };
}

export const KNOWLEDGE_ROUTES: Record<RouteKey, TenantRouteCase> = {
  'GET /api/v1/ai/knowledge/documents': {
    shape: 'list',
    arrange: async ({ a }) => {
      const doc = await documentIn(a);
      return { input: { limit: 100 }, markers: [doc.id, doc.word] };
    },
  },
  'GET /api/v1/ai/knowledge/documents/{id}': {
    shape: 'object',
    arrange: async ({ a }) => {
      const doc = await documentIn(a);
      return { params: { id: doc.id }, markers: [doc.id, doc.word] };
    },
  },
  'GET /api/v1/ai/knowledge/documents/{id}/chunks': {
    shape: 'object',
    arrange: async ({ a }) => {
      const doc = await documentIn(a);
      return { params: { id: doc.id }, markers: [doc.word] };
    },
  },
  'POST /api/v1/ai/knowledge/documents': {
    shape: 'create',
    arrange: async () => ({ input: { title: 'Created by the isolation suite', content: 'Some knowledge.' }, markers: [] }),
  },
  'DELETE /api/v1/ai/knowledge/documents/{id}': {
    shape: 'object',
    arrange: async ({ a }) => {
      const doc = await documentIn(a);
      return { params: { id: doc.id }, markers: [doc.id, doc.word] };
    },
  },
  'POST /api/v1/ai/knowledge/documents/{id}/reindex': {
    shape: 'object',
    arrange: async ({ a }) => {
      const doc = await documentIn(a);
      return { params: { id: doc.id }, markers: [doc.id, doc.word] };
    },
  },
  'POST /api/v1/ai/knowledge/reindex': {
    shape: 'active-tenant',
    // Re-indexes the caller's own tenant only; A's owner re-indexing A writes an audit entry in A.
    arrange: async ({ a }) => {
      const doc = await documentIn(a);
      return { input: { max: 10 }, markers: [doc.id, doc.word] };
    },
  },
  'GET /api/v1/ai/knowledge/search': {
    shape: 'list',
    arrange: async ({ a }) => {
      const doc = await documentIn(a);
      return { input: { q: doc.word, limit: 10 }, markers: [doc.id, doc.word] };
    },
  },
};
