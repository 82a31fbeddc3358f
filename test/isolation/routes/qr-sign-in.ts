import type { RouteKey, TenantRouteCase } from '../tenant-procedures.ts';

/**
 * Cross-tenant cases for the qr-sign-in routes (see tenant-procedures.ts for what each field means).
 * None: QR sign-in has no tenant-scoped route. Its three routes are plain Fastify routes for signed-out
 * devices and signed-in users (not tenant procedures), and its table is a global one reached only by
 * presenting a secret's hash (docs/qr-sign-in.md); src/modules/qr-sign-in/qr-sign-in.test.ts covers it.
 */
export const QR_ROUTES: Record<RouteKey, TenantRouteCase> = {};
