import { createHash } from 'node:crypto';
import { and, asc, eq, sql } from 'drizzle-orm';
import { AppError } from '../../../api/errors.ts';
import { actorOf, type RequestFacts, recordAudit } from '../../../audit/record.ts';
import { type TenantPrincipal, type Tx, withTenant } from '../../../db/tenant.ts';
import { emitEvent } from '../../../events/emit.ts';
import { type Chunk, chunkMarkdown } from './chunking.ts';
import { type EmbeddingCall, type EmbeddingsClient, EmbeddingsFailed, recordEmbeddingCosts } from './embeddings.ts';
import { type DocumentRow, findDocument } from './read.ts';
import { knowledgeChunks, knowledgeDocuments, type SourceType } from './schema.ts';
import { knowledgeSettings } from './settings.ts';

/** Chunks inserted per statement. */
const INSERT_BATCH = 500;

export interface NewDocument {
  title: string;
  category: string;
  sourceType: SourceType;
  content: string;
  sizeBytes: number;
  metadata: Record<string, unknown>;
}

interface Indexed {
  chunks: Chunk[];
  vectors: number[][] | null;
  model: string | null;
  error: string | null;
  /** One entry per embeddings request made (also those before a failure): each becomes a cost event. */
  calls: EmbeddingCall[];
}

/** The text a chunk is embedded as: its heading path gives the passage its context. */
const embeddingInput = (chunk: Chunk) => (chunk.heading ? `${chunk.heading}\n\n${chunk.text}` : chunk.text);

/**
 * Chunks the content and, when embeddings are configured, embeds the chunks in
 * batches: outside any transaction, so no connection waits on the model
 * service. An embeddings failure is reported, not thrown: a new document is
 * then stored as failed with its chunks, unembedded (found by full-text search
 * until a re-index embeds them); a re-indexed one keeps its previous chunks.
 */
async function indexContent(content: string, embeddings: EmbeddingsClient | null): Promise<Indexed> {
  const chunks = chunkMarkdown(content);
  const calls: EmbeddingCall[] = [];
  if (!embeddings || chunks.length === 0) return { chunks, vectors: null, model: null, error: null, calls };
  try {
    const { vectors } = await embeddings.embed(chunks.map(embeddingInput), (batch) => {
      calls.push({ model: embeddings.model, ...batch });
    });
    return { chunks, vectors, model: embeddings.model, error: null, calls };
  } catch (error) {
    if (!(error instanceof EmbeddingsFailed)) throw error;
    return { chunks, vectors: null, model: null, error: error.message, calls };
  }
}

async function insertChunks(tx: Tx, tenantId: string, documentId: string, indexed: Indexed): Promise<void> {
  for (let start = 0; start < indexed.chunks.length; start += INSERT_BATCH) {
    await tx.insert(knowledgeChunks).values(
      indexed.chunks.slice(start, start + INSERT_BATCH).map((chunk, i) => ({
        tenantId,
        documentId,
        position: chunk.position,
        heading: chunk.heading,
        text: chunk.text,
        tokenCount: chunk.tokenCount,
        embedding: indexed.vectors?.[start + i] ?? null,
      })),
    );
  }
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Stores a document with its chunks in one transaction: the caller sees it ready (or failed, with the reason). */
export async function createDocument(
  principal: TenantPrincipal,
  request: RequestFacts,
  input: NewDocument,
): Promise<DocumentRow> {
  const indexed = await indexContent(input.content, knowledgeSettings().embeddings);
  return withTenant(principal, async (tx) => {
    const [created] = await tx
      .insert(knowledgeDocuments)
      .values({
        tenantId: principal.tenantId,
        title: input.title,
        category: input.category,
        sourceType: input.sourceType,
        status: indexed.error ? 'failed' : 'ready',
        error: indexed.error,
        sizeBytes: input.sizeBytes,
        metadata: input.metadata,
        content: input.content,
        contentHash: sha256(input.content),
        embeddingModel: indexed.model,
      })
      .returning({ id: knowledgeDocuments.id });
    const id = created?.id as string;
    await insertChunks(tx, principal.tenantId, id, indexed);
    await recordEmbeddingCosts(tx, principal.tenantId, indexed.calls, { documentId: id });
    const document = await findDocument(tx, principal.tenantId, id);
    await emitEvent(tx, actorOf(principal, request), 'knowledge_document.created', {
      id,
      title: document.title,
      category: document.category,
      status: document.status,
      chunkCount: document.chunkCount,
    });
    return document;
  });
}

/**
 * Chunks and embeds a document again from its stored content: after a change
 * of embeddings model, or to retry a failed document. The document shows
 * `processing` while its chunks are being embedded, and search keeps finding
 * it by its previous chunks. The new chunks replace the previous ones, in one
 * transaction, only once they are all embedded: a re-index that fails leaves
 * the previous chunks, their vectors and `embeddingModel` as they were, with
 * status `failed` and the reason in `error`.
 */
export async function reindexDocument(principal: TenantPrincipal, request: RequestFacts, id: string): Promise<DocumentRow> {
  const { embeddings } = knowledgeSettings();
  const thisDocument = and(eq(knowledgeDocuments.tenantId, principal.tenantId), eq(knowledgeDocuments.id, id));
  const before = await withTenant(principal, async (tx) => {
    const document = await findDocument(tx, principal.tenantId, id);
    const [row] = await tx
      .update(knowledgeDocuments)
      .set({ status: 'processing', error: null, updatedAt: sql`now()` })
      .where(thisDocument)
      .returning({ content: knowledgeDocuments.content });
    return { document, content: row?.content ?? '' };
  });
  const indexed = await indexContent(before.content, embeddings);
  return withTenant(principal, async (tx) => {
    // Updated first: the row lock makes concurrent re-indexes of the document replace its chunks one after the other.
    const [updated] = await tx
      .update(knowledgeDocuments)
      .set(
        indexed.error
          ? { status: 'failed', error: indexed.error, updatedAt: sql`now()` }
          : { status: 'ready', error: null, embeddingModel: indexed.model, updatedAt: sql`now()` },
      )
      .where(thisDocument)
      .returning({ id: knowledgeDocuments.id });
    // Deleted meanwhile: nothing to write.
    if (!updated) throw new AppError('NOT_FOUND');
    if (!indexed.error) {
      await tx
        .delete(knowledgeChunks)
        .where(and(eq(knowledgeChunks.tenantId, principal.tenantId), eq(knowledgeChunks.documentId, id)));
      await insertChunks(tx, principal.tenantId, id, indexed);
    }
    await recordEmbeddingCosts(tx, principal.tenantId, indexed.calls, { documentId: id, reindex: true });
    const document = await findDocument(tx, principal.tenantId, id);
    await recordAudit(tx, actorOf(principal, request), {
      action: 'knowledge_document.reindexed',
      targetType: 'knowledge_document',
      targetId: id,
      before: { status: before.document.status, embeddingModel: before.document.embeddingModel },
      after: { status: document.status, embeddingModel: document.embeddingModel },
    });
    return document;
  });
}

/** Documents re-indexed per call of reindexStale. */
export const REINDEX_BATCH = 50;

/**
 * Re-indexes, one by one, up to `max` documents whose chunks were embedded
 * with another model than the configured one (or none, or that failed).
 * Returns how many were re-indexed and how many remain.
 */
export async function reindexStale(
  principal: TenantPrincipal,
  request: RequestFacts,
  max = REINDEX_BATCH,
): Promise<{ reindexed: number; failed: number; remaining: number; model: string | null }> {
  const model = knowledgeSettings().embeddings?.model ?? null;
  const stale = sql`(${knowledgeDocuments.embeddingModel} is distinct from ${model} or ${knowledgeDocuments.status} <> 'ready')`;
  const ids = await withTenant(principal, (tx) =>
    tx
      .select({ id: knowledgeDocuments.id })
      .from(knowledgeDocuments)
      .where(and(eq(knowledgeDocuments.tenantId, principal.tenantId), stale))
      .orderBy(asc(knowledgeDocuments.createdAt), asc(knowledgeDocuments.id))
      .limit(max),
  );
  let reindexed = 0;
  let failed = 0;
  for (const { id } of ids) {
    const document = await reindexDocument(principal, request, id).catch((error: unknown) => {
      if ((error as { code?: unknown }).code === 'NOT_FOUND') return null;
      throw error;
    });
    if (!document) continue;
    if (document.status === 'ready') reindexed++;
    else failed++;
  }
  const remaining = await withTenant(principal, async (tx) => {
    const [row] = await tx
      .select({ n: sql<number>`count(*)::int` })
      .from(knowledgeDocuments)
      .where(and(eq(knowledgeDocuments.tenantId, principal.tenantId), stale));
    return Number(row?.n ?? 0);
  });
  await withTenant(principal, (tx) =>
    recordAudit(tx, actorOf(principal, request), {
      action: 'knowledge.reindexed',
      targetType: 'knowledge_base',
      data: { model, reindexed, failed, remaining },
    }),
  );
  return { reindexed, failed, remaining, model };
}
