-- Semantic search of knowledge chunks. pgvector is used when the server has
-- it (PGlite always does); the per-dimension HNSW index is created at start-up
-- for the configured EMBEDDINGS_DIMENSIONS (modules/ai/knowledge/vector.ts).
-- Without pgvector, search is exact, with the cosine distance below.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') THEN
    CREATE EXTENSION IF NOT EXISTS vector;
  END IF;
END $$;
--> statement-breakpoint
-- Cosine distance of two real[] of equal length (1 - cosine similarity); NULL
-- when either is NULL, of another length, or all zero.
CREATE OR REPLACE FUNCTION app.knowledge_cosine_distance(a real[], b real[]) RETURNS double precision
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog
  AS $$
    SELECT 1 - sum(x::double precision * y) / nullif(sqrt(sum(x::double precision * x)) * sqrt(sum(y::double precision * y)), 0)
      FROM unnest(a, b) AS t(x, y)
     WHERE pg_catalog.array_length(a, 1) = pg_catalog.array_length(b, 1)
  $$;
