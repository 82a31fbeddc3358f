import { type SQL, sql } from 'drizzle-orm';
import { integerLiteral } from '../../../db/sql-literal.ts';
import { type DataPrincipal, queryRows, type TenantPrincipal, type Tx, withTenant } from '../../../db/tenant.ts';
import {
  type EmbeddingCall,
  type EmbeddingsClient,
  EmbeddingsFailed,
  embeddingsUnavailable,
  recordEmbeddingCosts,
} from './embeddings.ts';
import { TS_CONFIG } from './schema.ts';
import { knowledgeSettings } from './settings.ts';

export const SEARCH_MODES = ['hybrid', 'fulltext', 'semantic'] as const;
export type SearchMode = (typeof SEARCH_MODES)[number];

/** Reciprocal rank fusion constant: score = sum over lists of 1 / (RRF_K + rank). */
export const RRF_K = 60;
export const DEFAULT_LIMIT = 10;
export const MAX_LIMIT = 50;
/** Each list hybrid search fuses holds this many times the requested results. */
const FUSION_DEPTH = 3;
/** hnsw.ef_search floor for index scans. */
const MIN_EF_SEARCH = 100;

export interface Passage {
  documentId: string;
  documentTitle: string;
  chunkId: string;
  position: number;
  text: string;
  snippet: string;
  score: number;
}

export interface SearchInput {
  query: string;
  categories?: string[];
  limit?: number;
}

export interface SearchResult {
  /** The mode that produced the results: hybrid falls back to fulltext when the embeddings service fails. */
  mode: SearchMode;
  passages: Passage[];
}

/**
 * Searches the principal's tenant's knowledge; embeds the query first when
 * embeddings are configured (outside any transaction).
 */
export async function searchKnowledge(
  principal: TenantPrincipal | DataPrincipal,
  input: { query: string; categories?: string[]; limit?: number },
): Promise<Passage[]> {
  return (await runSearch(principal, input, knowledgeSettings().embeddings ? 'hybrid' : 'fulltext')).passages;
}

/**
 * The search behind the API and searchKnowledge. Semantic mode needs
 * embeddings (the caller checks); hybrid degrades to full-text when the query
 * cannot be embedded.
 */
export async function runSearch(principal: DataPrincipal, input: SearchInput, mode: SearchMode): Promise<SearchResult> {
  const query = input.query.trim().slice(0, 1000);
  const limit = Math.min(Math.max(input.limit ?? DEFAULT_LIMIT, 1), MAX_LIMIT);
  const categories = input.categories?.length ? input.categories : undefined;
  if (query === '') return { mode, passages: [] };
  const { embeddings, exactSearchMaxChunks } = knowledgeSettings();
  let vector: number[] | null = null;
  const calls: EmbeddingCall[] = [];
  let used = mode;
  if (mode !== 'fulltext' && embeddings) {
    try {
      const onBatch = (batch: { inputs: number; tokens: number }) => {
        calls.push({ model: embeddings.model, ...batch });
      };
      vector = (await embeddings.embed([query], onBatch)).vectors[0] ?? null;
    } catch (error) {
      if (!(error instanceof EmbeddingsFailed)) throw error;
      if (mode === 'semantic') throw embeddingsUnavailable(error);
      used = 'fulltext';
    }
  } else if (mode !== 'fulltext') {
    used = 'fulltext';
  }
  const filters: Filters = { tenantId: principal.tenantId, categories, query };
  return withTenant(principal, async (tx) => {
    await recordEmbeddingCosts(tx, principal.tenantId, calls, { purpose: 'knowledge_search' });
    if (used === 'fulltext' || !vector || !embeddings) {
      return { mode: 'fulltext' as const, passages: await fullTextSearch(tx, filters, limit) };
    }
    const semantic = await semanticSearch(tx, filters, embeddings, vector, used === 'semantic' ? limit : limit * FUSION_DEPTH, {
      exactSearchMaxChunks,
    });
    if (used === 'semantic') return { mode: used, passages: semantic };
    const fullText = await fullTextSearch(tx, filters, limit * FUSION_DEPTH);
    return { mode: used, passages: fuse([fullText, semantic], limit) };
  });
}

interface Filters {
  tenantId: string;
  categories: string[] | undefined;
  query: string;
}

interface PassageRow {
  chunk_id: string;
  document_id: string;
  document_title: string;
  position: number;
  text: string;
  snippet: string;
  score: number | string;
}

const toPassage = (row: PassageRow): Passage => ({
  documentId: row.document_id,
  documentTitle: row.document_title,
  chunkId: row.chunk_id,
  position: Number(row.position),
  text: row.text,
  snippet: row.snippet,
  score: Number(row.score),
});

/** Escaped for HTML before highlighting: snippets are safe HTML whose only markup is <mark>. */
const escapedText = sql`replace(replace(replace(c.text, '&', '&amp;'), '<', '&lt;'), '>', '&gt;')`;
const HEADLINE_OPTIONS = 'StartSel=<mark>, StopSel=</mark>, MaxWords=40, MinWords=15, MaxFragments=2, FragmentDelimiter=" … "';

/**
 * The documents searched: the tenant's, in the requested categories, whatever
 * their status. Status tells how the last indexing went; the chunks a
 * document has are searchable in any case: while it is re-indexed, and after
 * a re-index failed, those are its previous ones (see reindexDocument).
 */
function documentFilter(filters: Filters): SQL {
  const category = filters.categories
    ? sql` and d.category in (${sql.join(
        filters.categories.map((c) => sql`${c}`),
        sql`, `,
      )})`
    : sql``;
  return sql`d.tenant_id = ${filters.tenantId}${category}`;
}

/** PostgreSQL full-text search: websearch syntax, ts_rank, and a highlighted snippet. */
export async function fullTextSearch(tx: Tx, filters: Filters, limit: number): Promise<Passage[]> {
  const tsQuery = sql`websearch_to_tsquery(${TS_CONFIG}::regconfig, ${filters.query})`;
  const rows = await queryRows<PassageRow>(
    tx,
    sql`
      with hits as (
        select c.tenant_id, c.id, ts_rank(c.search, q.query) as score
          from app.knowledge_chunks c
          join app.knowledge_documents d on d.tenant_id = c.tenant_id and d.id = c.document_id,
               (select ${tsQuery} as query) q
         where c.tenant_id = ${filters.tenantId} and c.search @@ q.query and ${documentFilter(filters)}
         order by score desc, c.id
         limit ${limit}
      )
      select c.id as chunk_id, c.document_id, d.title as document_title, c.position, c.text, h.score,
             ts_headline(${TS_CONFIG}::regconfig, ${escapedText}, ${tsQuery}, ${HEADLINE_OPTIONS}) as snippet
        from hits h
        join app.knowledge_chunks c on c.tenant_id = h.tenant_id and c.id = h.id
        join app.knowledge_documents d on d.tenant_id = c.tenant_id and d.id = c.document_id
       order by h.score desc, c.id`,
  );
  return rows.map(toPassage);
}

interface SemanticOptions {
  exactSearchMaxChunks: number;
}

/** The installed pgvector version as [major, minor], or null without pgvector. */
async function pgvectorVersion(tx: Tx): Promise<[number, number] | null> {
  const [row] = await queryRows<{ version: string | null }>(
    tx,
    sql`select (select extversion from pg_catalog.pg_extension where extname = 'vector') as version`,
  );
  if (!row?.version) return null;
  const [major = 0, minor = 0] = row.version.split('.').map(Number);
  return [major, minor];
}

/**
 * Nearest chunks by cosine distance to the query vector, among the tenant's
 * documents whose chunks are embedded with the configured model. A tenant
 * with at most exactSearchMaxChunks embedded chunks is searched exactly (its
 * own rows, by the tenant_id index). A larger one uses the HNSW index with
 * pgvector's iterative scan, so RLS and the tenant filter do not cut the
 * result short; should the index still return fewer than asked for (filters
 * by category), the search is repeated exactly. Without pgvector, search is
 * always exact.
 */
export async function semanticSearch(
  tx: Tx,
  filters: Filters,
  embeddings: Pick<EmbeddingsClient, 'model' | 'dimensions'>,
  vector: readonly number[],
  limit: number,
  options: SemanticOptions,
): Promise<Passage[]> {
  const dims = embeddings.dimensions;
  // A type modifier cannot be a parameter; the HNSW index's expression spells the size the same way.
  const dimsSql = integerLiteral(dims);
  const model = embeddings.model;
  const version = await pgvectorVersion(tx);
  const pgvector = version !== null;
  const candidates = sql`c.tenant_id = ${filters.tenantId} and array_length(c.embedding, 1) = ${dimsSql}`;
  const documents = sql`${documentFilter(filters)} and d.embedding_model = ${model}`;
  const headline = sql`ts_headline(${TS_CONFIG}::regconfig, ${escapedText}, websearch_to_tsquery(${TS_CONFIG}::regconfig, ${filters.query}), ${HEADLINE_OPTIONS})`;

  const exact = async (): Promise<Passage[]> => {
    const distance = pgvector
      ? sql`(c.embedding::vector <=> ${vectorLiteral(vector)}::vector)`
      : sql`app.knowledge_cosine_distance(c.embedding, ${arrayLiteral(vector)}::real[])`;
    const rows = await queryRows<PassageRow>(
      tx,
      sql`
        with hits as (
          select c.tenant_id, c.id, ${distance} as distance
            from app.knowledge_chunks c
            join app.knowledge_documents d on d.tenant_id = c.tenant_id and d.id = c.document_id
           where ${candidates} and ${documents}
           order by distance, c.id
           limit ${limit}
        )
        select c.id as chunk_id, c.document_id, d.title as document_title, c.position, c.text,
               1 - h.distance as score, ${headline} as snippet
          from hits h
          join app.knowledge_chunks c on c.tenant_id = h.tenant_id and c.id = h.id
          join app.knowledge_documents d on d.tenant_id = c.tenant_id and d.id = c.document_id
         order by h.distance, c.id`,
    );
    return rows.map(toPassage);
  };

  if (!pgvector) return exact();
  const [count] = await queryRows<{ n: number }>(
    tx,
    sql`select count(*)::int as n from (select 1 from app.knowledge_chunks c where ${candidates} limit ${options.exactSearchMaxChunks + 1}) s`,
  );
  const embedded = Number(count?.n ?? 0);
  if (embedded <= options.exactSearchMaxChunks) return exact();

  // The index expression: ((embedding)::vector(dims)) with vector_cosine_ops, partial on array_length = dims.
  const indexed = sql`(c.embedding::vector(${dimsSql}) <=> ${vectorLiteral(vector)}::vector(${dimsSql}))`;
  const depth = limit * 2;
  // Iterative index scans arrived in pgvector 0.8; before, a wide ef_search (and the exact fallback below) keeps the recall.
  const iterative = version !== null && (version[0] > 0 || version[1] >= 8);
  const efSearch = Math.min(1000, Math.max(iterative ? MIN_EF_SEARCH : 4 * MIN_EF_SEARCH, depth));
  if (iterative) await tx.execute(sql`select set_config('hnsw.iterative_scan', 'relaxed_order', true)`);
  await tx.execute(sql`select set_config('hnsw.ef_search', ${String(efSearch)}, true)`);
  const rows = await queryRows<PassageRow>(
    tx,
    sql`
      with nearest as materialized (
        select c.tenant_id, c.id, c.document_id, ${indexed} as distance
          from app.knowledge_chunks c
         where ${candidates}
         order by ${indexed}
         limit ${depth}
      ), hits as (
        select n.tenant_id, n.id, n.distance
          from nearest n
          join app.knowledge_documents d on d.tenant_id = n.tenant_id and d.id = n.document_id
         where ${documents}
         order by n.distance, n.id
         limit ${limit}
      )
      select c.id as chunk_id, c.document_id, d.title as document_title, c.position, c.text,
             1 - h.distance as score, ${headline} as snippet
        from hits h
        join app.knowledge_chunks c on c.tenant_id = h.tenant_id and c.id = h.id
        join app.knowledge_documents d on d.tenant_id = c.tenant_id and d.id = c.document_id
       order by h.distance, c.id`,
  );
  if (rows.length >= Math.min(limit, embedded)) return rows.map(toPassage);
  return exact();
}

/** Reciprocal rank fusion of ranked lists (k = RRF_K); the score is the fused score. */
export function fuse(lists: Passage[][], limit: number): Passage[] {
  const fused = new Map<string, Passage>();
  for (const list of lists) {
    list.forEach((passage, rank) => {
      const contribution = 1 / (RRF_K + rank + 1);
      const seen = fused.get(passage.chunkId);
      // The full-text list comes first: its snippet highlights the matched words.
      if (seen) seen.score += contribution;
      else fused.set(passage.chunkId, { ...passage, score: contribution });
    });
  }
  return [...fused.values()].sort((a, b) => b.score - a.score || a.chunkId.localeCompare(b.chunkId)).slice(0, limit);
}

export function vectorLiteral(vector: readonly number[]): string {
  return `[${vector.map((v) => (Number.isFinite(v) ? v : 0)).join(',')}]`;
}

export function arrayLiteral(vector: readonly number[]): string {
  return `{${vector.map((v) => (Number.isFinite(v) ? v : 0)).join(',')}}`;
}
