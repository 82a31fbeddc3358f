import type { RouteKey, TenantRouteCase } from '../tenant-procedures.ts';

/** Cross-tenant cases for the ai routes (see tenant-procedures.ts for what each field means). */
export const AI_ROUTES: Record<RouteKey, TenantRouteCase> = {};
