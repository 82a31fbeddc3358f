import fastifyMultipart from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { categoryField, titleField, WRITE } from '../modules/ai/knowledge/documents.ts';
import { createDocument } from '../modules/ai/knowledge/indexing.ts';
import { extractDocument, fileProblem, sourceTypeOf } from '../modules/ai/knowledge/parse.ts';
import { toDocumentOutput } from '../modules/ai/knowledge/read.ts';
import { knowledgeSettings } from '../modules/ai/knowledge/settings.ts';
import type { RequestContext } from './context.ts';
import { AppError } from './errors.ts';
import { actingInTenant } from './procedures.ts';

/**
 * File upload into the knowledge base: a thin multipart transport over the
 * module. The caller is resolved exactly as tenant procedures resolve it
 * (actingInTenant with ai:write). The file is read into memory up to
 * KNOWLEDGE_MAX_UPLOAD_BYTES and parsed before anything is stored, so a bad
 * file leaves no row behind.
 *
 *   POST /api/v1/ai/knowledge/documents/upload   multipart/form-data: file, title?, category?
 */
export const UPLOAD_PATH = '/api/v1/ai/knowledge/documents/upload';

const uploadFields = z.object({
  title: titleField.optional(),
  category: categoryField.default('general'),
});

function fieldProblems(error: z.ZodError): AppError {
  return new AppError(
    'VALIDATION_FAILED',
    undefined,
    error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
  );
}

/** The upload route as an OpenAPI path item, merged into the generated document (api/openapi.ts). */
export const KNOWLEDGE_OPENAPI_PATHS: Record<string, Record<string, unknown>> = {
  [UPLOAD_PATH]: {
    post: {
      operationId: 'ai.knowledge.documents.upload',
      summary: 'Upload a .txt, .md, .html or .pdf file into the knowledge base; it is chunked (and embedded) before this returns',
      tags: ['ai'],
      'x-palisade-scope': WRITE,
      requestBody: {
        required: true,
        content: {
          'multipart/form-data': {
            schema: {
              type: 'object',
              required: ['file'],
              properties: {
                file: { type: 'string', format: 'binary' },
                title: { type: 'string', maxLength: 300, description: "Defaults to the file's name" },
                category: { type: 'string', maxLength: 100, default: 'general' },
              },
            },
          },
        },
      },
      responses: {
        '201': { description: 'The stored document (status ready, or failed when embedding failed)' },
        default: { description: 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      },
    },
  },
};

function multipartError(error: unknown, limit: number): unknown {
  switch ((error as { code?: unknown }).code) {
    case 'FST_REQ_FILE_TOO_LARGE':
      return new AppError('PAYLOAD_TOO_LARGE', undefined, [{ path: 'file', message: `The file is larger than ${limit} bytes.` }]);
    case 'FST_FILES_LIMIT':
      return fileProblem('Upload one file at a time.');
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return new AppError('PAYLOAD_TOO_LARGE');
    case 'FST_PROTO_VIOLATION':
    case 'FST_MP_PREMATURE_CLOSE':
      return new AppError('BAD_REQUEST');
    default:
      return error;
  }
}

export async function registerKnowledgeUploadRoute(
  app: FastifyInstance,
  contextOf: (req: FastifyRequest) => Promise<RequestContext>,
): Promise<void> {
  await app.register(async (scope) => {
    const limit = knowledgeSettings().maxUploadBytes;
    // Registered in this scope only: no other route accepts multipart bodies.
    await scope.register(fastifyMultipart, {
      limits: { fileSize: limit, files: 1, fields: 5, fieldSize: 2000, parts: 8, headerPairs: 50 },
    });

    scope.post(UPLOAD_PATH, async (req, reply) => {
      const ctx = await contextOf(req);
      const { principal } = await actingInTenant(ctx, WRITE);
      if (!req.isMultipart()) throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the file as multipart/form-data.');
      const fields: Record<string, string> = {};
      let file: { name: string; bytes: Buffer } | null = null;
      try {
        for await (const part of req.parts()) {
          if (part.type === 'file') {
            if (part.fieldname !== 'file' || file) {
              await part.toBuffer();
              throw fileProblem('Send exactly one file, in the field "file".');
            }
            // Checked before reading, so a wrong type is refused without buffering it.
            sourceTypeOf(part.filename || '');
            file = { name: part.filename, bytes: await part.toBuffer() };
          } else if (typeof part.value === 'string') {
            fields[part.fieldname] = part.value;
          }
        }
      } catch (error) {
        throw multipartError(error, limit);
      }
      if (!file) throw fileProblem('Send the file in the field "file".');
      const parsedFields = uploadFields.safeParse(fields);
      if (!parsedFields.success) throw fieldProblems(parsedFields.error);
      const sourceType = sourceTypeOf(file.name);
      const extracted = await extractDocument(file.bytes, sourceType);
      const title =
        parsedFields.data.title ??
        (file.name
          .replace(/\.[^.]+$/, '')
          .trim()
          .slice(0, 300) ||
          'Untitled');
      const document = await createDocument(principal, ctx, {
        title,
        category: parsedFields.data.category,
        sourceType,
        content: extracted.content,
        sizeBytes: file.bytes.length,
        metadata: { ...extracted.metadata, filename: file.name.slice(0, 255) },
      });
      return reply.code(201).send(toDocumentOutput(document));
    });
  });
}
