import { sql } from 'drizzle-orm';
import { check, customType, foreignKey, index, integer, jsonb, real, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { tenantTable, timestamps } from '../../../db/tenant-table.ts';

const inList = (column: string, values: readonly string[]) => sql.raw(`${column} in (${values.map((v) => `'${v}'`).join(', ')})`);

export const SOURCE_TYPES = ['text', 'markdown', 'html', 'pdf'] as const;
export type SourceType = (typeof SOURCE_TYPES)[number];
export const DOCUMENT_STATUSES = ['processing', 'ready', 'failed'] as const;
export type DocumentStatus = (typeof DOCUMENT_STATUSES)[number];

/** The text-search configuration of chunks and queries: English stemming and stop words. */
export const TS_CONFIG = 'english';

const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' });

/**
 * A document of the tenant's knowledge base. `content` is the extracted text
 * (HTML converted to Markdown, PDF text), kept so that a document can be
 * chunked and embedded again without the original file.
 */
export const knowledgeDocuments = tenantTable(
  'knowledge_documents',
  {
    id: uuid('id').notNull().defaultRandom(),
    title: text('title').notNull(),
    /** Free text; agents link to categories by name. */
    category: text('category').notNull().default('general'),
    sourceType: text('source_type', { enum: SOURCE_TYPES }).notNull(),
    status: text('status', { enum: DOCUMENT_STATUSES }).notNull().default('processing'),
    error: text('error'),
    sizeBytes: integer('size_bytes').notNull(),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    content: text('content').notNull(),
    /** sha256 of the extracted content. */
    contentHash: text('content_hash').notNull(),
    /** The embeddings model the chunks were embedded with; null when they have no embeddings. */
    embeddingModel: text('embedding_model'),
    ...timestamps,
  },
  {
    key: ['id'],
    extra: (t) => [
      index('knowledge_documents_tenant_created_idx').on(t.tenantId, t.createdAt, t.id),
      index('knowledge_documents_tenant_title_idx').on(t.tenantId, t.title, t.id),
      index('knowledge_documents_tenant_category_idx').on(t.tenantId, t.category),
      check('knowledge_documents_source_type_check', inList('source_type', SOURCE_TYPES)),
      check('knowledge_documents_status_check', inList('status', DOCUMENT_STATUSES)),
      check('knowledge_documents_title_check', sql.raw('char_length(title) between 1 and 300')),
      check('knowledge_documents_category_check', sql.raw('char_length(category) between 1 and 100')),
      check('knowledge_documents_size_check', sql.raw('size_bytes >= 0')),
    ],
  },
);

/**
 * A passage of a document: what search finds. `heading` is the document's
 * heading path above the passage ("Guide > Install"). `search` is generated
 * from heading (weight A) and text (weight B). `embedding` is a plain real[]
 * so that the table is the same with and without pgvector; with pgvector, a
 * per-dimension HNSW expression index over `embedding::vector(n)` serves
 * semantic search (see vector.ts).
 */
export const knowledgeChunks = tenantTable(
  'knowledge_chunks',
  {
    id: uuid('id').notNull().defaultRandom(),
    documentId: uuid('document_id').notNull(),
    position: integer('position').notNull(),
    heading: text('heading').notNull().default(''),
    text: text('text').notNull(),
    tokenCount: integer('token_count').notNull(),
    search: tsvector('search')
      .notNull()
      .generatedAlwaysAs(
        sql.raw(
          `setweight(to_tsvector('${TS_CONFIG}'::regconfig, heading), 'A') || setweight(to_tsvector('${TS_CONFIG}'::regconfig, text), 'B')`,
        ),
      ),
    embedding: real('embedding').array(),
    createdAt: timestamps.createdAt,
  },
  {
    key: ['id'],
    extra: (t) => [
      foreignKey({
        name: 'knowledge_chunks_document_fk',
        columns: [t.tenantId, t.documentId],
        foreignColumns: [knowledgeDocuments.tenantId, knowledgeDocuments.id],
      }).onDelete('cascade'),
      uniqueIndex('knowledge_chunks_position_key').on(t.tenantId, t.documentId, t.position),
      index('knowledge_chunks_search_idx').using('gin', t.search),
      check('knowledge_chunks_position_check', sql.raw('position >= 0')),
      check('knowledge_chunks_token_count_check', sql.raw('token_count >= 0')),
    ],
  },
);
