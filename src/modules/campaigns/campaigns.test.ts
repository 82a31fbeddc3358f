import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ApiClient, apiKeyClient, createTenant, type TenantFixture, uniqueEmail } from '../../../test/support/client.ts';
import { describeEachBackend, startTestServer, type TestServer } from '../../../test/support/harness.ts';
import { waitFor } from '../../../test/support/wait.ts';
import { render, unknownVariables, variablesOf } from './render.ts';

it('finds unknown template variables and renders known ones', () => {
  expect(unknownVariables('Hi {{ firstName }}, {{nope}} {{company}} {{nope}} {{}}')).toEqual(['nope', '']);
  const vars = variablesOf({ name: 'Ada King Lovelace', email: 'a@x.io', phone: null, title: null, company: 'ACME' }, 'U');
  expect(vars).toMatchObject({ firstName: 'Ada', lastName: 'King Lovelace', company: 'ACME', phone: '', unsubscribeUrl: 'U' });
  expect(render('Hi {{firstName}} of {{ company }}: {{unsubscribeUrl}}', vars)).toBe('Hi Ada of ACME: U');
});

const poll = <T>(read: () => Promise<T>, done: (value: T) => boolean, what: string) => waitFor(what, read, done);

describeEachBackend('campaigns', (backend) => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer(backend, { JOBS_POLL_MS: '50' });
  });
  afterAll(() => t?.close());

  async function contact(client: ApiClient, name: string, email: string | null = uniqueEmail('c')): Promise<string> {
    const res = await client.post('/api/v1/crm/contacts', email ? { name, email } : { name });
    expect(res.status).toBe(201);
    return res.body.id as string;
  }

  async function group(client: ApiClient, contactIds: string[]): Promise<string> {
    const res = await client.post('/api/v1/campaigns/groups', { name: 'Group', description: 'people' });
    expect(res.status).toBe(201);
    const added = await client.post(`/api/v1/campaigns/groups/${res.body.id}/members`, { contactIds });
    expect(added.status).toBe(200);
    return res.body.id as string;
  }

  async function template(client: ApiClient, channel: string, body: string, subject?: string): Promise<string> {
    const res = await client.post('/api/v1/campaigns/templates', { name: 'T', channel, body, subject });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id as string;
  }

  async function campaign(client: ApiClient, templateId: string, groupIds: string[], extra: object = {}) {
    const res = await client.post('/api/v1/campaigns', { name: 'Spring', templateId, groupIds, ...extra });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.status).toBe('draft');
    return res.body.id as string;
  }

  /** Holds every message of the tenant back: the worker finds the tenant's limit reached. */
  const throttle = (a: TenantFixture, perSecond: number) =>
    a.owner.patch('/api/v1/tenants/current', { settings: { campaignMessagesPerSecond: perSecond } });

  it('refuses unknown template variables and an email without subject, and previews for a contact', async () => {
    const a = await createTenant(t.url, t.inbox, 'tpl');
    const bad = await a.member.post('/api/v1/campaigns/templates', {
      name: 'Bad',
      channel: 'log',
      body: 'Hello {{firstName}} {{favouriteColour}}',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_FAILED');
    expect(JSON.stringify(bad.body.error.details)).toContain('favouriteColour');
    const noSubject = await a.member.post('/api/v1/campaigns/templates', { name: 'E', channel: 'email', body: 'x' });
    expect(noSubject.status).toBe(400);
    const badChannel = await a.member.post('/api/v1/campaigns/templates', { name: 'E', channel: 'fax', body: 'x' });
    expect(badChannel.status).toBe(400);

    const id = await template(
      a.member,
      'email',
      'Dear {{firstName}} {{lastName}} at {{company}}. {{unsubscribeUrl}}',
      'Hi {{name}}',
    );
    const patched = await a.member.patch(`/api/v1/campaigns/templates/${id}`, { subject: 'Hi {{unknownThing}}' });
    expect(patched.status).toBe(400);
    const company = await a.member.post('/api/v1/crm/companies', { name: 'Initech' });
    const email = uniqueEmail('peter');
    const person = await a.member.post('/api/v1/crm/contacts', { name: 'Peter Gibbons', email, companyId: company.body.id });
    const preview = await a.member.get(`/api/v1/campaigns/templates/${id}/preview?contactId=${person.body.id}`);
    expect(preview.status).toBe(200);
    expect(preview.body.subject).toBe('Hi Peter Gibbons');
    expect(preview.body.body).toMatch(/^Dear Peter Gibbons at Initech\. http:\/\/127\.0\.0\.1:\d+\/unsubscribe\?/);
    expect(preview.body.to).toBe(email);
    const overTrpc = await a.member.trpc('query', 'campaigns.templates.preview', { id, contactId: person.body.id });
    expect(overTrpc.body.result.data.subject).toBe('Hi Peter Gibbons');

    // Another tenant's contact cannot be previewed.
    const b = await createTenant(t.url, t.inbox, 'tplb');
    const foreign = await b.member.get(`/api/v1/campaigns/templates/${id}/preview?contactId=${person.body.id}`);
    expect(foreign.status).toBe(404);
  });

  it('groups count members, add and remove in bulk, and refuse contacts of another tenant', async () => {
    const [a, b] = await Promise.all([createTenant(t.url, t.inbox, 'grp'), createTenant(t.url, t.inbox, 'grpb')]);
    const ids = [await contact(a.member, 'One'), await contact(a.member, 'Two'), await contact(a.member, 'Three')];
    const created = await a.member.post('/api/v1/campaigns/groups', { name: 'VIP' });
    const gid = created.body.id as string;
    const add = await a.member.post(`/api/v1/campaigns/groups/${gid}/members`, { contactIds: [...ids, ids[0]] });
    expect(add.body).toEqual({ changed: 3, memberCount: 3 });
    const again = await a.member.post(`/api/v1/campaigns/groups/${gid}/members`, { contactIds: ids });
    expect(again.body).toEqual({ changed: 0, memberCount: 3 });
    const removed = await a.member.post(`/api/v1/campaigns/groups/${gid}/members/remove`, { contactIds: [ids[0]] });
    expect(removed.body).toEqual({ changed: 1, memberCount: 2 });
    expect((await a.member.get(`/api/v1/campaigns/groups/${gid}`)).body.memberCount).toBe(2);

    const bGroup = await b.member.post('/api/v1/campaigns/groups', { name: 'Theirs' });
    const smuggle = await b.member.post(`/api/v1/campaigns/groups/${bGroup.body.id}/members`, { contactIds: [ids[1]] });
    expect(smuggle.status).toBe(422);
    const [row] = await t.ownerQuery<{ n: number }>(
      'select count(*)::int as n from app.campaign_group_members where contact_id = $1',
      [ids[1]],
    );
    expect(row?.n).toBe(1);
    // Nor may B's campaign target A's group or template.
    const aTemplate = await template(a.member, 'log', 'hi');
    const bTemplate = await template(b.member, 'log', 'hi');
    expect(
      (await b.member.post('/api/v1/campaigns', { name: 'x', templateId: aTemplate, groupIds: [bGroup.body.id] })).status,
    ).toBe(422);
    expect((await b.member.post('/api/v1/campaigns', { name: 'x', templateId: bTemplate, groupIds: [gid] })).status).toBe(422);
  });

  it('allows only valid transitions (409 INVALID_TRANSITION otherwise), and a cancel skips what was not sent', async () => {
    const a = await createTenant(t.url, t.inbox, 'trn');
    expect((await throttle(a, 0)).status).toBe(200);
    const gid = await group(a.member, [await contact(a.member, 'Ann'), await contact(a.member, 'Bob')]);
    const id = await campaign(a.member, await template(a.member, 'log', 'Hello {{name}}'), [gid]);
    const act = (action: string) => a.member.post(`/api/v1/campaigns/${id}/${action}`, {});
    const refused = async (action: string, from: string) => {
      const res = await act(action);
      expect(res.status, `${action} from ${from}`).toBe(409);
      expect(res.body.error.code).toBe('INVALID_TRANSITION');
      expect((await a.member.get(`/api/v1/campaigns/${id}`)).body.status).toBe(from);
    };
    await refused('pause', 'draft');
    await refused('resume', 'draft');
    const started = await act('start');
    expect(started.status).toBe(200);
    expect(started.body.status).toBe('running');
    expect(started.body.counts).toMatchObject({ total: 2 });
    await refused('start', 'running');
    await refused('resume', 'running');
    const update = await a.member.patch(`/api/v1/campaigns/${id}`, { name: 'renamed' });
    expect(update.status).toBe(409);
    expect((await act('pause')).body.status).toBe('paused');
    await refused('pause', 'paused');
    await refused('start', 'paused');
    expect((await act('resume')).body.status).toBe('running');
    const cancelled = await act('cancel');
    expect(cancelled.body.status).toBe('cancelled');
    expect(cancelled.body.counts).toMatchObject({ total: 2, skipped: 2, sent: 0 });
    for (const action of ['start', 'pause', 'resume', 'cancel']) await refused(action, 'cancelled');
    const messages = await a.member.get(`/api/v1/campaigns/messages?campaignId=${id}`);
    expect(messages.body.items).toEqual([]);
    const events = await t.ownerQuery<{ type: string }>(
      "select type from app.events where tenant_id = $1 and type like 'campaign.%' order by occurred_at, id",
      [a.id],
    );
    expect(events.map((e) => e.type)).toEqual([
      'campaign.created',
      'campaign.started',
      'campaign.paused',
      'campaign.resumed',
      'campaign.cancelled',
    ]);
    const audit = await t.ownerQuery<{ action: string }>(
      "select action from app.audit_log where tenant_id = $1 and action like 'campaign.%' order by created_at",
      [a.id],
    );
    expect(audit.map((r) => r.action)).toEqual(['campaign.started', 'campaign.cancelled']);

    // A scheduled start waits for its time; cancel works from there too.
    const later = await campaign(a.member, await template(a.member, 'log', 'x'), [gid], {
      scheduledAt: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expect((await a.member.post(`/api/v1/campaigns/${later}/start`, {})).body.status).toBe('scheduled');
    expect((await a.member.post(`/api/v1/campaigns/${later}/pause`, {})).status).toBe(409);
    expect((await a.member.post(`/api/v1/campaigns/${later}/cancel`, {})).body.status).toBe('cancelled');
  });

  it('snapshots each contact once across groups, without opted-out or deleted contacts', async () => {
    const a = await createTenant(t.url, t.inbox, 'snap');
    await throttle(a, 0);
    const [c1, c2, c3, c4, c5] = [
      await contact(a.member, 'C1'),
      await contact(a.member, 'C2'),
      await contact(a.member, 'C3'),
      await contact(a.member, 'C4'),
      await contact(a.member, 'C5'),
    ] as [string, string, string, string, string];
    const g1 = await group(a.member, [c1, c2, c3]);
    const g2 = await group(a.member, [c2, c3, c4, c5]);
    const optOut = await a.member.post('/api/v1/campaigns/opt-outs', { contactId: c4, channel: 'log' });
    expect(optOut.status).toBe(201);
    // Opting out of another channel does not count for this one.
    await a.member.post('/api/v1/campaigns/opt-outs', { contactId: c1, channel: 'email' });
    expect((await a.member.delete(`/api/v1/crm/contacts/${c5}`)).status).toBe(200);
    const id = await campaign(a.member, await template(a.member, 'log', 'Hi {{firstName}}'), [g1, g2]);
    const started = await a.member.post(`/api/v1/campaigns/${id}/start`, {});
    expect(started.body.counts).toMatchObject({ total: 3, pending: 3 });
    const rows = await t.ownerQuery<{ contact_id: string }>(
      'select contact_id from app.campaign_recipients where campaign_id = $1 order by contact_id',
      [id],
    );
    expect(rows.map((r) => r.contact_id)).toEqual([c1, c2, c3].sort());
    const jobs = await t.ownerQuery<{ n: number }>(
      "select count(*)::int as n from app.jobs where kind = 'send_campaign_message' and tenant_id = $1",
      [a.id],
    );
    expect(jobs[0]?.n).toBe(3);
    // The throttle of 0 per second holds everything back.
    const messages = await a.member.get(`/api/v1/campaigns/messages?campaignId=${id}`);
    expect(messages.body.items).toEqual([]);

    // An opt-out made after the snapshot is honoured at send time.
    await a.member.post('/api/v1/campaigns/opt-outs', { contactId: c2, channel: 'log' });
    const optOuts = await a.member.get(`/api/v1/campaigns/opt-outs?contactId=${c4}`);
    expect(optOuts.body.items.map((o: { id: string }) => o.id)).toEqual([optOut.body.id]);
    await throttle(a, 100);
    const done = await poll(
      () => a.member.get(`/api/v1/campaigns/${id}`),
      (res) => res.body.status === 'completed',
      'campaign completed',
    );
    expect(done.body.counts).toMatchObject({ total: 3, sent: 2, skipped: 1, pending: 0, sending: 0 });
    const sent = await a.member.get(`/api/v1/campaigns/messages?campaignId=${id}&status=sent`);
    expect(sent.body.items.map((m: { contactId: string }) => m.contactId).sort()).toEqual([c1, c3].sort());
  });

  it('skips a contact deleted after the start, at send time', async () => {
    const a = await createTenant(t.url, t.inbox, 'gone');
    await throttle(a, 0);
    const [kept, deleted, alsoKept] = [
      await contact(a.member, 'Kept'),
      await contact(a.member, 'Deleted'),
      await contact(a.member, 'Also Kept'),
    ];
    const id = await campaign(a.member, await template(a.member, 'log', 'Hi {{firstName}}'), [
      await group(a.member, [kept, deleted, alsoKept] as string[]),
    ]);
    expect((await a.member.post(`/api/v1/campaigns/${id}/start`, {})).body.counts).toMatchObject({ total: 3, pending: 3 });
    expect((await a.member.delete(`/api/v1/crm/contacts/${deleted}`)).status).toBe(200);
    await throttle(a, 100);
    const done = await poll(
      () => a.member.get(`/api/v1/campaigns/${id}`),
      (res) => res.body.status === 'completed',
      'campaign completed',
    );
    expect(done.body.counts).toMatchObject({ total: 3, sent: 2, skipped: 1 });
    const skipped = await t.ownerQuery<{ contact_id: string; last_error: string }>(
      "select contact_id, last_error from app.campaign_recipients where campaign_id = $1 and status = 'skipped'",
      [id],
    );
    expect(skipped).toEqual([{ contact_id: deleted, last_error: 'contact deleted' }]);
    const messaged = await t.ownerQuery<{ contact_id: string }>(
      'select contact_id from app.campaign_messages where campaign_id = $1',
      [id],
    );
    expect(messaged.map((m) => m.contact_id).sort()).toEqual([kept, alsoKept].sort());
  });

  /** A tenant whose jobs wait behind a throttle of 0, with one running and one scheduled campaign of two contacts. */
  async function tenantWithWaitingCampaigns(label: string) {
    const a = await createTenant(t.url, t.inbox, label);
    await throttle(a, 0);
    const gid = await group(a.member, [await contact(a.member, 'Ann'), await contact(a.member, 'Bob')]);
    const running = await campaign(a.member, await template(a.member, 'log', 'Hello {{firstName}}'), [gid]);
    expect((await a.member.post(`/api/v1/campaigns/${running}/start`, {})).body.status).toBe('running');
    const scheduled = await campaign(a.member, await template(a.member, 'log', 'Later {{firstName}}'), [gid], {
      scheduledAt: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expect((await a.member.post(`/api/v1/campaigns/${scheduled}/start`, {})).body.status).toBe('scheduled');
    return { a, running, scheduled };
  }

  /**
   * Takes the throttle off a deleted tenant and makes its scheduled start due now (owner statements: its
   * members cannot any more), so that anything still willing to send does; then waits for its jobs to end.
   */
  async function releaseAndDrain(tenantId: string) {
    await t.ownerQuery(
      `update app.tenants set settings = settings || '{"campaignMessagesPerSecond": 100000}'::jsonb where id = $1`,
      [tenantId],
    );
    await t.ownerQuery("update app.jobs set run_at = now() where tenant_id = $1 and kind = 'start_scheduled_campaign'", [
      tenantId,
    ]);
    await poll(
      () =>
        t.ownerQuery<{ n: number }>(
          "select count(*)::int as n from app.jobs where tenant_id = $1 and kind in ('send_campaign_message', 'start_scheduled_campaign')",
          [tenantId],
        ),
      (rows) => rows[0]?.n === 0,
      "the deleted tenant's campaign jobs drained",
    );
  }

  /** How many messages the tenant's campaigns sent, and each recipient's outcome. */
  async function deliveryOutcome(tenantId: string) {
    const [sent] = await t.ownerQuery<{ n: number }>(
      'select count(*)::int as n from app.campaign_messages where tenant_id = $1',
      [tenantId],
    );
    const recipients = await t.ownerQuery<{ campaign_id: string; status: string; last_error: string }>(
      'select campaign_id, status, last_error from app.campaign_recipients where tenant_id = $1',
      [tenantId],
    );
    return { sent: sent?.n, recipients };
  }

  it("cancels a deleted tenant's campaigns with it: nothing sent after the deletion, a scheduled one never starts", async () => {
    const { a, running, scheduled } = await tenantWithWaitingCampaigns('deleted');
    expect((await a.owner.delete(`/api/v1/tenants/current?confirmSlug=${a.slug}`)).status).toBe(200);
    await releaseAndDrain(a.id);

    const { sent, recipients } = await deliveryOutcome(a.id);
    expect(sent).toBe(0);
    const statuses = await t.ownerQuery<{ id: string; status: string; started_at: Date | null }>(
      'select id, status, started_at from app.campaigns where tenant_id = $1',
      [a.id],
    );
    expect(statuses).toHaveLength(2);
    expect(statuses.find((c) => c.id === running)?.status).toBe('cancelled');
    expect(statuses.find((c) => c.id === scheduled)).toMatchObject({ status: 'cancelled', started_at: null });
    expect(recipients).toEqual([
      { campaign_id: running, status: 'skipped', last_error: 'campaign cancelled' },
      { campaign_id: running, status: 'skipped', last_error: 'campaign cancelled' },
    ]);
    // Cancelled as the cancel transition would: audited and emitted, in the deletion's transaction.
    const audit = await t.ownerQuery<{ n: number }>(
      "select count(*)::int as n from app.audit_log where tenant_id = $1 and action = 'campaign.cancelled'",
      [a.id],
    );
    expect(audit[0]?.n).toBe(2);
    const events = await t.ownerQuery<{ type: string; id: string }>(
      "select type, data->>'id' as id from app.events where tenant_id = $1 and type in ('campaign.cancelled', 'tenant.deleted')",
      [a.id],
    );
    const byTypeAndId = (x: { type: string; id: string }, y: { type: string; id: string }) =>
      x.type.localeCompare(y.type) || x.id.localeCompare(y.id);
    expect(events.sort(byTypeAndId)).toEqual(
      [
        { type: 'campaign.cancelled', id: running },
        { type: 'campaign.cancelled', id: scheduled },
        { type: 'tenant.deleted', id: a.id },
      ].sort(byTypeAndId),
    );
  });

  it('refuses to send for a deleted tenant even when its campaign is still running, and never starts its scheduled one', async () => {
    // The state a job can meet without the deletion's cancel: the tenant marked deleted, its campaigns untouched.
    const { a, running, scheduled } = await tenantWithWaitingCampaigns('refused');
    await t.ownerQuery('update app.tenants set deleted_at = now() where id = $1', [a.id]);
    await releaseAndDrain(a.id);

    const { sent, recipients } = await deliveryOutcome(a.id);
    expect(sent).toBe(0);
    expect(recipients).toEqual([
      { campaign_id: running, status: 'skipped', last_error: 'tenant deleted' },
      { campaign_id: running, status: 'skipped', last_error: 'tenant deleted' },
    ]);
    const [notStarted] = await t.ownerQuery<{ status: string; started_at: Date | null }>(
      'select status, started_at from app.campaigns where id = $1',
      [scheduled],
    );
    expect(notStarted).toEqual({ status: 'scheduled', started_at: null });
  });

  it('delivers through the log channel once per recipient, even when jobs are replayed', async () => {
    const a = await createTenant(t.url, t.inbox, 'log');
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push(await contact(a.member, `Person ${i}`, i % 2 ? null : uniqueEmail('log')));
    const id = await campaign(a.member, await template(a.member, 'log', 'Hello {{firstName}}'), [await group(a.member, ids)]);
    await a.member.post(`/api/v1/campaigns/${id}/start`, {});
    const done = await poll(
      () => a.member.get(`/api/v1/campaigns/${id}`),
      (res) => res.body.status === 'completed',
      'campaign completed',
    );
    expect(done.body.counts).toMatchObject({ total: 8, sent: 8 });
    // Replay every recipient's job, as a crashed worker's expired lease or a second worker would.
    await t.ownerQuery(
      "insert into app.jobs (tenant_id, kind, ref_id) select tenant_id, 'send_campaign_message', id from app.campaign_recipients where campaign_id = $1",
      [id],
    );
    await poll(
      () =>
        t.ownerQuery<{ n: number }>(
          "select count(*)::int as n from app.jobs where tenant_id = $1 and kind = 'send_campaign_message'",
          [a.id],
        ),
      (rows) => rows[0]?.n === 0,
      'replayed jobs drained',
    );
    const perContact = await t.ownerQuery<{ contact_id: string; n: number }>(
      'select contact_id, count(*)::int as n from app.campaign_messages where campaign_id = $1 group by contact_id',
      [id],
    );
    expect(perContact.map((r) => r.contact_id).sort()).toEqual([...ids].sort());
    expect(perContact.every((r) => r.n === 1)).toBe(true);
    const history = await a.member.get(`/api/v1/campaigns/messages?campaignId=${id}&limit=100`);
    expect(history.body.items).toHaveLength(8);
    const first = history.body.items[0];
    expect(first).toMatchObject({ direction: 'outbound', channel: 'log', status: 'sent' });
    expect(first.content).toMatch(/^Hello Person$/);
    expect(first.sentAt).not.toBeNull();
    const one = await a.member.get(`/api/v1/campaigns/messages/${first.id}`);
    expect(one.body.id).toBe(first.id);
    // Status reports move forward only.
    const status = (value: string) => a.member.post(`/api/v1/campaigns/messages/${first.id}/status`, { status: value });
    const delivered = await status('delivered');
    expect(delivered.status).toBe(200);
    expect(delivered.body).toMatchObject({ status: 'delivered', readAt: null });
    expect(delivered.body.deliveredAt).not.toBeNull();
    expect((await status('read')).body.status).toBe('read');
    for (const value of ['delivered', 'failed']) {
      const back = await status(value);
      expect(back.status).toBe(409);
      expect(back.body.error.code).toBe('INVALID_TRANSITION');
    }
    expect((await a.member.get(`/api/v1/campaigns/messages/${first.id}`)).body.status).toBe('read');
    const completed = await t.ownerQuery<{ n: number }>(
      "select count(*)::int as n from app.events where tenant_id = $1 and type = 'campaign.completed'",
      [a.id],
    );
    expect(completed[0]?.n).toBe(1);
    // A finished campaign may be deleted, a running one may not.
    expect((await a.member.delete(`/api/v1/campaigns/${id}`)).status).toBe(200);
  });

  it('delivers email over SMTP once per recipient, with an unsubscribe link, skipping contacts without an address', async () => {
    const a = await createTenant(t.url, t.inbox, 'mail');
    const emails = [uniqueEmail('rcpt'), uniqueEmail('rcpt'), uniqueEmail('rcpt')];
    const ids = [
      await contact(a.member, 'Grace Hopper', emails[0]),
      await contact(a.member, 'Alan Turing', emails[1]),
      await contact(a.member, 'Edsger Dijkstra', emails[2]),
      await contact(a.member, 'No Address', null),
    ];
    const tid = await template(a.member, 'email', 'Dear {{firstName}}, our spring offer.', 'Offer for {{name}}');
    const id = await campaign(a.member, tid, [await group(a.member, ids)]);
    const started = await a.member.post(`/api/v1/campaigns/${id}/start`, {});
    expect(started.body.counts.total).toBe(3);
    const { mail } = await t.inbox.waitFor(emails[0] as string, /Dear Grace, our spring offer\./);
    expect(mail.subject).toBe('Offer for Grace Hopper');
    expect(mail.text).toMatch(/Unsubscribe: http:\/\/127\.0\.0\.1:\d+\/unsubscribe\?token=u1\.[A-Za-z0-9_.-]+/);
    await t.inbox.waitFor(emails[1] as string, /Dear Alan/);
    await t.inbox.waitFor(emails[2] as string, /Dear Edsger/);
    const done = await poll(
      () => a.member.get(`/api/v1/campaigns/${id}`),
      (res) => res.body.status === 'completed',
      'campaign completed',
    );
    expect(done.body.counts).toMatchObject({ total: 3, sent: 3, failed: 0 });
    // Replayed jobs send nothing more.
    await t.ownerQuery(
      "insert into app.jobs (tenant_id, kind, ref_id) select tenant_id, 'send_campaign_message', id from app.campaign_recipients where campaign_id = $1",
      [id],
    );
    await poll(
      () =>
        t.ownerQuery<{ n: number }>(
          "select count(*)::int as n from app.jobs where tenant_id = $1 and kind = 'send_campaign_message'",
          [a.id],
        ),
      (rows) => rows[0]?.n === 0,
      'replayed jobs drained',
    );
    for (const email of emails) expect(t.inbox.messages.filter((m) => m.to.includes(email)).length, email).toBe(1);
    const history = await a.member.get(`/api/v1/campaigns/messages?campaignId=${id}&channel=email`);
    expect(history.body.items).toHaveLength(3);
    for (const m of history.body.items) {
      expect(m.status).toBe('sent');
      expect(m.providerMessageId).toBe(`email:${m.id}`);
    }
  });

  it('retries a send interrupted by a crash with the same message: at least once, one duplicate at most', async () => {
    const a = await createTenant(t.url, t.inbox, 'crash');
    const email = uniqueEmail('crash');
    const tid = await template(a.member, 'email', 'Hello {{firstName}}, crash test.', 'Crash');
    const id = await campaign(a.member, tid, [await group(a.member, [await contact(a.member, 'Kim Crash', email)])]);
    await a.member.post(`/api/v1/campaigns/${id}/start`, {});
    await poll(
      () => a.member.get(`/api/v1/campaigns/${id}`),
      (res) => res.body.status === 'completed',
      'campaign completed',
    );
    const [before] = await t.ownerQuery<{ id: string }>('select id from app.campaign_messages where campaign_id = $1', [id]);
    // The state a worker killed after the SMTP server accepted the mail leaves behind, and its job back in the queue.
    await t.ownerQuery("update app.campaigns set status = 'running', finished_at = null where id = $1", [id]);
    await t.ownerQuery("update app.campaign_recipients set status = 'sending', sent_at = null where campaign_id = $1", [id]);
    await t.ownerQuery("update app.campaign_messages set status = 'queued', sent_at = null where campaign_id = $1", [id]);
    await t.ownerQuery(
      "insert into app.jobs (tenant_id, kind, ref_id) select tenant_id, 'send_campaign_message', id from app.campaign_recipients where campaign_id = $1",
      [id],
    );
    const done = await poll(
      () => a.member.get(`/api/v1/campaigns/${id}`),
      (res) => res.body.status === 'completed',
      'campaign completed again',
    );
    expect(done.body.counts).toMatchObject({ total: 1, sent: 1 });
    await poll(
      async () => t.inbox.messages.filter((m) => m.to.includes(email)).length,
      (n) => n === 2,
      'the resend',
    );
    const after = await t.ownerQuery<{ id: string; status: string }>(
      'select id, status from app.campaign_messages where campaign_id = $1',
      [id],
    );
    expect(after).toEqual([{ id: before?.id, status: 'sent' }]);
  });

  it('API keys need the campaigns scopes: read for reads, write for changes', async () => {
    const a = await createTenant(t.url, t.inbox, 'keys');
    const reader = await apiKeyClient(a.admin, { scopes: ['campaigns:read'] });
    expect((await reader.get('/api/v1/campaigns')).status).toBe(200);
    expect((await reader.get('/api/v1/campaigns/groups')).status).toBe(200);
    const write = await reader.post('/api/v1/campaigns/groups', { name: 'nope' });
    expect(write.status).toBe(403);
    expect(write.body.error.code).toBe('INSUFFICIENT_SCOPE');
    const other = await apiKeyClient(a.admin, { scopes: ['crm:write'] });
    expect((await other.get('/api/v1/campaigns/templates')).body.error.code).toBe('INSUFFICIENT_SCOPE');
    const writer = await apiKeyClient(a.admin, { scopes: ['campaigns:write'] });
    const created = await writer.post('/api/v1/campaigns/groups', { name: 'by key' });
    expect(created.status).toBe(201);
    expect((await writer.get(`/api/v1/campaigns/groups/${created.body.id}`)).body.name).toBe('by key');
    const [event] = await t.ownerQuery<{ actor_api_key_id: string | null }>(
      "select actor_api_key_id from app.events where tenant_id = $1 and type = 'campaign_group.created'",
      [a.id],
    );
    expect(event?.actor_api_key_id).toBe(writer.apiKeyId);
  });
});
