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
  userId = '';
  email = '';

  constructor(readonly baseUrl: string) {}

  async request<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const all: Record<string, string> = { ...headers };
    if (body !== undefined) all['content-type'] = 'application/json';
    if (this.cookies.size > 0) all.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (this.tenantHeader && !('x-tenant-id' in all)) all['x-tenant-id'] = this.tenantHeader;
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

  clearSession(): void {
    this.cookies.clear();
  }
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
