import { QueryClient } from '@tanstack/react-query';
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '../../src/api/router.ts';

/** What each procedure takes and returns, from the server's router (types only: no server code is bundled). */
export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;

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
function apiErrorOf(error: unknown): { code: string; message: string; details?: unknown } | null {
  if (error instanceof HttpError) return { code: error.code, message: error.message, details: error.details };
  if (!(error instanceof TRPCClientError)) return null;
  const json = (error.meta as { responseJSON?: unknown } | undefined)?.responseJSON;
  const candidates: unknown[] = [
    error.shape,
    (error.cause as { error?: unknown } | undefined)?.error,
    (json as { error?: unknown } | undefined)?.error,
  ];
  for (const candidate of candidates) {
    const c = candidate as { code?: unknown; message?: unknown; details?: unknown } | undefined;
    if (c && typeof c.code === 'string')
      return { code: c.code, message: typeof c.message === 'string' ? c.message : c.code, details: c.details };
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

export interface FieldIssue {
  path: string;
  message: string;
}

/** The field problems of a VALIDATION_FAILED or UNPROCESSABLE error (`details`), so forms can say what is wrong. */
export function errorIssues(error: unknown): FieldIssue[] {
  const details = apiErrorOf(error)?.details;
  if (!Array.isArray(details)) return [];
  return details.filter(
    (d): d is FieldIssue => typeof d === 'object' && d !== null && typeof d.path === 'string' && typeof d.message === 'string',
  );
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** Headers of a same-origin call: the tab's tenant for the API's own routes. */
function restHeaders(path: string, json: boolean): Record<string, string> {
  const headers: Record<string, string> = {};
  if (json) headers['content-type'] = 'application/json';
  if (tenantId && path.startsWith('/api/v1/')) headers['x-tenant-id'] = tenantId;
  return headers;
}

/** The API's error body (`{ error: { code, message } }`) as an HttpError. */
export function httpErrorOf(status: number, statusText: string, parsed: unknown): HttpError {
  const error =
    (parsed as { error?: { code?: string; message?: string; details?: unknown }; code?: string; message?: string }) ?? {};
  const code = error.error?.code ?? error.code ?? `HTTP_${status}`;
  return new HttpError(status, code, error.error?.message ?? error.message ?? statusText, error.error?.details);
}

async function readResponse<T>(response: Response): Promise<T> {
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = text;
  }
  if (!response.ok) throw httpErrorOf(response.status, response.statusText, parsed);
  return parsed as T;
}

/** A JSON call to a non-tRPC route (Better Auth, REST, public endpoints). */
export async function http<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    headers: restHeaders(path, body !== undefined),
    credentials: 'include',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return readResponse<T>(response);
}

/** A multipart POST (file uploads); the browser sets the content type with its boundary. */
export async function upload<T>(path: string, form: FormData): Promise<T> {
  const response = await fetch(path, { method: 'POST', headers: restHeaders(path, false), credentials: 'include', body: form });
  return readResponse<T>(response);
}

/**
 * A JSON POST answered with server-sent events: each `event:`/`data:` frame is handed to `onEvent` as it
 * arrives. A failure before the stream starts is the API's ordinary JSON error.
 */
export async function postEventStream(
  path: string,
  body: unknown,
  onEvent: (event: string, data: unknown) => void,
  signal?: AbortSignal,
): Promise<void> {
  const response = await fetch(path, {
    method: 'POST',
    headers: { ...restHeaders(path, true), accept: 'text/event-stream' },
    credentials: 'include',
    body: JSON.stringify(body),
    signal,
  });
  if (!response.ok || !response.body) {
    await readResponse(response);
    throw new HttpError(response.status, `HTTP_${response.status}`, response.statusText);
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replaceAll('\r\n', '\n');
    for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of frame.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length > 0) onEvent(event, JSON.parse(data.join('\n')));
    }
  }
}

/** The query keys the realtime feed invalidates, by event type prefix. */
export const keys = {
  me: ['me'] as const,
  tenant: (id: string | null) => ['tenant', id] as const,
  scoped: (id: string | null, area: string) => ['t', id, area] as const,
};
