import { router } from '../../../api/procedures.ts';
import { documentsRouter, reindexProcedure } from './documents.ts';
import { searchProcedure } from './query.ts';

/** The knowledge base: `ai.knowledge.*` (tRPC) and `/ai/knowledge/...` (REST); uploads are in upload.ts. */
export const knowledgeRouter = router({
  documents: documentsRouter,
  search: searchProcedure,
  reindex: reindexProcedure,
});
