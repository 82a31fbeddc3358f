/**
 * The few REST calls the benchmark makes to set itself up and to create
 * events, each checked: a wrong status fails the run with the response body.
 */
export interface ApiKey {
  id: string;
  /** `pal_live_...`, sent as `x-api-key`. */
  secret: string;
}

export async function callApi<T>(
  baseUrl: string,
  method: 'GET' | 'POST' | 'PATCH',
  path: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<T> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status < 200 || response.status > 299)
    throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 500)}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** A new tenant owned by the signed-in user behind `cookie`; returns its id. */
export async function createTenant(baseUrl: string, cookie: string, name: string, slug: string): Promise<string> {
  const tenant = await callApi<{ id: string }>(baseUrl, 'POST', '/api/v1/tenants', { cookie }, { name, slug });
  return tenant.id;
}

/** An API key of `tenantId`, created by an admin session as integrators do (the secret is returned once). */
export async function createApiKey(
  baseUrl: string,
  cookie: string,
  tenantId: string,
  key: { name: string; role: 'admin' | 'member'; scopes: string[] },
): Promise<ApiKey> {
  const created = await callApi<ApiKey>(baseUrl, 'POST', '/api/v1/api-keys', { cookie, 'x-tenant-id': tenantId }, key);
  if (!created.secret) throw new Error('API key created without a secret');
  return { id: created.id, secret: created.secret };
}

/** `PATCH /api/v1/tenants/current`: the cheapest change that emits an event (`tenant.updated`). */
export function touchTenant(baseUrl: string, key: ApiKey, n: number): Promise<unknown> {
  return callApi(baseUrl, 'PATCH', '/api/v1/tenants/current', { 'x-api-key': key.secret }, { settings: { bench: n } });
}

/**
 * `POST /api/v1/webhooks/endpoints/{id}/test`: a `webhook.test` event for that endpoint. The cheapest event
 * there is (one lookup, the event, its job), and it locks no row, unlike tenant.updated, whose callers queue
 * on the tenant row.
 */
export function sendTestEvent(baseUrl: string, key: ApiKey, endpointId: string): Promise<unknown> {
  return callApi(baseUrl, 'POST', `/api/v1/webhooks/endpoints/${endpointId}/test`, { 'x-api-key': key.secret }, {});
}
