import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, PASSWORD, type TenantFixture, uniqueSlug } from '../support/client.ts';
import { startTestServer, type TestServer } from '../support/harness.ts';
import { browserSuites, buildWebOnce, launchChromium, newPage, screenshot, signInWithForm } from './support.ts';

/** Nothing matches, checked until a bounded timeout; callers first wait for something on the same screen. */
async function absent(locator: Locator): Promise<void> {
  await expect.poll(() => locator.count(), { timeout: 5_000 }).toBe(0);
}

const main = (page: Page) => page.locator('main');

const RETURNS_POLICY = `# Returns policy

You may return any item within 30 days of delivery for a full refund.
Refunds reach your card within five working days after the parcel arrives.`;

const run = browserSuites('browser tests of the AI assistant screens');

/**
 * The AI assistant's screens in a real browser against a real server that has no language model
 * configured, so answers come from the built-in offline responder (the passages themselves) and are still
 * streamed: an admin builds an agent, grounds it in an uploaded file, searches it, and gets an answer from
 * it in the widget's live preview (the real widget.js in an iframe); chats from the dashboard over SSE;
 * plans a meeting without LiveKit and sees its cost charted against the budget; a member sees none of the
 * admin-only actions.
 */
describe.runIf(run)('AI assistant in a browser', () => {
  let server: TestServer;
  let browser: Browser;
  let tenant: TenantFixture;

  beforeAll(async () => {
    await buildWebOnce();
    server = await startTestServer('pglite');
    browser = await launchChromium();
    tenant = await createTenant(server.url, server.inbox, 'ai');
    // What the member's checks look at: an agent and a document of the tenant (made over the API).
    const seeded = await tenant.admin.post('/api/v1/ai/agents', { name: 'Seeded agent', systemPrompt: 'Help.' });
    expect(seeded.status).toBe(201);
    const doc = await tenant.admin.post('/api/v1/ai/knowledge/documents', {
      title: 'Seeded doc',
      category: 'shipping',
      content: '# Shipping\n\nWe ship worldwide within five working days.',
    });
    expect(doc.status).toBe(201);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('builds an agent on an uploaded document, searches it, and answers from it in the widget’s live preview', async () => {
    const { context, page } = await newPage(browser, server.url);
    await signInWithForm(page, tenant.admin.email, PASSWORD);

    await page.goto('/ai/agents');
    const newAgent = page.getByRole('form', { name: 'New agent' });
    await newAgent.getByLabel('Name').fill('Returns helper');
    await newAgent.getByLabel('Knowledge categories').fill('returns');
    await newAgent.getByRole('button', { name: 'Create agent' }).click();
    // Admins get the sharing controls on their own agents.
    const returnsHelper = main(page).getByRole('listitem').filter({ hasText: 'Returns helper' });
    await returnsHelper.getByRole('button', { name: 'Sharing' }).click();
    await page.getByRole('form', { name: 'Sharing of Returns helper' }).getByLabel('Global: every tenant may use it').waitFor();
    await screenshot(page, 'ai-agents');

    await page.getByRole('navigation', { name: 'AI assistant' }).getByRole('link', { name: 'Knowledge base' }).click();
    const uploadForm = page.getByRole('form', { name: 'Upload a file' });
    await uploadForm
      .getByLabel('File')
      .setInputFiles({ name: 'returns-policy.md', mimeType: 'text/markdown', buffer: Buffer.from(RETURNS_POLICY) });
    await uploadForm.getByLabel('Category').fill('returns');
    await uploadForm.getByRole('button', { name: 'Upload' }).click();
    await uploadForm.getByText('returns-policy added.').waitFor();
    const row = main(page).getByRole('row', { name: /returns-policy/ });
    await expect.poll(() => row.getByRole('cell').nth(3).textContent()).toBe('ready');
    expect(await row.getByRole('cell').nth(4).textContent()).toBe('1');
    await row.getByRole('button', { name: 'Re-index' }).waitFor();

    const playground = page.getByRole('form', { name: 'Search playground' });
    await playground.getByLabel('Question').fill('refund');
    await playground.getByRole('button', { name: 'Search' }).click();
    const results = page.getByRole('region', { name: 'Search results' });
    await results.getByText('returns-policy').waitFor();
    // The snippet's highlight is a real <mark> element, not escaped markup.
    expect((await results.locator('mark').first().textContent())?.toLowerCase()).toContain('refund');
    expect(await results.textContent()).not.toContain('<mark>');
    await screenshot(page, 'ai-knowledge-search');

    await page.goto('/ai/widgets');
    const newWidget = page.getByRole('form', { name: 'New widget' });
    await newWidget.getByLabel('Name').fill('Returns chat');
    await newWidget.getByLabel('Agent').selectOption({ label: 'Returns helper' });
    await newWidget.getByLabel('Greeting').fill('Hi! Ask me about returns.');
    await newWidget.getByLabel('Main colour').fill('#0f766e');
    await newWidget.getByRole('button', { name: 'Create widget' }).click();
    await page.waitForURL(/\/ai\/widgets\/[0-9a-f-]{36}$/);
    const snippet = await page.getByTestId('embed-snippet').textContent();
    expect(snippet).toMatch(
      /<script src="http:\/\/127\.0\.0\.1:\d+\/widget\.js" data-palisade-widget="pk_live_\w+" async><\/script>/,
    );

    // The dashboard's own origin is not allowed yet: the preview says so and offers to add it.
    const host = new URL(server.url).host;
    await page.getByRole('button', { name: `Allow ${host} for the preview` }).click();
    const preview = page.frameLocator('iframe[title="Live preview of Returns chat"]');
    await preview.getByText('Hi! Ask me about returns.').waitFor();
    await preview.getByLabel('Your message').fill('Can I return an item after 30 days?');
    await preview.getByRole('button', { name: 'Send' }).click();
    const answer = preview.locator('.msg.assistant').last();
    await expect.poll(() => answer.textContent(), { timeout: 20_000 }).toContain('within 30 days of delivery');
    expect(await answer.textContent()).toContain('Offline assistant');
    await expect.poll(() => preview.locator('.sources').last().textContent()).toContain('returns-policy');
    await screenshot(page, 'ai-widget-preview');

    // The preview's chat is a real visitor conversation of this widget.
    const [conversations] = await server.ownerQuery<{ n: number }>(
      'select count(*)::int as n from app.ai_conversations where tenant_id = $1 and widget_id is not null',
      [tenant.id],
    );
    expect(conversations?.n).toBe(1);
    await context.close();
  });

  it('chats with an agent from the dashboard, streamed over SSE, with the sources in the transcript', async () => {
    const agent = await tenant.admin.post('/api/v1/ai/agents', {
      name: 'Shipping helper',
      systemPrompt: 'Answer shipping questions.',
      knowledgeCategories: ['shipping'],
    });
    expect(agent.status).toBe(201);
    const { context, page } = await newPage(browser, server.url);
    await signInWithForm(page, tenant.admin.email, PASSWORD);
    await page.goto('/ai/agents');
    await page.getByRole('button', { name: 'Chat with Shipping helper' }).click();
    await page.waitForURL(/\/ai\/conversations\/[0-9a-f-]{36}$/);
    await page.getByLabel('Your question').fill('How fast do you ship?');
    const stream = page.waitForResponse((r) => r.url().endsWith('/messages/stream'));
    await page.getByRole('button', { name: 'Send' }).click();
    expect((await stream).headers()['content-type']).toContain('text/event-stream');
    const transcript = page.getByRole('list', { name: 'Transcript' });
    const answer = transcript.locator('.message.assistant .message-body').last();
    await expect.poll(() => answer.textContent()).toContain('within five working days');
    await transcript.getByText('Sources (1)').click();
    expect((await transcript.locator('mark').first().textContent())?.toLowerCase()).toContain('ship');
    await screenshot(page, 'ai-conversation');
    await context.close();
  });

  it('runs a meeting without LiveKit, then charts its cost against the budget and handles the alert', async () => {
    const { context, page } = await newPage(browser, server.url);
    await signInWithForm(page, tenant.admin.email, PASSWORD);
    await page.goto('/ai/meetings');
    const newMeeting = page.getByRole('form', { name: 'New meeting' });
    await newMeeting.getByLabel('Title').fill('Weekly sync');
    await newMeeting.getByRole('button', { name: 'Create meeting' }).click();
    const meeting = main(page).getByRole('listitem').filter({ hasText: 'Weekly sync' });
    await meeting.getByRole('button', { name: 'Start' }).click();
    await meeting.getByText('live', { exact: true }).waitFor();
    await meeting.getByRole('button', { name: 'Join' }).click();
    await meeting.getByRole('alert').getByText('Meetings are not set up on this server.').waitFor();
    await screenshot(page, 'ai-meeting-no-livekit');
    await meeting.getByRole('button', { name: 'End' }).click();
    await meeting.getByText(/Ended: 1 participant-minutes recorded/).waitFor();

    // One participant-minute of LiveKit at the default price: $0.0005.
    await page.goto('/ai/costs');
    const chart = page.getByTestId('costs-chart-day');
    await expect.poll(() => chart.getAttribute('aria-label')).toContain('$0.0005 in total');
    const budget = page.getByRole('form', { name: 'Budget settings' });
    await budget.getByLabel('Monthly limit (USD)').fill('0.01');
    await budget.getByLabel('Alert thresholds (%)').fill('1, 50');
    await budget.getByRole('button', { name: 'Save budget' }).click();
    await page.getByTestId('budget-status').getByText('$0.0005 of $0.01 spent this month (5 %).').waitFor();
    // The new limit puts this month over the 1 % threshold at once: an alert, which an admin handles.
    const alert = main(page).getByRole('row', { name: /1 % reached/ });
    await alert.getByRole('button', { name: 'Acknowledge' }).click();
    await alert.getByRole('cell', { name: 'acknowledged' }).waitFor();
    await alert.getByRole('button', { name: 'Resolve' }).click();
    await alert.getByRole('cell', { name: 'resolved' }).waitFor();
    await screenshot(page, 'ai-costs');

    await page.goto('/');
    await page.getByTestId('budget-status').getByText('$0.0005 of $0.01 spent this month (5 %).').waitFor();
    await expect.poll(() => page.getByTestId('costs-chart-day').getAttribute('aria-label')).toContain('$0.0005 in total');
    await screenshot(page, 'overview-costs');
    await context.close();
  });

  it('shows a member the AI screens without the admin-only actions, and the catalog another tenant shares', async () => {
    // The owner's second tenant shares an agent with every tenant.
    const other = await tenant.owner.post('/api/v1/tenants', { name: 'Partner', slug: uniqueSlug('partner') });
    expect(other.status).toBe(201);
    const headers = { 'x-tenant-id': other.body.id as string };
    const shared = await tenant.owner.request(
      'POST',
      '/api/v1/ai/agents',
      { name: 'Partner concierge', systemPrompt: 'Be kind.' },
      headers,
    );
    expect(shared.status).toBe(201);
    const sharing = await tenant.owner.request(
      'PUT',
      `/api/v1/ai/agents/${shared.body.id}/sharing`,
      { sharing: 'global' },
      headers,
    );
    expect(sharing.status).toBe(200);

    const { context, page } = await newPage(browser, server.url);
    await signInWithForm(page, tenant.member.email, PASSWORD);
    await page.goto('/ai/agents');
    await main(page).getByText('Seeded agent').first().waitFor();
    // Members may create and change agents, but only admins share them.
    await page.getByRole('form', { name: 'New agent' }).waitFor();
    await main(page).getByRole('button', { name: 'Edit' }).first().waitFor();
    await absent(main(page).getByRole('button', { name: 'Sharing' }));
    // The shared catalog: usable (chat, widgets), never changeable.
    const catalog = page.getByRole('region', { name: 'Shared with you' });
    const concierge = catalog.getByRole('listitem').filter({ hasText: 'Partner concierge' });
    await concierge.getByRole('button', { name: 'Chat with Partner concierge' }).waitFor();
    await concierge.getByRole('link', { name: 'Use in a widget' }).waitFor();
    await absent(concierge.getByRole('button', { name: 'Edit' }));
    await absent(concierge.getByRole('button', { name: 'Delete' }));
    await screenshot(page, 'ai-member-agents');

    await page.goto('/ai/knowledge');
    await main(page)
      .getByRole('row', { name: /Seeded doc/ })
      .waitFor();
    await absent(page.getByRole('button', { name: 'Re-index' }));
    await absent(page.getByRole('button', { name: 'Re-index stale documents' }));

    await page.goto('/ai/costs');
    await page.getByTestId('budget-status').waitFor();
    await absent(page.getByRole('form', { name: 'Budget settings' }));
    await absent(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API keys' }));
    await screenshot(page, 'ai-member-costs');
    await context.close();
  });
});
