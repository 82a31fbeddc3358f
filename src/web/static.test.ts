import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, uniqueSlug } from '../../test/support/client.ts';
import { startTestServer, type TestServer } from '../../test/support/harness.ts';
import { LOCALES } from './locales.ts';
import { registerWebApp } from './static.ts';

async function appServing(dir: string): Promise<FastifyInstance> {
  const app = Fastify();
  app.get('/health', async () => ({ status: 'ok' }));
  await registerWebApp(app, { dir });
  return app;
}

describe('the dashboard files', () => {
  let dir: string;
  let app: FastifyInstance;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'palisade-web-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>app</title>');
    writeFileSync(join(dir, 'assets', 'app-abc123.js'), 'console.log(1)');
    writeFileSync(join(dir, 'robots.txt'), 'User-agent: *');
    app = await appServing(dir);
  });
  afterAll(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves index.html at / and for client routes, never cached, with a CSP', async () => {
    for (const url of ['/', '/crm/contacts', '/invitations/accept?token=abc', '/index.html']) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toMatch(/text\/html/);
      expect(res.body).toContain('<title>app</title>');
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    }
  });

  it('serves hashed assets as immutable and other files as they are', async () => {
    const asset = await app.inject({ url: '/assets/app-abc123.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toMatch(/javascript/);
    expect(asset.headers['cache-control']).toContain('immutable');
    const robots = await app.inject({ url: '/robots.txt' });
    expect(robots.body).toBe('User-agent: *');
  });

  it('answers 404 for missing files, paths outside the build, and the API, probe and widget paths', async () => {
    for (const url of [
      '/assets/missing.js',
      '/favicon.ico',
      '/../package.json',
      '/%2e%2e/package.json',
      '/%E0%A4%A',
      '/api/v1/nope',
      '/api',
      '/trpc/nope',
      '/widget.js',
      '/metrics',
      '/healthz',
    ]) {
      const res = await app.inject({ url });
      // Fastify itself refuses a malformed escape with 400.
      expect([400, 404], url).toContain(res.statusCode);
      expect(res.body, url).not.toContain('<title>app</title>');
    }
    expect((await app.inject({ url: '/health' })).statusCode).toBe(200);
  });

  it('lists the offered locales', async () => {
    const res = await app.inject({ url: '/api/v1/locales' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ default: 'en', locales: LOCALES });
    expect(res.json().locales.map((l: { code: string }) => l.code)).toEqual(['en', 'de']);
  });
});

describe('without a build', () => {
  it('answers / with a page saying how to build, and 404 for files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-web-empty-'));
    const app = await appServing(dir);
    try {
      const res = await app.inject({ url: '/' });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/text\/html/);
      expect(res.body).toContain('npm run build');
      expect((await app.inject({ url: '/crm/contacts' })).body).toContain('npm run build');
      expect((await app.inject({ url: '/assets/app.js' })).statusCode).toBe(404);
      expect((await app.inject({ url: '/api/v1/locales' })).statusCode).toBe(200);
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('in the server', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('pglite');
  });
  afterAll(async () => {
    await server?.close();
  });

  it('keeps the API’s JSON 404 and its routes; the dashboard only answers other GETs', async () => {
    const missing = await fetch(`${server.url}/api/v1/does-not-exist`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    const trpc = await fetch(`${server.url}/trpc/nope.nope`);
    expect(trpc.headers.get('content-type')).toMatch(/json/);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    expect((await fetch(`${server.url}/api/openapi.json`)).status).toBe(200);
    const locales = await fetch(`${server.url}/api/v1/locales`);
    expect(((await locales.json()) as { locales: unknown }).locales).toEqual(LOCALES);
    const page = await fetch(`${server.url}/crm/contacts`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
  });

  it('serves the widget preview: widget.js with the config the widget route gives this origin, framed by the dashboard only', async () => {
    const owner = await signUp(server.url, 'preview-owner');
    const tenant = await owner.post('/api/v1/tenants', { name: 'Preview', slug: uniqueSlug('preview') });
    owner.tenantHeader = tenant.body.id;
    const agent = await owner.post('/api/v1/ai/agents', { name: 'Guide', systemPrompt: 'Help.' });
    const host = new URL(server.url).host;
    const allowed = await owner.post('/api/v1/ai/widgets', {
      name: 'Say "hi" <b>now</b>',
      agentId: agent.body.id,
      allowedDomains: [host],
    });
    expect(allowed.status).toBe(201);
    const key = allowed.body.publishableKey as string;
    const previewOf = (widgetId: string, tenantId = tenant.body.id) => `/widget-preview?tenant=${tenantId}&widget=${widgetId}`;

    const page = await owner.get<string>(previewOf(allowed.body.id));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'self'");
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = page.body;
    expect(html).toContain(`<script src="/widget.js" data-palisade-widget="${key}"`);
    // The config is the public route's answer, HTML-escaped into one attribute: the name's markup stays text.
    const attribute = html.match(/data-palisade-config="([^"]*)"/)?.[1] ?? '';
    const config = JSON.parse(
      attribute
        .replace(/&quot;/g, '"')
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&#39;/g, "'")
        .replace(/&amp;/g, '&'),
    );
    expect(config).toMatchObject({ name: 'Say "hi" <b>now</b>', agentName: 'Guide' });
    expect(html).not.toContain('<b>');

    // A widget that does not allow this server's origin is refused here exactly as on any other site.
    const elsewhere = await owner.post('/api/v1/ai/widgets', {
      name: 'Shop only',
      agentId: agent.body.id,
      allowedDomains: ['shop.example.com'],
    });
    const refused = await owner.get(previewOf(elsewhere.body.id));
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('ORIGIN_NOT_ALLOWED');
    for (const bad of ['', 'nope', '"><script>', `${allowed.body.id}x"`]) {
      expect((await owner.get(previewOf(encodeURIComponent(bad)))).status, bad).toBe(400);
    }

    // Nobody else gets the page: not the anonymous (it would be a phishing page on this server's own
    // address), not a member of another tenant, not the owner naming another tenant of theirs.
    const path = previewOf(allowed.body.id);
    expect((await fetch(`${server.url}${path}`)).status).toBe(404);
    const stranger = await signUp(server.url, 'preview-stranger');
    const theirs = await stranger.post('/api/v1/tenants', { name: 'Stranger', slug: uniqueSlug('stranger') });
    expect((await stranger.get(path)).status).toBe(404);
    expect((await stranger.get(previewOf(allowed.body.id, theirs.body.id))).status).toBe(404);
    const second = await owner.post('/api/v1/tenants', { name: 'Second', slug: uniqueSlug('second') });
    expect((await owner.get(previewOf(allowed.body.id, second.body.id))).status).toBe(404);
  });
});
