import { z } from 'zod';
import { AppError } from '../../../api/errors.ts';
import { tenantProcedure } from '../../../api/procedures.ts';
import { categoryField, READ, tags } from './documents.ts';
import { DEFAULT_LIMIT, MAX_LIMIT, runSearch, SEARCH_MODES } from './search.ts';
import { knowledgeSettings } from './settings.ts';

const passageOutput = z.object({
  documentId: z.guid(),
  documentTitle: z.string(),
  chunkId: z.guid(),
  position: z.number().int(),
  text: z.string(),
  snippet: z.string(),
  score: z.number(),
});

export const searchProcedure = tenantProcedure
  .meta({
    summary:
      'Search the knowledge base: full-text, semantic (needs embeddings) or hybrid (reciprocal rank fusion); snippets are HTML with <mark>',
    tags,
    scope: READ,
    // Embedding the query costs money, recorded with the search (costs-and-budgets.md).
    recordsUsage: true,
    rest: { method: 'GET', path: '/ai/knowledge/search' },
  })
  .input(
    z.object({
      q: z.string().trim().min(1).max(1000),
      category: z.union([categoryField, z.array(categoryField).max(20)]).optional(),
      limit: z.coerce.number().int().min(1).max(MAX_LIMIT).default(DEFAULT_LIMIT),
      mode: z.enum(SEARCH_MODES).optional(),
    }),
  )
  .output(z.object({ mode: z.enum(SEARCH_MODES), items: z.array(passageOutput) }))
  .query(async ({ ctx, input }) => {
    const embeddings = knowledgeSettings().embeddings;
    const mode = input.mode ?? (embeddings ? 'hybrid' : 'fulltext');
    if (mode === 'semantic' && !embeddings) {
      throw new AppError('VALIDATION_FAILED', undefined, [
        { path: 'mode', message: 'Semantic search needs an embeddings service (EMBEDDINGS_BASE_URL).' },
      ]);
    }
    const categories = input.category === undefined ? undefined : [input.category].flat();
    const result = await runSearch(ctx.principal, { query: input.q, categories, limit: input.limit }, mode);
    return { mode: result.mode, items: result.passages };
  });
