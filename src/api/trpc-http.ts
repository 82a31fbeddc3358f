import type { AnyRouter } from '@trpc/server';
import { fastifyRequestHandler } from '@trpc/server/adapters/fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { jsonTooDeep, tooDeepJsonError } from '../http/json-body.ts';
import { callProcedure, proceduresByPath } from './call.ts';
import type { RequestContext } from './context.ts';
import { AppError } from './errors.ts';
import { appErrorOf, trpcErrorShape } from './procedures.ts';

export const TRPC_PREFIX = '/trpc';

interface TrpcOptions {
  router: AnyRouter;
  contextOf: (req: FastifyRequest) => Promise<RequestContext>;
  /** Called for every failed call, as tRPC's own `onError`. */
  onError: (error: unknown, req: FastifyRequest) => void;
}

/**
 * The tRPC transport at /trpc. The common call, one procedure per request as the dashboard's `httpLink`
 * sends it (a query by GET with `?input=`, a mutation by POST with a JSON body), is answered here the way
 * the REST transport answers: the procedure is called directly and its result written as tRPC's JSON
 * (`{"result":{"data":…}}`, or `{"error":…}` with the same shape and status tRPC gives it). tRPC's Fastify
 * adapter turns every call into a Fetch Request and back (headers copied, an AbortController, a body
 * stream), which cost a third of the server's time per call. Everything else the protocol allows (batches,
 * streamed responses, a procedure called with the wrong method, an unknown path, other content types) goes
 * to tRPC's own handler unchanged.
 */
export async function registerTrpc(app: FastifyInstance, options: TrpcOptions): Promise<void> {
  await app.register(async (scope) => {
    // Like tRPC's plugin: form data reaches its handler unparsed. JSON bodies are parsed by http/json-body.ts
    // (size and depth bounded), and tRPC's handler takes a parsed body as it is.
    scope.removeContentTypeParser('multipart/form-data');
    scope.addContentTypeParser('multipart/form-data', (_req, body, done) => done(null, body));
    // A query's `?input=` is JSON that tRPC (or parseInput below) parses: bounded in depth like every body.
    scope.addHook('preValidation', async (req) => {
      if (jsonTooDeep((req.query as { input?: unknown } | undefined)?.input)) throw tooDeepJsonError();
    });
    scope.all<{ Params: { path: string } }>(`${TRPC_PREFIX}/:path`, async (req, reply) => {
      const path = req.params.path;
      const fast = fastCall(req, path);
      if (fast) return answer(req, reply, path, fast, options);
      await fastifyRequestHandler({
        router: options.router,
        req,
        res: reply,
        path,
        createContext: ({ req: request }: { req: FastifyRequest }) => options.contextOf(request),
        responseMeta: ({ errors }: { errors: unknown[] }) => (errors[0] ? { status: appErrorOf(errors[0]).status } : {}),
        onError: ({ error, req: request }: { error: Error; req: FastifyRequest }) => options.onError(error, request),
      } as never);
    });
  });
}

interface FastCall {
  procedure: (typeof proceduresByPath)[string];
  /** The input text of a query (`?input=`), or the parsed body of a mutation. */
  rawInput: { text: string | undefined } | { parsed: unknown };
}

/** The call, if it is one the fast path answers: one known procedure, by the method its type requires. */
function fastCall(req: FastifyRequest, path: string): FastCall | null {
  const query = req.query as Record<string, unknown>;
  if (query.batch !== undefined || req.headers['trpc-accept'] !== undefined) return null;
  const procedure = Object.hasOwn(proceduresByPath, path) ? proceduresByPath[path] : undefined;
  if (!procedure) return null;
  const type = procedure._def.type;
  if (type === 'query' && req.method === 'GET') {
    const input = query.input;
    if (input !== undefined && typeof input !== 'string') return null;
    return { procedure, rawInput: { text: input } };
  }
  if (type === 'mutation' && req.method === 'POST' && req.headers['content-type']?.startsWith('application/json')) {
    return { procedure, rawInput: { parsed: req.body } };
  }
  return null;
}

/** Runs the call and writes what tRPC would: its status, its `vary` header, its JSON body. */
async function answer(req: FastifyRequest, reply: FastifyReply, path: string, call: FastCall, options: TrpcOptions) {
  reply.header('vary', 'trpc-accept, accept');
  let ctx: RequestContext | undefined;
  try {
    ctx = await options.contextOf(req);
    const input = 'parsed' in call.rawInput ? call.rawInput.parsed : parseInput(call.rawInput.text);
    const data = await callProcedure(call.procedure, path, ctx, input);
    return reply.code(200).send({ result: { data } });
  } catch (error) {
    options.onError(error, req);
    const appError = appErrorOf(error);
    return reply.code(appError.status).send({ error: trpcErrorShape(appError, ctx?.requestId ?? req.id, path) });
  }
}

/** A query's `?input=`, whose depth the preValidation hook bounded. */
function parseInput(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new AppError('BAD_REQUEST', 'The input is not valid JSON.');
  }
}
