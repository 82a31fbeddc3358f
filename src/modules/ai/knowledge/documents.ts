import { and, asc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { keyset, listInput, page, pageOf } from '../../../api/pagination.ts';
import { adminProcedure, router, tenantProcedure } from '../../../api/procedures.ts';
import { actorOf, recordAudit } from '../../../audit/record.ts';
import { withTenant } from '../../../db/tenant.ts';
import { emitEvent } from '../../../events/emit.ts';
import { createDocument, reindexDocument, reindexStale } from './indexing.ts';
import { checkedContent } from './parse.ts';
import { type DocumentRow, documentColumns, documentOutput, findDocument, toDocumentOutput } from './read.ts';
import { DOCUMENT_STATUSES, knowledgeChunks, knowledgeDocuments } from './schema.ts';

export const tags = ['ai'];
export const READ = 'ai:read' as const;
export const WRITE = 'ai:write' as const;
const idInput = z.object({ id: z.guid() });

export const titleField = z.string().trim().min(1).max(300);
export const categoryField = z.string().trim().min(1).max(100);
const metadataField = z
  .record(z.string().max(100), z.unknown())
  .refine((m) => JSON.stringify(m).length <= 10_000, 'metadata is larger than 10,000 characters');

const createInput = z.object({
  title: titleField,
  category: categoryField.default('general'),
  format: z.enum(['text', 'markdown']).default('markdown'),
  content: z.string().min(1).max(1_000_000),
  metadata: metadataField.optional(),
});

const chunkOutput = z.object({
  id: z.guid(),
  position: z.number().int(),
  heading: z.string(),
  text: z.string(),
  tokenCount: z.number().int(),
  embedded: z.boolean(),
});

export const documentsRouter = router({
  list: tenantProcedure
    .meta({ summary: 'Knowledge documents', tags, scope: READ, rest: { method: 'GET', path: '/ai/knowledge/documents' } })
    .input(
      listInput(['createdAt', 'title'], '-createdAt').extend({
        category: categoryField.optional(),
        status: z.enum(DOCUMENT_STATUSES).optional(),
      }),
    )
    .output(pageOf(documentOutput))
    .query(async ({ ctx, input }) => {
      const { principal } = ctx;
      const { where, orderBy, limit } = keyset(
        input,
        { createdAt: knowledgeDocuments.createdAt, title: knowledgeDocuments.title },
        knowledgeDocuments.id,
      );
      const rows = await withTenant(principal, (tx) =>
        tx
          .select(documentColumns)
          .from(knowledgeDocuments)
          .where(
            and(
              eq(knowledgeDocuments.tenantId, principal.tenantId),
              input.category === undefined ? undefined : eq(knowledgeDocuments.category, input.category),
              input.status === undefined ? undefined : eq(knowledgeDocuments.status, input.status),
              where,
            ),
          )
          .orderBy(...orderBy)
          .limit(limit),
      );
      const result = page(rows as DocumentRow[], input, (row, field) => [row[field as 'createdAt' | 'title'], row.id]);
      return { items: result.items.map(toDocumentOutput), nextCursor: result.nextCursor };
    }),

  get: tenantProcedure
    .meta({
      summary: 'One knowledge document with its chunk count',
      tags,
      scope: READ,
      rest: { method: 'GET', path: '/ai/knowledge/documents/{id}' },
    })
    .input(idInput)
    .output(documentOutput)
    .query(async ({ ctx, input }) =>
      toDocumentOutput(await withTenant(ctx.principal, (tx) => findDocument(tx, ctx.principal.tenantId, input.id))),
    ),

  chunks: tenantProcedure
    .meta({
      summary: "A knowledge document's chunks in order",
      tags,
      scope: READ,
      rest: { method: 'GET', path: '/ai/knowledge/documents/{id}/chunks' },
    })
    .input(
      idInput.extend({
        offset: z.coerce.number().int().min(0).default(0),
        limit: z.coerce.number().int().min(1).max(200).default(50),
      }),
    )
    .output(z.object({ items: z.array(chunkOutput), total: z.number().int() }))
    .query(async ({ ctx, input }) => {
      const { principal } = ctx;
      return withTenant(principal, async (tx) => {
        const document = await findDocument(tx, principal.tenantId, input.id);
        const rows = await tx
          .select({
            id: knowledgeChunks.id,
            position: knowledgeChunks.position,
            heading: knowledgeChunks.heading,
            text: knowledgeChunks.text,
            tokenCount: knowledgeChunks.tokenCount,
            embedded: sql<boolean>`${knowledgeChunks.embedding} is not null`,
          })
          .from(knowledgeChunks)
          .where(and(eq(knowledgeChunks.tenantId, principal.tenantId), eq(knowledgeChunks.documentId, input.id)))
          .orderBy(asc(knowledgeChunks.position))
          .offset(input.offset)
          .limit(input.limit);
        return { items: rows, total: Number(document.chunkCount) };
      });
    }),

  create: tenantProcedure
    .meta({
      summary: 'Create a knowledge document from text or Markdown; it is chunked (and embedded) before this returns',
      tags,
      scope: WRITE,
      rest: { method: 'POST', path: '/ai/knowledge/documents', status: 201 },
    })
    .input(createInput)
    .output(documentOutput)
    .mutation(async ({ ctx, input }) => {
      const content = checkedContent(input.content, 'content');
      const document = await createDocument(ctx.principal, ctx, {
        title: input.title,
        category: input.category,
        sourceType: input.format,
        content,
        sizeBytes: Buffer.byteLength(input.content),
        metadata: input.metadata ?? {},
      });
      return toDocumentOutput(document);
    }),

  delete: tenantProcedure
    .meta({
      summary: 'Delete a knowledge document and its chunks',
      tags,
      scope: WRITE,
      rest: { method: 'DELETE', path: '/ai/knowledge/documents/{id}' },
    })
    .input(idInput)
    .output(documentOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = ctx;
      const row = await withTenant(principal, async (tx) => {
        const document = await findDocument(tx, principal.tenantId, input.id);
        await tx
          .delete(knowledgeDocuments)
          .where(and(eq(knowledgeDocuments.tenantId, principal.tenantId), eq(knowledgeDocuments.id, input.id)));
        await recordAudit(tx, actorOf(principal, ctx), {
          action: 'knowledge_document.deleted',
          targetType: 'knowledge_document',
          targetId: document.id,
          before: { title: document.title, category: document.category, chunkCount: Number(document.chunkCount) },
        });
        await emitEvent(tx, actorOf(principal, ctx), 'knowledge_document.deleted', { id: document.id, title: document.title });
        return document;
      });
      return toDocumentOutput(row);
    }),

  reindex: adminProcedure
    .meta({
      summary: 'Chunk and embed one knowledge document again (admins)',
      tags,
      scope: WRITE,
      rest: { method: 'POST', path: '/ai/knowledge/documents/{id}/reindex' },
    })
    .input(idInput)
    .output(documentOutput)
    .mutation(async ({ ctx, input }) => toDocumentOutput(await reindexDocument(ctx.principal, ctx, input.id))),
});

export const reindexProcedure = adminProcedure
  .meta({
    summary:
      'Re-index, in one batch, documents embedded with another model than the configured one, or not ready (admins); call again while remaining > 0',
    tags,
    scope: WRITE,
    rest: { method: 'POST', path: '/ai/knowledge/reindex' },
  })
  .input(z.object({ max: z.coerce.number().int().min(1).max(500).default(50) }).default({ max: 50 }))
  .output(
    z.object({
      reindexed: z.number().int(),
      failed: z.number().int(),
      remaining: z.number().int(),
      model: z.string().nullable(),
    }),
  )
  .mutation(async ({ ctx, input }) => reindexStale(ctx.principal, ctx, input.max));
