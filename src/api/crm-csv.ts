import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CsvError, parse } from 'csv-parse';
import { stringify } from 'csv-stringify';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { RequestFacts } from '../audit/record.ts';
import type { TenantPrincipal } from '../db/tenant.ts';
import { exportCompanies } from '../modules/crm/companies/export.ts';
import { companyImporter } from '../modules/crm/companies/import.ts';
import { companyFilters } from '../modules/crm/companies/model.ts';
import { exportContacts } from '../modules/crm/contacts/export.ts';
import { contactImporter } from '../modules/crm/contacts/import.ts';
import { contactFilters } from '../modules/crm/contacts/read.ts';
import { type CsvRow, type ImportOptions, MalformedCsv, runImport } from '../modules/crm/csv/import.ts';
import type { RequestContext } from './context.ts';
import { AppError } from './errors.ts';
import { actingInTenant } from './procedures.ts';

/**
 * CSV import and export of contacts and companies: a thin streaming transport
 * over the CRM module. The caller is resolved exactly as tenant procedures
 * resolve it (session or API key, X-Tenant-Id among the caller's memberships,
 * crm:write or crm:read for keys); the module does everything inside withTenant.
 *
 *   POST /api/v1/crm/<resource>/import?mode=partial|atomic&duplicates=skip|update   (text/csv body)
 *   GET  /api/v1/crm/<resource>/export?<the resource list's filters>                (text/csv response)
 */

/** A resource with CSV routes: what the transport needs to know of it. */
interface CsvResource {
  /** The path segment, the file name and the tRPC-style operation name: `crm.<name>.import`. */
  name: 'contacts' | 'companies';
  /** The query parameters of the export: the filters of the resource's list. */
  filters: z.ZodObject;
  /** What the import report counts, for the OpenAPI description. */
  report: string;
  importRows(
    principal: TenantPrincipal,
    request: RequestFacts,
    rows: AsyncIterable<CsvRow>,
    options: ImportOptions,
  ): Promise<object>;
  /** Parses the filters first (a bad one is a JSON 400, not a broken file), then streams the records. */
  exportRows(principal: TenantPrincipal, query: unknown): AsyncGenerator<string[]>;
}

const CSV_RESOURCES: readonly CsvResource[] = [
  {
    name: 'contacts',
    filters: contactFilters,
    report: 'rows, created, updated, skipped, rejected, companiesCreated, rejectedRows',
    importRows: (...args) => runImport(contactImporter, ...args),
    exportRows: (principal, query) => exportContacts(principal, parsed(contactFilters, query)),
  },
  {
    name: 'companies',
    filters: companyFilters,
    report: 'rows, created, updated, skipped, rejected, rejectedRows',
    importRows: (...args) => runImport(companyImporter, ...args),
    exportRows: (principal, query) => exportCompanies(principal, parsed(companyFilters, query)),
  },
];

export const csvImportPath = (name: CsvResource['name']) => `/api/v1/crm/${name}/import`;
export const csvExportPath = (name: CsvResource['name']) => `/api/v1/crm/${name}/export`;

/** Largest accepted upload. The file is spooled to disk, so this bounds disk, not memory. */
const MAX_IMPORT_BYTES = 256 * 1024 * 1024;
/** Largest single record: a longer one is malformed (an unclosed quote swallowing the file). */
const MAX_RECORD_BYTES = 64 * 1024;
/** How long a socket may stay silent while a large import is processed. */
const IMPORT_SOCKET_TIMEOUT_MS = 15 * 60 * 1000;

const importQuery = z.object({
  mode: z.enum(['partial', 'atomic']).default('partial'),
  duplicates: z.enum(['skip', 'update']).default('skip'),
});

function parsed<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  throw new AppError(
    'VALIDATION_FAILED',
    undefined,
    result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
  );
}

/** Counts bytes through, failing with 413 past the limit. */
function byteLimit(limit: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > limit) done(new AppError('PAYLOAD_TOO_LARGE'));
      else done(null, chunk);
    },
  });
}

/** Parsed records with their line numbers; a CSV syntax error ends the sequence as MalformedCsv. */
async function* csvRecords(source: Readable): AsyncGenerator<CsvRow> {
  const parser = source.pipe(
    parse({
      bom: true,
      columns: (header: string[]) => header.map((h) => h.trim().toLowerCase()),
      info: true,
      skip_empty_lines: true,
      max_record_size: MAX_RECORD_BYTES,
    }),
  );
  try {
    for await (const { info, record } of parser as AsyncIterable<{ info: { lines: number }; record: Record<string, string> }>) {
      yield { line: info.lines, values: record };
    }
  } catch (error) {
    if (error instanceof CsvError) {
      const line = (error as CsvError & { lines?: number }).lines ?? null;
      throw new MalformedCsv(line, `malformed CSV: ${error.message.replace(/^Invalid [^:]*: /, '')}`.slice(0, 300));
    }
    throw error;
  } finally {
    source.destroy();
  }
}

/**
 * Spreadsheets run cells that start with = + - @ as formulas. Such cells are
 * prefixed with a quote, except numbers and phone numbers (+1 555 ...).
 */
export function neutralizeFormula(cell: string): string {
  if (!/^[=+\-@\t\r]/.test(cell) || /^[+-]?[\d\s().-]+$/.test(cell)) return cell;
  return `'${cell}`;
}

const errorResponse = {
  description: 'Error',
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
};

/**
 * The CSV routes as OpenAPI path items: they are not procedures, so the
 * generated document (api/openapi.ts) does not see them by itself. Merge into
 * its `paths` to document them.
 */
export const CRM_CSV_OPENAPI_PATHS: Record<string, Record<string, unknown>> = Object.fromEntries(
  CSV_RESOURCES.flatMap((resource) => [
    [
      csvImportPath(resource.name),
      {
        post: {
          operationId: `crm.${resource.name}.import`,
          summary: `Import ${resource.name} from CSV (streamed); see docs/crm.md for columns and modes`,
          tags: ['crm'],
          'x-palisade-scope': 'crm:write',
          parameters: [
            {
              name: 'mode',
              in: 'query',
              required: false,
              schema: { type: 'string', enum: ['partial', 'atomic'], default: 'partial' },
            },
            {
              name: 'duplicates',
              in: 'query',
              required: false,
              schema: { type: 'string', enum: ['skip', 'update'], default: 'skip' },
            },
          ],
          requestBody: { required: true, content: { 'text/csv': { schema: { type: 'string' } } } },
          responses: { '200': { description: `The import report (${resource.report})` }, default: errorResponse },
        },
      },
    ],
    [
      csvExportPath(resource.name),
      {
        get: {
          operationId: `crm.${resource.name}.export`,
          summary: `Export ${resource.name} as CSV (streamed), with the filters of GET /crm/${resource.name}`,
          tags: ['crm'],
          'x-palisade-scope': 'crm:read',
          parameters: Object.keys(resource.filters.shape).map((name) => ({
            name,
            in: 'query',
            required: false,
            schema: { type: 'string' },
          })),
          responses: {
            '200': { description: 'CSV', content: { 'text/csv': { schema: { type: 'string' } } } },
            default: errorResponse,
          },
        },
      },
    ],
  ]),
);

export async function registerCrmCsvRoutes(
  app: FastifyInstance,
  contextOf: (req: FastifyRequest) => Promise<RequestContext>,
): Promise<void> {
  await app.register(async (scope) => {
    // The body is handed over as the raw stream: the JSON body limit does not apply, MAX_IMPORT_BYTES does.
    scope.addContentTypeParser(['text/csv', 'application/csv'], (_req, payload, done) => done(null, payload));

    for (const resource of CSV_RESOURCES) {
      scope.post(csvImportPath(resource.name), async (req, reply) => {
        const ctx = await contextOf(req);
        const { principal } = await actingInTenant(ctx, 'crm:write');
        const options = parsed(importQuery, req.query);
        if (!(req.body instanceof Readable)) throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the file as text/csv.');
        // Spooled to disk first: the upload completes at network speed (within the
        // server's request timeout), and the import then reads the file at its own pace.
        const file = join(tmpdir(), `palisade-import-${randomUUID()}.csv`);
        try {
          await pipeline(req.body, byteLimit(MAX_IMPORT_BYTES), createWriteStream(file, { mode: 0o600 }));
          req.raw.setTimeout(IMPORT_SOCKET_TIMEOUT_MS);
          const report = await resource.importRows(principal, ctx, csvRecords(createReadStream(file)), {
            atomic: options.mode === 'atomic',
            duplicates: options.duplicates,
          });
          return reply.code(200).send(report);
        } finally {
          await rm(file, { force: true });
        }
      });

      scope.get(csvExportPath(resource.name), async (req, reply) => {
        const ctx = await contextOf(req);
        const { principal } = await actingInTenant(ctx, 'crm:read');
        const records = resource.exportRows(principal, req.query);
        // The header comes after the first read: a failure there is still a JSON error, not a broken file.
        const first = await records.next();
        async function* cells() {
          if (!first.done) yield first.value;
          for await (const record of records) yield record.map(neutralizeFormula);
        }
        const body = Readable.from(cells()).pipe(stringify());
        return reply
          .code(200)
          .header('content-type', 'text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="${resource.name}.csv"`)
          .send(body);
      });
    }
  });
}
