import { randomBytes } from 'node:crypto';

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/**
 * A person using the API over real HTTP: keeps their session cookie, and
 * optionally sends X-Tenant-Id.
 */
export class ApiClient {
  private cookies = new Map<string, string>();
  tenantHeader: string | undefined;
  /** Sent as `x-api-key` when set: the client then acts as that key. */
  apiKey: string | undefined;
  userId = '';
  email = '';

  constructor(readonly baseUrl: string) {}

  async request<T = any>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiResponse<T>> {
    const all: Record<string, string> = { ...headers };
    if (body !== undefined) all['content-type'] = 'application/json';
    // Browsers send Origin on every non-GET request; the auth library checks it when a cookie is present.
    if (method !== 'GET' && !('origin' in all)) all.origin = this.baseUrl;
    if (this.cookies.size > 0) all.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (this.tenantHeader && !('x-tenant-id' in all)) all['x-tenant-id'] = this.tenantHeader;
    if (this.apiKey && !('x-api-key' in all) && !('authorization' in all)) all['x-api-key'] = this.apiKey;
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: all,
      body: body === undefined ? undefined : JSON.stringify(body),
      redirect: 'manual',
    });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const index = pair?.indexOf('=') ?? -1;
      if (!pair || index < 0) continue;
      const name = pair.slice(0, index);
      const value = pair.slice(index + 1);
      if (value === '' || /max-age=0/i.test(cookie)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON; keep the text
    }
    return { status: response.status, body: parsed as T, headers: response.headers };
  }

  get<T = any>(path: string, headers?: Record<string, string>) {
    return this.request<T>('GET', path, undefined, headers);
  }
  post<T = any>(path: string, body: unknown = {}, headers?: Record<string, string>) {
    return this.request<T>('POST', path, body, headers);
  }
  patch<T = any>(path: string, body: unknown, headers?: Record<string, string>) {
    return this.request<T>('PATCH', path, body, headers);
  }
  delete<T = any>(path: string, headers?: Record<string, string>) {
    return this.request<T>('DELETE', path, undefined, headers);
  }

  /** Calls a procedure over tRPC's HTTP protocol. */
  async trpc<T = any>(kind: 'query' | 'mutation', path: string, input?: unknown): Promise<ApiResponse<T>> {
    if (kind === 'query') {
      const query = input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`;
      return this.get<T>(`/trpc/${path}${query}`);
    }
    return this.post<T>(`/trpc/${path}`, input ?? {});
  }

  /** Signs in again with the test password (role changes sign a member out everywhere). */
  async signIn(): Promise<void> {
    const res = await this.post('/api/auth/sign-in/email', { email: this.email, password: PASSWORD });
    if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${JSON.stringify(res.body)}`);
  }

  /** The same person (cookies, key, tenant header) talking to another server of the same deployment. */
  at(baseUrl: string): ApiClient {
    const other = new ApiClient(baseUrl);
    for (const [name, value] of this.cookies) other.cookies.set(name, value);
    other.apiKey = this.apiKey;
    other.tenantHeader = this.tenantHeader;
    other.userId = this.userId;
    other.email = this.email;
    return other;
  }

  /** The Cookie header this client sends (for WebSocket handshakes). */
  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  clearSession(): void {
    this.cookies.clear();
  }
}

/**
 * An integrator's client: an API key created by `admin` in their active
 * tenant, sent as `x-api-key` (no cookies). Returns the client and the key's id.
 */
export async function apiKeyClient(
  admin: ApiClient,
  input: { name?: string; role?: 'member' | 'admin'; scopes?: string[]; expiresAt?: string } = {},
): Promise<ApiClient & { apiKeyId: string }> {
  const res = await admin.post('/api/v1/api-keys', { name: input.name ?? 'integration', ...input });
  if (res.status !== 201) throw new Error(`api key creation failed: ${res.status} ${JSON.stringify(res.body)}`);
  const client = new ApiClient(admin.baseUrl) as ApiClient & { apiKeyId: string };
  client.apiKey = res.body.secret;
  client.apiKeyId = res.body.id;
  return client;
}

export const uniqueEmail = (label = 'user') => `${label}-${randomBytes(5).toString('hex')}@test.example`;
export const uniqueSlug = (label = 't') => `${label}-${randomBytes(5).toString('hex')}`;

export const PASSWORD = 'correct-horse-battery-staple';

/** Signs up a new user (and signs them in). */
export async function signUp(baseUrl: string, label = 'user', name = 'Test User'): Promise<ApiClient> {
  const client = new ApiClient(baseUrl);
  const email = uniqueEmail(label);
  const res = await client.post('/api/auth/sign-up/email', { email, password: PASSWORD, name });
  if (res.status !== 200) throw new Error(`sign-up failed: ${res.status} ${JSON.stringify(res.body)}`);
  client.userId = res.body.user.id;
  client.email = email;
  return client;
}

export interface TenantFixture {
  id: string;
  slug: string;
  owner: ApiClient;
  admin: ApiClient;
  member: ApiClient;
}

/**
 * A tenant with an owner, an admin and a member, built through the public API
 * only (create tenant, invite, accept). Invitation tokens are read from the
 * captured mail.
 */
export async function createTenant(
  baseUrl: string,
  inbox: { tokenFor(email: string): Promise<string> },
  label = 'tenant',
): Promise<TenantFixture> {
  const owner = await signUp(baseUrl, `${label}-owner`, `${label} owner`);
  const slug = uniqueSlug(label);
  const created = await owner.post('/api/v1/tenants', { name: `${label} inc`, slug });
  if (created.status !== 201) throw new Error(`create tenant failed: ${created.status} ${JSON.stringify(created.body)}`);
  const tenantId = created.body.id as string;
  const join = async (role: 'admin' | 'member') => {
    const person = await signUp(baseUrl, `${label}-${role}`, `${label} ${role}`);
    const invited = await owner.post('/api/v1/invitations', { email: person.email, role });
    if (invited.status !== 201) throw new Error(`invite failed: ${invited.status} ${JSON.stringify(invited.body)}`);
    const token = await inbox.tokenFor(person.email);
    const accepted = await person.post('/api/v1/invitations/accept', { token });
    if (accepted.status !== 200) throw new Error(`accept failed: ${accepted.status} ${JSON.stringify(accepted.body)}`);
    return person;
  };
  const admin = await join('admin');
  const member = await join('member');
  return { id: tenantId, slug, owner, admin, member };
}

interface StoredCookie {
  value: string;
  path: string;
}

export interface BrowserResponse {
  status: number;
  url: string;
  headers: Headers;
  text: string;
  /** The body as JSON, or undefined when it is not JSON. */
  json: any;
}

/**
 * A browser stand-in for flows that cross origins (OAuth): one cookie jar per
 * origin, cookie paths honoured, redirects followed by hand so every hop can
 * be inspected. Requests carry an Origin header for POSTs, as browsers do.
 */
export class Browser {
  private jars = new Map<string, Map<string, StoredCookie>>();

  /** One request, no redirects followed. A plain-object body is sent as JSON, URLSearchParams as a form. */
  async request(
    url: string,
    init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<BrowserResponse> {
    const target = new URL(url);
    const method = init.method ?? 'GET';
    const headers: Record<string, string> = { ...init.headers };
    const cookie = this.cookieHeader(target);
    if (cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (init.body instanceof URLSearchParams) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = init.body.toString();
    } else if (init.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.body);
    }
    if (method !== 'GET' && method !== 'HEAD' && !headers.origin) headers.origin = target.origin;
    const response = await fetch(target, { method, headers, body, redirect: 'manual' });
    this.storeCookies(target, response.headers.getSetCookie());
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: response.status, url: target.href, headers: response.headers, text, json };
  }

  /**
   * Requests `url` and follows redirects (as GET, like a browser after 302/303)
   * until a response is not a redirect, or `stopAt` says a URL should not be
   * requested (it is then returned unrequested as `stoppedAt`).
   */
  async navigate(
    url: string,
    init: { method?: string; body?: unknown; stopAt?: (url: URL) => boolean } = {},
  ): Promise<{ response: BrowserResponse; stoppedAt?: string }> {
    let response = await this.request(url, init);
    for (let hop = 0; hop < 20; hop++) {
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || !location) return { response };
      const next = new URL(location, response.url);
      if (init.stopAt?.(next)) return { response, stoppedAt: next.href };
      response = await this.request(next.href);
    }
    throw new Error(`too many redirects from ${url}`);
  }

  /** The value of a cookie this browser holds for `origin`. */
  cookie(origin: string, name: string): string | undefined {
    return this.jars.get(new URL(origin).origin)?.get(name)?.value;
  }

  private cookieHeader(target: URL): string {
    const jar = this.jars.get(target.origin);
    if (!jar) return '';
    return [...jar]
      .filter(([, c]) => target.pathname === c.path || target.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
      .map(([name, c]) => `${name}=${c.value}`)
      .join('; ');
  }

  private storeCookies(target: URL, setCookies: string[]): void {
    const jar = this.jars.get(target.origin) ?? new Map<string, StoredCookie>();
    this.jars.set(target.origin, jar);
    for (const header of setCookies) {
      const [pair, ...attributes] = header.split(';');
      const index = pair?.indexOf('=') ?? -1;
      if (!pair || index < 0) continue;
      const name = pair.slice(0, index).trim();
      const value = pair.slice(index + 1).trim();
      const attribute = (key: string) =>
        attributes
          .map((a) => a.trim())
          .find((a) => a.toLowerCase().startsWith(`${key}=`))
          ?.slice(key.length + 1);
      const maxAge = attribute('max-age');
      const expires = attribute('expires');
      const expired =
        value === '' ||
        (maxAge !== undefined && Number(maxAge) <= 0) ||
        (expires !== undefined && Date.parse(expires) <= Date.now());
      if (expired) jar.delete(name);
      else jar.set(name, { value, path: attribute('path') ?? '/' });
    }
  }
}
