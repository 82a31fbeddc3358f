import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ERROR_CATALOGUE } from '../../src/api/errors.ts';
import { restRoutes } from '../../src/api/rest.ts';
import { ApiClient, signUp } from '../support/client.ts';
import { describeEachBackend, startTestServer, type TestServer } from '../support/harness.ts';

describeEachBackend('HTTP surface', (backend) => {
  let t: TestServer;
  let anonymous: ApiClient;

  beforeAll(async () => {
    t = await startTestServer(backend, { BODY_LIMIT_BYTES: '65536' });
    anonymous = new ApiClient(t.url);
  });
  afterAll(() => t?.close());

  it('answers unknown routes with the standard error shape and a request id', async () => {
    const res = await anonymous.get('/api/v1/nothing-here');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: { code: 'NOT_FOUND', message: expect.any(String) }, requestId: expect.any(String) });
    expect(res.headers.get('x-request-id')).toBe(res.body.requestId);
  });

  it('takes a well-formed X-Request-Id from the caller and replaces a malformed one', async () => {
    const given = await anonymous.get('/api/v1/me', { 'x-request-id': 'trace-0123456789' });
    expect(given.headers.get('x-request-id')).toBe('trace-0123456789');
    expect(given.body.requestId).toBe('trace-0123456789');
    const malformed = await anonymous.get('/api/v1/me', { 'x-request-id': 'bad id with spaces <script>' });
    expect(malformed.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('requires a session for authenticated procedures, over REST and tRPC', async () => {
    const rest = await anonymous.get('/api/v1/me');
    expect(rest.status).toBe(401);
    expect(rest.body.error.code).toBe('UNAUTHENTICATED');
    const trpc = await anonymous.trpc('query', 'me.get');
    expect(trpc.status).toBe(401);
    expect(trpc.body.error.code).toBe('UNAUTHENTICATED');
    expect(trpc.body.error.requestId).toEqual(expect.any(String));
  });

  it("speaks tRPC's protocol for single calls, batches and the wrong method alike", async () => {
    const user = await signUp(t.url, 'trpc');
    const created = await user.trpc('mutation', 'tenants.create', { name: 'Protocol', slug: 'trpc-protocol' });
    expect(created.status).toBe(200);
    const tenantId = created.body.result.data.id as string;
    const headers = { 'x-tenant-id': tenantId };
    // A single query: answered by the transport's own path, exactly as tRPC would.
    const single = await user.get(`/trpc/tenants.current?input=${encodeURIComponent('{}')}`, headers);
    expect(single.status).toBe(200);
    expect(single.body).toEqual({ result: { data: expect.objectContaining({ id: tenantId, slug: 'trpc-protocol' }) } });
    expect(single.headers.get('vary')).toBe('trpc-accept, accept');
    const failed = await user.get(`/trpc/audit.get?input=${encodeURIComponent(JSON.stringify({ id: 'x' }))}`, headers);
    expect(failed.status).toBe(400);
    expect(failed.body).toEqual({
      error: {
        code: 'VALIDATION_FAILED',
        message: expect.any(String),
        details: [{ path: 'id', message: expect.any(String) }],
        requestId: failed.headers.get('x-request-id'),
        data: { httpStatus: 400, path: 'audit.get' },
      },
    });
    const unreadable = await user.get('/trpc/tenants.current?input=%7Bnot-json', headers);
    expect(unreadable.status).toBe(400);
    expect(unreadable.body.error.code).toBe('BAD_REQUEST');
    // A batch, a query sent as POST and an unknown procedure: tRPC's own handler, same shapes.
    const batchInput = encodeURIComponent(JSON.stringify({ 0: {}, 1: { id: 'x' } }));
    const batch = await user.get(`/trpc/tenants.current,audit.get?batch=1&input=${batchInput}`, headers);
    expect(batch.body).toEqual([
      { result: { data: expect.objectContaining({ id: tenantId }) } },
      { error: expect.objectContaining({ code: 'VALIDATION_FAILED', data: { httpStatus: 400, path: 'audit.get' } }) },
    ]);
    const wrongMethod = await user.post('/trpc/tenants.current', {}, headers);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.body.error.code).toBe('METHOD_NOT_ALLOWED');
    const unknown = await user.get('/trpc/nothing.here', headers);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toEqual(
      expect.objectContaining({ code: 'NOT_FOUND', data: { httpStatus: 404, path: 'nothing.here' } }),
    );
  });

  it('refuses a signed-in change that names another origin (cross-site request forgery), over REST and tRPC', async () => {
    const user = await signUp(t.url, 'csrf');
    // A sibling subdomain is the same site: SameSite=Lax would let the cookie through.
    const sibling = { origin: 'https://evil.127.0.0.1.nip.io' };
    const rest = await user.request('POST', '/api/v1/tenants', { name: 'Forged', slug: 'csrf-forged' }, sibling);
    expect(rest.status).toBe(403);
    expect(rest.body.error.code).toBe('CROSS_SITE_REQUEST');
    const trpc = await user.request('POST', '/trpc/tenants.create', { name: 'Forged', slug: 'csrf-forged' }, sibling);
    expect(trpc.status).toBe(403);
    const [forged] = await t.ownerQuery<{ n: number }>("select count(*)::int as n from app.tenants where slug = 'csrf-forged'");
    expect(forged?.n).toBe(0);

    // From the site itself it goes through; reads are not concerned.
    expect((await user.post('/api/v1/tenants', { name: 'Own', slug: 'csrf-own' })).status).toBe(201);
    expect((await user.get('/api/v1/me', sibling)).status).toBe(200);
  });

  it('refuses an oversized body with 413 and the standard shape', async () => {
    const user = await signUp(t.url, 'big');
    const res = await user.post('/api/v1/tenants', { name: 'x'.repeat(70_000), slug: 'big-body' });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('refuses deeply nested JSON before parsing it, and malformed JSON, with 400', async () => {
    const user = await signUp(t.url, 'deep');
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    const nested = await fetch(`${t.url}/api/v1/tenants`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: deep,
    });
    expect(nested.status).toBe(400);
    expect(((await nested.json()) as { error: { code: string } }).error.code).toBe('BAD_REQUEST');
    const broken = await user.request('POST', '/api/v1/tenants', undefined, { 'content-type': 'application/json' });
    expect(broken.status).toBe(400);
    const garbage = await fetch(`${t.url}/api/v1/tenants`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"name":',
    });
    expect(garbage.status).toBe(400);
  });

  it('names the invalid fields of a validation error', async () => {
    const user = await signUp(t.url, 'fields');
    const res = await user.post('/api/v1/tenants', { name: '', slug: 'NOT A SLUG' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    const paths = res.body.error.details.map((d: { path: string }) => d.path).sort();
    expect(paths).toEqual(['name', 'slug']);
  });

  it('answers a unique violation with 409 without echoing the value', async () => {
    const user = await signUp(t.url, 'dup');
    expect((await user.post('/api/v1/tenants', { name: 'One', slug: 'duplicate-slug-x' })).status).toBe(201);
    const res = await user.post('/api/v1/tenants', { name: 'Two', slug: 'duplicate-slug-x' });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('CONFLICT');
    expect(JSON.stringify(res.body)).not.toContain('duplicate-slug-x');
    expect(JSON.stringify(res.body)).not.toMatch(/tenants_slug_key|constraint|stack/i);
  });

  it('reports liveness, readiness and details without secrets', async () => {
    expect((await anonymous.get('/health/live')).status).toBe(200);
    const ready = await anonymous.get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('ready');
    const details = await anonymous.get('/health');
    expect(details.status).toBe(200);
    expect(details.body.checks.database.ok).toBe(true);
    expect(details.body.checks.migrations.ok).toBe(true);
    expect(details.body.checks.rls.ok).toBe(true);
    expect(details.body.checks.database.ms).toEqual(expect.any(Number));
    const text = JSON.stringify(details.body);
    expect(text).not.toContain('postgres://');
    expect(text).not.toContain(t.config.AUTH_SECRET as string);
  });

  it('serves an OpenAPI 3.1 document covering every REST route, and a reference page', async () => {
    const doc = await anonymous.get('/api/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
    const routes = restRoutes();
    expect(routes.length).toBeGreaterThan(10);
    for (const route of routes) {
      expect(doc.body.paths[route.path]?.[route.method.toLowerCase()], `${route.method} ${route.path}`).toBeDefined();
    }
    const page = await fetch(`${t.url}/api/docs/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.headers.get('content-security-policy')).not.toContain('upgrade-insecure-requests');
  });
});

it('documents every error code in docs/api.md', () => {
  const docs = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
  const codes = Object.keys(ERROR_CATALOGUE);
  expect(codes.length).toBeGreaterThan(5);
  for (const code of codes) expect(docs, `docs/api.md lacks ${code}`).toContain(`\`${code}\``);
});
