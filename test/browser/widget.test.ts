import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, type TenantFixture } from '../support/client.ts';
import { startTestServer, type TestServer } from '../support/harness.ts';
import { browserSuites, launchChromium, newPage, screenshot } from './support.ts';

const run = browserSuites('browser tests of the chat widget');

/** A customer's website on its own loopback origin: one page that embeds the widget snippet. */
async function startSite(snippet: () => string): Promise<{ server: Server; port: number }> {
  const page = () => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>
<body><h1>Our shop</h1><p>Welcome.</p>${snippet()}</body></html>`;
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/**
 * The embeddable widget in a real browser: a page on an allowed origin shows
 * the bubble and gets an answer grounded in the tenant's documents; the same
 * snippet on another origin is refused by the server and shows nothing.
 */
describe.runIf(run)('chat widget in a browser', () => {
  let palisade: TestServer;
  let browser: Browser;
  let a: TenantFixture;
  let allowedSite: { server: Server; port: number };
  let otherSite: { server: Server; port: number };

  beforeAll(async () => {
    palisade = await startTestServer('pglite');
    browser = await launchChromium();
    a = await createTenant(palisade.url, palisade.inbox, 'widget');
    const agent = await a.admin.post('/api/v1/ai/agents', {
      name: 'Helper',
      systemPrompt: 'Help shoppers.',
      knowledgeCategories: ['support'],
    });
    expect(agent.status).toBe(201);
    const doc = await a.member.post('/api/v1/ai/knowledge/documents', {
      title: 'Opening hours',
      category: 'support',
      content: '# Opening hours\n\nThe shop opens at nine in the morning and closes at six in the evening.',
    });
    expect(doc.status).toBe(201);
    // The allowed site's port is known only once it listens: the widget is created after, and the page serves its snippet.
    let snippet = '';
    allowedSite = await startSite(() => snippet);
    const widget = await a.member.post('/api/v1/ai/widgets', {
      name: 'Shop chat',
      agentId: agent.body.id,
      greeting: 'Hello! Ask about the shop.',
      allowedDomains: [`127.0.0.1:${allowedSite.port}`],
      theme: { primaryColor: '#8a2be2' },
    });
    expect(widget.status).toBe(201);
    snippet = widget.body.embedSnippet;
    otherSite = await startSite(() => snippet);
  });

  afterAll(async () => {
    await browser?.close();
    await palisade?.close();
    await new Promise((resolve) => allowedSite?.server.close(resolve));
    await new Promise((resolve) => otherSite?.server.close(resolve));
  });

  it('answers on an allowed origin, streamed into the bubble, grounded in the documents', async () => {
    const { context, page } = await newPage(browser, `http://127.0.0.1:${allowedSite.port}`);
    await page.goto('/');
    await page.waitForFunction(
      () => (globalThis as unknown as { PalisadeWidget?: { ready: boolean } }).PalisadeWidget?.ready === true,
    );
    const bubble = page.getByRole('button', { name: 'Open chat: Shop chat' });
    await bubble.click();
    await expect.poll(() => page.getByText('Hello! Ask about the shop.').count()).toBe(1);
    await page.getByLabel('Your message').fill('When does the shop open in the morning?');
    await page.getByRole('button', { name: 'Send' }).click();
    const answer = page.locator('.msg.assistant').last();
    await expect.poll(() => answer.textContent(), { timeout: 20_000 }).toContain('opens at nine');
    await expect.poll(() => page.locator('.sources').last().textContent()).toContain('Opening hours');
    await screenshot(page, 'widget-allowed-origin');

    const [conversations] = await palisade.ownerQuery<{ n: number }>(
      'select count(*)::int as n from app.ai_conversations where tenant_id = $1 and widget_id is not null',
      [a.id],
    );
    expect(conversations?.n).toBe(1);
    await context.close();
  });

  it('is refused on any other origin: no bubble, no conversation', async () => {
    const { context, page } = await newPage(browser, `http://127.0.0.1:${otherSite.port}`);
    // The server answers 403 without CORS headers, so the browser hides the response from the page entirely.
    const failed: string[] = [];
    page.on('requestfailed', (request) => {
      if (request.url().includes('/api/v1/widget/')) failed.push(request.url());
    });
    await page.goto('/');
    await page.waitForFunction(
      () => (globalThis as unknown as { PalisadeWidget?: { ready: boolean } }).PalisadeWidget?.ready === false,
    );
    expect(failed.length).toBeGreaterThan(0);
    expect(await page.getByRole('button', { name: /Open chat/ }).count()).toBe(0);
    await screenshot(page, 'widget-other-origin');
    const [conversations] = await palisade.ownerQuery<{ n: number }>(
      'select count(*)::int as n from app.ai_conversations where tenant_id = $1 and widget_id is not null',
      [a.id],
    );
    expect(conversations?.n).toBe(1);
    await context.close();
  });
});
