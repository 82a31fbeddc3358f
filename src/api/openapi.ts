import { z } from 'zod';
import { AI_CHAT_OPENAPI_PATHS } from './ai-chat-http.ts';
import { CAMPAIGN_PUBLIC_OPENAPI_PATHS } from './campaigns-public.ts';
import { CRM_CSV_OPENAPI_PATHS } from './crm-csv.ts';
import { ERROR_CATALOGUE } from './errors.ts';
import { KNOWLEDGE_OPENAPI_PATHS } from './knowledge-upload.ts';
import { QR_SIGN_IN_OPENAPI_PATHS } from './qr-sign-in.ts';
import { restRoutes } from './rest.ts';

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: unknown, io: 'input' | 'output'): JsonSchema {
  if (!(schema instanceof z.ZodType)) return {};
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

const errorSchema = {
  type: 'object',
  required: ['error', 'requestId'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', enum: Object.keys(ERROR_CATALOGUE) },
        message: { type: 'string' },
        details: {},
      },
    },
    requestId: { type: 'string' },
  },
};

/** The OpenAPI 3.1 document, generated from the same procedures and Zod schemas the server runs. */
export function buildOpenApiDocument(serverUrl: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of restRoutes()) {
    const inputSchema = route.procedure._def.inputs[0];
    const input = jsonSchema(inputSchema, 'input');
    const properties = (input.properties ?? {}) as Record<string, JsonSchema>;
    const required = new Set((input.required ?? []) as string[]);
    const pathParams = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
    const parameters: unknown[] = pathParams.map((name) => ({
      name,
      in: 'path',
      required: true,
      schema: properties[name] ?? { type: 'string' },
    }));
    const hasQuery = route.method === 'GET' || route.method === 'DELETE';
    const rest = Object.fromEntries(Object.entries(properties).filter(([k]) => !pathParams.includes(k)));
    if (hasQuery) {
      for (const [name, schema] of Object.entries(rest)) {
        parameters.push({ name, in: 'query', required: required.has(name), schema });
      }
    }
    const operation: Record<string, unknown> = {
      operationId: route.procedurePath,
      summary: route.meta.summary,
      tags: route.meta.tags,
      // Which API key scope may call it; absent: signed-in members only (docs/api-keys.md).
      ...(route.meta.scope ? { 'x-palisade-scope': route.meta.scope } : {}),
      parameters,
      responses: {
        [String(route.status)]: {
          description: 'Success',
          content: {
            'application/json': { schema: jsonSchema((route.procedure._def as { output?: unknown }).output, 'output') },
          },
        },
        default: { description: 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      },
    };
    if (!hasQuery) {
      operation.requestBody = {
        required: true,
        content: {
          'application/json': {
            schema: { ...input, properties: rest, required: [...required].filter((k) => !pathParams.includes(k)) },
          },
        },
      };
    }
    paths[route.path] ??= {};
    (paths[route.path] as Record<string, unknown>)[route.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Palisade API',
      version: '1',
      description:
        'Multi-tenant SaaS backend. Every procedure is also served over tRPC at /trpc. Errors share one shape; send X-Tenant-Id to act in one of your other tenants.',
    },
    servers: [{ url: serverUrl }],
    security: [{ session: [] }, { apiKey: [] }, { bearerApiKey: [] }],
    components: {
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: 'better-auth.session_token' },
        apiKey: {
          type: 'apiKey',
          in: 'header',
          name: 'x-api-key',
          description: 'A tenant API key (pal_live_... / pal_test_...)',
        },
        bearerApiKey: { type: 'http', scheme: 'bearer', description: 'A tenant API key sent as a bearer token' },
      },
      schemas: { Error: errorSchema },
    },
    // Streaming CSV routes are transports of their own, not procedures; they describe themselves.
    paths: {
      ...paths,
      ...CRM_CSV_OPENAPI_PATHS,
      ...AI_CHAT_OPENAPI_PATHS,
      ...KNOWLEDGE_OPENAPI_PATHS,
      ...CAMPAIGN_PUBLIC_OPENAPI_PATHS,
      ...QR_SIGN_IN_OPENAPI_PATHS,
    },
  };
}
