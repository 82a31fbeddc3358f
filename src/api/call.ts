import type { AnyProcedure } from '@trpc/server';
import type { RequestContext } from './context.ts';
import { appRouter } from './router.ts';

/** Every procedure of the router by its dotted path (`audit.get`), read from the router itself. */
export const proceduresByPath = appRouter._def.procedures as unknown as Readonly<Record<string, AnyProcedure>>;

/**
 * Calls one procedure with a context and its raw input, as `createCaller` does, without building the
 * caller's proxy for every request: the procedure's own middlewares (kind, input and output schemas) run
 * exactly as they do for any other caller. Used by the REST transport and tRPC's fast path.
 */
export function callProcedure(procedure: AnyProcedure, path: string, ctx: RequestContext, input: unknown): Promise<unknown> {
  const call = procedure as unknown as (options: {
    ctx: RequestContext;
    path: string;
    getRawInput: () => Promise<unknown>;
    type: AnyProcedure['_def']['type'];
    signal: AbortSignal | undefined;
  }) => Promise<unknown>;
  return call({ ctx, path, getRawInput: async () => input, type: procedure._def.type, signal: undefined });
}
