import { QueryClient } from '@tanstack/react-query';
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import type { AppRouter } from '../../src/api/router.ts';

/**
 * The active tenant of this browser tab. Every request names it in `X-Tenant-Id`, so two tabs may work
 * in two tenants; the server checks the membership on every call.
 */
const TENANT_KEY = 'palisade.tenant';
let tenantId: string | null = sessionStorage.getItem(TENANT_KEY);
const tenantListeners = new Set<() => void>();

export const tenantStore = {
  get: () => tenantId,
  set(id: string | null) {
    if (id === tenantId) return;
    tenantId = id;
    if (id) sessionStorage.setItem(TENANT_KEY, id);
    else sessionStorage.removeItem(TENANT_KEY);
    for (const listener of tenantListeners) listener();
  },
  subscribe(listener: () => void) {
    tenantListeners.add(listener);
    return () => tenantListeners.delete(listener);
  },
};

export const trpc = createTRPCClient<AppRouter>({
  links: [
    // One request per call (not batched): an error response then belongs to exactly one call.
    httpLink({
      url: '/trpc',
      headers: () => (tenantId ? { 'x-tenant-id': tenantId } : {}),
      fetch: (url, init) => fetch(url, { ...init, credentials: 'include' }),
    }),
  ],
});

export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 10_000,
      retry: (count, error) => count < 2 && ['NETWORK', 'INTERNAL', 'UNAVAILABLE', 'UNKNOWN'].includes(errorCode(error)),
      refetchOnWindowFocus: false,
    },
  },
});

/**
 * The API's own error (`{ code: 'NOT_FOUND', message }`) inside a failed call. The server formats tRPC
 * errors with string codes (src/api/procedures.ts), which the tRPC client does not recognise as an error
 * shape: the response body is then in the error's `meta.responseJSON`.
 */
function apiErrorOf(error: unknown): { code: string; message: string } | null {
  if (error instanceof HttpError) return { code: error.code, message: error.message };
  if (!(error instanceof TRPCClientError)) return null;
  const json = (error.meta as { responseJSON?: unknown } | undefined)?.responseJSON;
  const candidates: unknown[] = [
    error.shape,
    (error.cause as { error?: unknown } | undefined)?.error,
    (json as { error?: unknown } | undefined)?.error,
  ];
  for (const candidate of candidates) {
    const c = candidate as { code?: unknown; message?: unknown } | undefined;
    if (c && typeof c.code === 'string') return { code: c.code, message: typeof c.message === 'string' ? c.message : c.code };
  }
  return null;
}

/** The API's error code (`NOT_FOUND`, `FORBIDDEN`...), `NETWORK` when the server could not be reached. */
export function errorCode(error: unknown): string {
  return apiErrorOf(error)?.code ?? (error instanceof TRPCClientError ? 'NETWORK' : 'UNKNOWN');
}

export function errorMessage(error: unknown): string {
  const api = apiErrorOf(error);
  if (api) return api.message;
  if (error instanceof Error && error.message) return error.message;
  return String(error);
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A JSON call to a non-tRPC route (Better Auth, REST, public endpoints). */
export async function http<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (tenantId && path.startsWith('/api/v1/')) headers['x-tenant-id'] = tenantId;
  const response = await fetch(path, {
    method,
    headers,
    credentials: 'include',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = text;
  }
  if (!response.ok) {
    const error = (parsed as { error?: { code?: string; message?: string }; code?: string; message?: string }) ?? {};
    const code = error.error?.code ?? error.code ?? `HTTP_${response.status}`;
    throw new HttpError(response.status, code, error.error?.message ?? error.message ?? response.statusText);
  }
  return parsed as T;
}

/** The query keys the realtime feed invalidates, by event type prefix. */
export const keys = {
  me: ['me'] as const,
  tenant: (id: string | null) => ['tenant', id] as const,
  scoped: (id: string | null, area: string) => ['t', id, area] as const,
};
