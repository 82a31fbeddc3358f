import type { RouteKey, TenantRouteCase } from '../tenant-procedures.ts';

/** Cross-tenant cases for the qr-sign-in routes (see tenant-procedures.ts for what each field means). */
export const QR_ROUTES: Record<RouteKey, TenantRouteCase> = {};
