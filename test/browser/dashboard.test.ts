import type { Browser, Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiClient, PASSWORD, signUp, uniqueEmail, uniqueSlug } from '../support/client.ts';
import { startTestServer, type TestServer } from '../support/harness.ts';
import { browserSuites, buildWebOnce, launchChromium, newPage, screenshot, signInWithForm } from './support.ts';

/** Nothing matches, checked until a bounded timeout (the page may still be settling). */
async function absent(locator: Locator): Promise<void> {
  await expect.poll(() => locator.count(), { timeout: 5_000 }).toBe(0);
}

const run = browserSuites('browser tests of the dashboard');

/**
 * The dashboard in a real browser (headless chromium through playwright-core) against a real server:
 * signing in, switching tenants, live updates confined to one tenant, and inviting a member.
 */
describe.runIf(run)('dashboard in a browser', () => {
  let server: TestServer;
  let browser: Browser;
  let owner: ApiClient;
  let member: ApiClient;
  let stranger: ApiClient;
  const tenantA = { id: '', name: `Acme ${uniqueSlug('a')}` };
  const tenantA2 = { id: '', name: `Second ${uniqueSlug('a2')}` };
  const tenantB = { id: '', name: `Other ${uniqueSlug('b')}` };

  beforeAll(async () => {
    await buildWebOnce();
    server = await startTestServer('pglite');
    browser = await launchChromium();
    owner = await signUp(server.url, 'owner', 'Olivia Owner');
    const a = await owner.post('/api/v1/tenants', { name: tenantA.name, slug: uniqueSlug('acme') });
    tenantA.id = a.body.id;
    const a2 = await owner.post('/api/v1/tenants', { name: tenantA2.name, slug: uniqueSlug('second') });
    tenantA2.id = a2.body.id;
    // The owner's session starts in tenant A.
    owner.tenantHeader = tenantA.id;
    await owner.post('/api/v1/tenants/switch', { tenantId: tenantA.id });
    member = await signUp(server.url, 'member', 'Max Member');
    await owner.post('/api/v1/invitations', { email: member.email, role: 'member' });
    const accepted = await member.post('/api/v1/invitations/accept', { token: await server.inbox.tokenFor(member.email) });
    expect(accepted.status).toBe(200);
    stranger = await signUp(server.url, 'stranger', 'Stella Stranger');
    const b = await stranger.post('/api/v1/tenants', { name: tenantB.name, slug: uniqueSlug('other') });
    tenantB.id = b.body.id;
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('signs in with the form and lands on the active tenant overview', async () => {
    const { context, page } = await newPage(browser, server.url);
    await page.goto('/');
    await page.waitForURL(/\/sign-in\?next=/);
    await screenshot(page, 'sign-in');
    await page.getByLabel('Email').fill(owner.email);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: tenantA.name }).waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API keys' }).waitFor();
    await screenshot(page, 'overview');
    // The language picker translates the dashboard (German), and the choice survives a reload.
    await page.getByLabel('Language').selectOption('de');
    await page.getByRole('navigation', { name: 'Hauptmenü' }).getByRole('link', { name: 'Übersicht' }).waitFor();
    await page.reload();
    await page.getByRole('button', { name: 'Abmelden' }).waitFor();
    await screenshot(page, 'overview-german');
    await context.close();
  });

  it('switches tenant with the switcher, and shows only that tenant’s data', async () => {
    await owner.post('/api/v1/crm/contacts', { name: 'Only In Acme' });
    const { context, page } = await newPage(browser, server.url);
    await signInWithForm(page, owner.email, PASSWORD);
    await page.goto('/crm/contacts');
    await page.getByRole('link', { name: 'Only In Acme' }).waitFor();
    await page.getByLabel('Tenant').selectOption({ label: tenantA2.name });
    await page.getByText('No contacts yet.').waitFor();
    await absent(page.getByRole('link', { name: 'Only In Acme' }));
    await page.goto('/');
    await page.getByRole('heading', { level: 1, name: tenantA2.name }).waitFor();
    await screenshot(page, 'switched-tenant');
    // Back again: the first tenant's contact is there.
    await page.getByLabel('Tenant').selectOption({ label: tenantA.name });
    await page.getByRole('heading', { level: 1, name: tenantA.name }).waitFor();
    await context.close();
  });

  it('shows a new contact live in another context of the same tenant, never in another tenant', async () => {
    const creator = await newPage(browser, server.url);
    const watcher = await newPage(browser, server.url);
    const outsider = await newPage(browser, server.url);
    await signInWithForm(creator.page, owner.email, PASSWORD);
    await signInWithForm(watcher.page, member.email, PASSWORD);
    await signInWithForm(outsider.page, stranger.email, PASSWORD);
    for (const { page } of [creator, watcher, outsider]) {
      await page.goto('/crm/contacts');
      await page.locator('[data-realtime="live"]').waitFor();
    }
    // A member sees no admin actions.
    await absent(watcher.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API keys' }));
    await watcher.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Members' }).waitFor();

    const name = `Live Contact ${uniqueSlug('c')}`;
    const form = creator.page.getByRole('form', { name: 'New contact' });
    await form.getByLabel('Name').fill(name);
    await form.getByLabel('Email').fill(uniqueEmail('live'));
    await form.getByRole('button', { name: 'Add contact' }).click();
    await creator.page.getByRole('link', { name }).waitFor();
    // The watcher did nothing: the realtime event refreshed its list.
    await watcher.page.getByRole('link', { name }).waitFor();
    await screenshot(watcher.page, 'live-contact-same-tenant');

    // The other tenant's context got no event: another event of its own arrives, and the contact still is not there.
    await stranger.post('/api/v1/crm/contacts', { name: 'Stranger Own Contact' });
    await outsider.page.getByRole('link', { name: 'Stranger Own Contact' }).waitFor();
    await absent(outsider.page.getByRole('link', { name }));
    await outsider.page.reload();
    await outsider.page.getByRole('link', { name: 'Stranger Own Contact' }).waitFor();
    await absent(outsider.page.getByRole('link', { name }));
    await screenshot(outsider.page, 'live-contact-other-tenant');
    for (const c of [creator, watcher, outsider]) await c.context.close();
  });

  it('invites a member who signs up and accepts the invitation in another context', async () => {
    const admin = await newPage(browser, server.url);
    await signInWithForm(admin.page, owner.email, PASSWORD);
    await admin.page.goto('/members');
    const email = uniqueEmail('invitee');
    const invite = admin.page.getByRole('form', { name: 'Invite someone' });
    await invite.getByLabel('Email').fill(email);
    await invite.getByLabel('Role').selectOption('admin');
    await invite.getByRole('button', { name: 'Send invitation' }).click();
    await admin.page.getByRole('cell', { name: email }).waitFor();
    await screenshot(admin.page, 'invitation-sent');

    const { match } = await server.inbox.waitFor(email, /(\/invitations\/accept\?token=[A-Za-z0-9_-]+)/);
    const invitee = await newPage(browser, server.url);
    await invitee.page.goto(match[1] as string);
    await invitee.page.waitForURL(/\/sign-in\?next=/);
    await invitee.page.getByRole('link', { name: 'Create an account' }).click();
    await invitee.page.getByLabel('Name').fill('Ivy Invitee');
    await invitee.page.getByLabel('Email').fill(email);
    await invitee.page.getByLabel('Password').fill(PASSWORD);
    await invitee.page.getByRole('button', { name: 'Create account' }).click();
    await invitee.page.waitForURL(/\/invitations\/accept\?token=/);
    await invitee.page.getByRole('button', { name: 'Accept invitation' }).click();
    await invitee.page.getByRole('heading', { level: 1, name: tenantA.name }).waitFor();
    // An admin now: the admin menu is there.
    await invitee.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API keys' }).waitFor();
    await screenshot(invitee.page, 'invitation-accepted');

    // The inviter's member list shows the new member (live, from the member.created event).
    await admin.page.getByRole('cell', { name: email }).waitFor();
    await admin.page.reload();
    await admin.page.getByRole('row', { name: /Ivy Invitee/ }).waitFor();
    await admin.page.getByText('No pending invitations.').waitFor();
    for (const c of [admin, invitee]) await c.context.close();
  });
});
