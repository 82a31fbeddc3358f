import type { AnyProcedure } from '@trpc/server';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { callProcedure, proceduresByPath } from './call.ts';
import type { RequestContext } from './context.ts';
import type { ProcedureMeta } from './procedures.ts';

export const REST_PREFIX = '/api/v1';

export interface RestRoute {
  procedurePath: string;
  method: NonNullable<ProcedureMeta['rest']>['method'];
  /** OpenAPI style, with `{param}` placeholders. */
  path: string;
  status: number;
  meta: ProcedureMeta;
  procedure: AnyProcedure;
}

/** Every procedure that declares a REST route, read from the router itself. */
export function restRoutes(): RestRoute[] {
  const routes: RestRoute[] = [];
  for (const [procedurePath, procedure] of Object.entries(proceduresByPath)) {
    const meta = procedure._def.meta as ProcedureMeta | undefined;
    if (!meta?.rest) continue;
    routes.push({
      procedurePath,
      method: meta.rest.method,
      path: `${REST_PREFIX}${meta.rest.path}`,
      status: meta.rest.status ?? 200,
      meta,
      procedure,
    });
  }
  return routes;
}

/**
 * The REST transport: each route calls the same procedure tRPC serves, with
 * path parameters, then the query string (GET, DELETE) or the JSON body
 * merged into its input. Path parameters win, so a body cannot redirect a
 * request to another object.
 */
export function registerRest(app: FastifyInstance, contextOf: (req: FastifyRequest) => Promise<RequestContext>): void {
  for (const route of restRoutes()) {
    app.route({
      method: route.method,
      url: route.path.replace(/\{(\w+)\}/g, ':$1'),
      handler: async (req, reply) => {
        const ctx = await contextOf(req);
        const fromQuery = route.method === 'GET' || route.method === 'DELETE';
        const body = req.body && typeof req.body === 'object' && !Array.isArray(req.body) ? (req.body as object) : {};
        const input = { ...(fromQuery ? (req.query as object) : {}), ...body, ...(req.params as object) };
        const result = await callProcedure(route.procedure, route.procedurePath, ctx, input);
        return reply.code(route.status).send(result);
      },
    });
  }
}
