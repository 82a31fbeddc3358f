import { and, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { AppError } from '../../../api/errors.ts';
import type { Tx } from '../../../db/tenant.ts';
import { DOCUMENT_STATUSES, type DocumentStatus, knowledgeDocuments, SOURCE_TYPES, type SourceType } from './schema.ts';

// Qualified by hand: inside a select list Drizzle may print the outer columns unqualified, which the subquery would capture.
const chunkCount = sql<number>`(select count(*)::int from app.knowledge_chunks c where c.tenant_id = "knowledge_documents"."tenant_id" and c.document_id = "knowledge_documents"."id")`;

/** The columns a document is returned with (never its content: that is what its chunks are for). */
export const documentColumns = {
  id: knowledgeDocuments.id,
  title: knowledgeDocuments.title,
  category: knowledgeDocuments.category,
  sourceType: knowledgeDocuments.sourceType,
  status: knowledgeDocuments.status,
  error: knowledgeDocuments.error,
  sizeBytes: knowledgeDocuments.sizeBytes,
  metadata: knowledgeDocuments.metadata,
  contentHash: knowledgeDocuments.contentHash,
  embeddingModel: knowledgeDocuments.embeddingModel,
  chunkCount,
  createdAt: knowledgeDocuments.createdAt,
  updatedAt: knowledgeDocuments.updatedAt,
};

export interface DocumentRow {
  id: string;
  title: string;
  category: string;
  sourceType: SourceType;
  status: DocumentStatus;
  error: string | null;
  sizeBytes: number;
  metadata: Record<string, unknown>;
  contentHash: string;
  embeddingModel: string | null;
  chunkCount: number;
  createdAt: Date;
  updatedAt: Date;
}

export const documentOutput = z.object({
  id: z.guid(),
  title: z.string(),
  category: z.string(),
  sourceType: z.enum(SOURCE_TYPES),
  status: z.enum(DOCUMENT_STATUSES),
  error: z.string().nullable(),
  sizeBytes: z.number().int(),
  metadata: z.record(z.string(), z.unknown()),
  contentHash: z.string(),
  embeddingModel: z.string().nullable(),
  chunkCount: z.number().int(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type DocumentOutput = z.infer<typeof documentOutput>;

export const toDocumentOutput = (row: DocumentRow): DocumentOutput => ({
  ...row,
  chunkCount: Number(row.chunkCount),
  createdAt: row.createdAt.toISOString(),
  updatedAt: row.updatedAt.toISOString(),
});

export async function findDocument(tx: Tx, tenantId: string, id: string): Promise<DocumentRow> {
  const [row] = await tx
    .select(documentColumns)
    .from(knowledgeDocuments)
    .where(and(eq(knowledgeDocuments.tenantId, tenantId), eq(knowledgeDocuments.id, id)));
  if (!row) throw new AppError('NOT_FOUND');
  return row as DocumentRow;
}
