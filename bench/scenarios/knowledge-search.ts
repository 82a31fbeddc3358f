import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../src/config.ts';
import { openDatabase } from '../../src/db/client.ts';
import { migrate } from '../../src/db/migrate.ts';
import { bindToDatabase, type MemberPrincipal } from '../../src/db/tenant.ts';
import { fuse, runSearch } from '../../src/modules/ai/knowledge/search.ts';
import { configureKnowledge } from '../../src/modules/ai/knowledge/settings.ts';
import { hashedEmbedding, startEmbeddingsServer } from '../../src/modules/ai/knowledge/testing/embeddings-server.ts';
import { ensureVectorIndex } from '../../src/modules/ai/knowledge/vector.ts';
import type { Observation } from '../report.ts';
import { percentile, round } from '../stats.ts';

/**
 * knowledge_search: hybrid knowledge search over `chunks` chunks spread evenly
 * over `tenants` tenants (each tenant holds 1/tenants of the table), on
 * PGlite, which has pgvector (the loopback PostgreSQL here does not).
 *
 * Data: deterministic texts of 40 words from a 3,000-word vocabulary (Zipf-like
 * draw), embedded in-process with the same hashed bag of words the loopback
 * embeddings server uses (64 dimensions), loaded as the owner; the HNSW index
 * is built after the load. Queries are 3 words of a random chunk of a random
 * tenant, run in-process through runSearch as a member of that tenant: the
 * query is embedded over HTTP by the loopback OpenAI-protocol server.
 *
 * Figures: latency p50/p95 of hybrid, full-text and semantic search
 * (interleaved per query); recall@10 of semantic search against exact
 * nearest neighbours computed in JavaScript, for the default path (tenants of
 * 1,000 chunks are searched exactly) and for the HNSW index forced with
 * pgvector's iterative scan (ef_search 100); recall@10 of hybrid search
 * against hybrid fused from the exact neighbours.
 */
const DIMENSIONS = 64;
const MODEL = 'bench-hash-64';
const WORDS_PER_CHUNK = 40;

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'ti', 'vo', 'ze', 'pa', 'qui', 'dor', 'fen', 'gal', 'hus', 'jor'];
function vocabulary(size: number, random: () => number): string[] {
  const words = new Set<string>();
  while (words.size < size) {
    const n = 2 + Math.floor(random() * 2);
    let word = '';
    for (let i = 0; i < n; i++) word += SYLLABLES[Math.floor(random() * SYLLABLES.length)];
    words.add(word);
  }
  return [...words];
}

const cosineDistance = (a: number[], b: number[]) => {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += (a[i] ?? 0) * (b[i] ?? 0);
  return 1 - dot; // both normalised
};

export interface KnowledgeSearchSettings {
  chunks: number;
  tenants: number;
  queries: number;
}

export const knowledgeSearchSettings = (quick: boolean): KnowledgeSearchSettings =>
  quick ? { chunks: 3_000, tenants: 3, queries: 30 } : { chunks: 100_000, tenants: 100, queries: 300 };

export async function knowledgeSearch(settings: KnowledgeSearchSettings): Promise<Observation> {
  const { chunks, tenants, queries } = settings;
  const perTenant = Math.floor(chunks / tenants);
  console.error(
    `\nknowledge_search: ${(perTenant * tenants).toLocaleString('en')} chunks over ${tenants} tenants (PGlite + pgvector)`,
  );
  const embeddings = await startEmbeddingsServer(DIMENSIONS);
  const database = await openDatabase({ dataDir: 'memory://' });
  try {
    await migrate(database);
    configureKnowledge(
      loadConfig({
        EMBEDDINGS_BASE_URL: embeddings.url,
        EMBEDDINGS_MODEL: MODEL,
        EMBEDDINGS_DIMENSIONS: String(DIMENSIONS),
      }),
    );
    const random = prng(42);
    const words = vocabulary(3000, random);
    const draw = () => words[Math.floor(words.length * random() ** 2)] as string;
    const userId = randomUUID();
    await database.ownerQuery(
      "insert into auth.users (id, name, email, email_verified) values ($1, 'Bench', 'kb@bench.example', true)",
      [userId],
    );
    const data: Array<{ tenantId: string; ids: string[]; texts: string[]; vectors: number[][] }> = [];
    const loadStarted = performance.now();
    for (let t = 0; t < tenants; t++) {
      const [tenant] = await database.ownerQuery<{ id: string }>(
        'insert into app.tenants (name, slug) values ($1, $2) returning id',
        [`KB ${t}`, `kb-bench-${t}`],
      );
      const tenantId = tenant?.id as string;
      await database.ownerQuery("insert into app.memberships (tenant_id, user_id, role) values ($1, $2, 'admin')", [
        tenantId,
        userId,
      ]);
      const [doc] = await database.ownerQuery<{ id: string }>(
        `insert into app.knowledge_documents (tenant_id, title, source_type, status, size_bytes, content, content_hash, embedding_model)
         values ($1, 'Bench document', 'text', 'ready', 0, '-', '-', $2) returning id`,
        [tenantId, MODEL],
      );
      const texts = Array.from({ length: perTenant }, () => Array.from({ length: WORDS_PER_CHUNK }, draw).join(' '));
      const vectors = texts.map((text) => hashedEmbedding(text, DIMENSIONS));
      const ids = texts.map(() => randomUUID());
      for (let start = 0; start < perTenant; start += 1000) {
        const end = Math.min(perTenant, start + 1000);
        await database.ownerQuery(
          `insert into app.knowledge_chunks (tenant_id, id, document_id, position, text, token_count, embedding)
           select $1, u.id, $2, $3::int + u.i - 1, u.t, ${WORDS_PER_CHUNK}, u.e::real[]
             from unnest($4::uuid[], $5::text[], $6::text[]) with ordinality as u(id, t, e, i)`,
          [
            tenantId,
            doc?.id,
            start,
            ids.slice(start, end),
            texts.slice(start, end),
            vectors.slice(start, end).map((v) => `{${v.join(',')}}`),
          ],
        );
      }
      data.push({ tenantId, ids, texts, vectors });
    }
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    const indexStarted = performance.now();
    await ensureVectorIndex(database, DIMENSIONS);
    await database.ownerQuery('analyze app.knowledge_chunks');
    const indexSeconds = (performance.now() - indexStarted) / 1000;
    console.error(`  loaded in ${loadSeconds.toFixed(1)} s, HNSW index built in ${indexSeconds.toFixed(1)} s`);

    const principalOf = (tenantId: string): MemberPrincipal =>
      bindToDatabase(database, {
        kind: 'member',
        tenantId,
        role: 'admin',
        userId,
        email: 'kb@bench.example',
        emailVerified: true,
        name: 'Bench',
      } as MemberPrincipal);

    const exactTop = (tenant: (typeof data)[number], vector: number[], k: number) =>
      tenant.vectors
        .map((v, i) => ({ id: tenant.ids[i] as string, d: cosineDistance(v, vector) }))
        .sort((a, b) => a.d - b.d || a.id.localeCompare(b.id))
        .slice(0, k)
        .map((x) => x.id);

    /** The HNSW index alone, forced (PGlite: one connection, so the settings hold for the statements between begin and rollback). */
    const hnswTop = async (tenantId: string, vector: number[]): Promise<string[]> => {
      await database.ownerQuery('begin');
      try {
        await database.ownerQuery('set local enable_seqscan = off');
        await database.ownerQuery('set local hnsw.iterative_scan = relaxed_order');
        await database.ownerQuery('set local hnsw.ef_search = 100');
        const rows = await database.ownerQuery<{ id: string }>(
          `select id from (select id, embedding::vector(${DIMENSIONS}) <=> $2::vector(${DIMENSIONS}) as d from app.knowledge_chunks
             where tenant_id::text = $1 and array_length(embedding, 1) = ${DIMENSIONS}
             order by embedding::vector(${DIMENSIONS}) <=> $2::vector(${DIMENSIONS}) limit 10) s order by d`,
          [tenantId, `[${vector.join(',')}]`],
        );
        return rows.map((r) => r.id);
      } finally {
        await database.ownerQuery('rollback');
      }
    };

    const latencies = { hybrid: [] as number[], fulltext: [] as number[], semantic: [] as number[], hnsw: [] as number[] };
    const recall = { semantic: [] as number[], hnsw: [] as number[], hybrid: [] as number[] };
    const overlap = (a: string[], b: string[]) => (b.length === 0 ? 1 : a.filter((id) => b.includes(id)).length / b.length);
    const timed = async <T>(into: number[], fn: () => Promise<T>): Promise<T> => {
      const started = performance.now();
      const result = await fn();
      into.push(performance.now() - started);
      return result;
    };
    // Warm-up: plans, caches, the HTTP connection to the embeddings server.
    for (let i = 0; i < 5; i++)
      await runSearch(principalOf(data[0]?.tenantId as string), { query: 'warm up', limit: 10 }, 'hybrid');

    for (let q = 0; q < queries; q++) {
      const tenant = data[Math.floor(random() * data.length)] as (typeof data)[number];
      const source = (tenant.texts[Math.floor(random() * tenant.texts.length)] as string).split(' ');
      const offset = Math.floor(random() * (source.length - 3));
      const query = source.slice(offset, offset + 3).join(' ');
      const principal = principalOf(tenant.tenantId);
      const vector = hashedEmbedding(query, DIMENSIONS);
      const exact = exactTop(tenant, vector, 10);
      // Interleaved: each query runs every variant in turn.
      const hybrid = await timed(latencies.hybrid, () => runSearch(principal, { query, limit: 10 }, 'hybrid'));
      const fulltext = await timed(latencies.fulltext, () => runSearch(principal, { query, limit: 30 }, 'fulltext'));
      const semantic = await timed(latencies.semantic, () => runSearch(principal, { query, limit: 10 }, 'semantic'));
      const hnsw = await timed(latencies.hnsw, () => hnswTop(tenant.tenantId, vector));
      recall.semantic.push(
        overlap(
          semantic.passages.map((p) => p.chunkId),
          exact,
        ),
      );
      recall.hnsw.push(overlap(hnsw, exact));
      // Hybrid's reference: the same full-text list fused with the exact neighbours (30 deep, as hybrid fuses).
      const exactList = exactTop(tenant, vector, 30).map((id) => ({ ...emptyPassage, chunkId: id }));
      const reference = fuse([fulltext.passages, exactList], 10).map((p) => p.chunkId);
      recall.hybrid.push(
        overlap(
          hybrid.passages.map((p) => p.chunkId),
          reference,
        ),
      );
    }
    const mean = (values: number[]) => values.reduce((s, v) => s + v, 0) / Math.max(1, values.length);
    const figures = {
      knowledge_chunks: perTenant * tenants,
      knowledge_tenants: tenants,
      knowledge_queries: queries,
      knowledge_load_s: loadSeconds,
      knowledge_hnsw_build_s: indexSeconds,
      knowledge_hybrid_p50_ms: percentile(latencies.hybrid, 50),
      knowledge_hybrid_p95_ms: percentile(latencies.hybrid, 95),
      knowledge_fulltext_p50_ms: percentile(latencies.fulltext, 50),
      knowledge_fulltext_p95_ms: percentile(latencies.fulltext, 95),
      knowledge_semantic_p50_ms: percentile(latencies.semantic, 50),
      knowledge_semantic_p95_ms: percentile(latencies.semantic, 95),
      knowledge_hnsw_sql_p50_ms: percentile(latencies.hnsw, 50),
      knowledge_hnsw_sql_p95_ms: percentile(latencies.hnsw, 95),
    };
    const ratios = {
      knowledge_semantic_recall_at_10: mean(recall.semantic),
      knowledge_hnsw_recall_at_10: mean(recall.hnsw),
      knowledge_hybrid_recall_at_10: mean(recall.hybrid),
      knowledge_hnsw_min_recall_at_10: Math.min(...recall.hnsw),
    };
    const summary = [
      `hybrid p50 ${round(figures.knowledge_hybrid_p50_ms, 1)} ms, p95 ${round(figures.knowledge_hybrid_p95_ms, 1)} ms; ` +
        `full-text p50 ${round(figures.knowledge_fulltext_p50_ms, 1)} ms; semantic p50 ${round(figures.knowledge_semantic_p50_ms, 1)} ms (${queries} queries)`,
      `recall@10 vs exact: semantic (default path) ${round(ratios.knowledge_semantic_recall_at_10)}, ` +
        `HNSW forced with iterative scan ${round(ratios.knowledge_hnsw_recall_at_10)} (min ${round(ratios.knowledge_hnsw_min_recall_at_10)}), ` +
        `hybrid ${round(ratios.knowledge_hybrid_recall_at_10)}`,
    ];
    for (const line of summary) console.error(`  ${line}`);
    return { name: 'knowledge_search', ratios, figures, summary };
  } finally {
    await database.close();
    await embeddings.close();
  }
}

const emptyPassage = { documentId: '', documentTitle: '', position: 0, text: '', snippet: '', score: 0 };
