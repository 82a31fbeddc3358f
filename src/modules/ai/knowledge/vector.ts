/**
 * The HNSW index of semantic search, for the configured embedding size. It is
 * an expression index over `embedding::vector(n)`, partial on that size, so
 * the table itself needs no fixed dimension and works without pgvector.
 * Created at start-up by the owner connection (server.ts), idempotently;
 * with no pgvector or no embeddings service, nothing is created.
 */
export const vectorIndexName = (dimensions: number) => `knowledge_chunks_embedding_hnsw_${Math.trunc(dimensions)}`;

export async function ensureVectorIndex(
  owner: { ownerQuery<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]> },
  dimensions: number | null,
): Promise<boolean> {
  if (dimensions === null) return false;
  const [row] = await owner.ownerQuery<{ installed: boolean }>(
    "select exists (select 1 from pg_catalog.pg_extension where extname = 'vector') as installed",
  );
  if (!row?.installed) return false;
  // pgvector's HNSW index holds at most 2,000 dimensions; larger vectors are searched exactly.
  if (dimensions > 2000) return false;
  const n = Math.trunc(dimensions);
  await owner.ownerQuery(
    `create index if not exists ${vectorIndexName(n)} on app.knowledge_chunks using hnsw ((embedding::vector(${n})) vector_cosine_ops) where array_length(embedding, 1) = ${n}`,
  );
  return true;
}
