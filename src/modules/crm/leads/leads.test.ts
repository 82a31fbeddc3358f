import { afterAll, beforeAll, expect, it } from 'vitest';
import { apiKeyClient, createTenant, type TenantFixture } from '../../../../test/support/client.ts';
import { describeEachBackend, startTestServer, type TestServer } from '../../../../test/support/harness.ts';

interface Stage {
  id: string;
  name: string;
  position: number;
}

describeEachBackend('crm pipelines, leads and activities', (backend) => {
  let t: TestServer;
  let acme: TenantFixture;
  let globex: TenantFixture;

  beforeAll(async () => {
    t = await startTestServer(backend, { WORKER_ENABLED: 'false' });
    [acme, globex] = await Promise.all([createTenant(t.url, t.inbox, 'acme'), createTenant(t.url, t.inbox, 'globex')]);
  });
  afterAll(() => t?.close());

  async function pipeline(name: string) {
    const res = await acme.member.post('/api/v1/crm/pipelines', {
      name,
      stages: [
        { name: 'New', winProbability: 10 },
        { name: 'Proposal', winProbability: 50 },
        { name: 'Won', winProbability: 100, isWon: true },
        { name: 'Lost', isLost: true },
      ],
    });
    expect(res.status).toBe(201);
    return res.body as { id: string; stages: Stage[] };
  }
  const stageNamed = (p: { stages: Stage[] }, name: string) => p.stages.find((s) => s.name === name) as Stage;

  it('creates a pipeline with ordered stages, and reorders, adds and removes stages', async () => {
    const p = await pipeline('Sales');
    expect(p.stages.map((s) => [s.name, s.position])).toEqual([
      ['New', 0],
      ['Proposal', 1],
      ['Won', 2],
      ['Lost', 3],
    ]);
    const added = await acme.member.post(`/api/v1/crm/pipelines/${p.id}/stages`, { name: 'Qualified', position: 1 });
    expect(added.status).toBe(201);
    expect(added.body.stages.map((s: Stage) => s.name)).toEqual(['New', 'Qualified', 'Proposal', 'Won', 'Lost']);
    const moved = await acme.member.patch(`/api/v1/crm/stages/${stageNamed(p, 'Lost').id}`, { position: 0 });
    expect(moved.body.stages.map((s: Stage) => [s.name, s.position])).toEqual([
      ['Lost', 0],
      ['New', 1],
      ['Qualified', 2],
      ['Proposal', 3],
      ['Won', 4],
    ]);
    const both = await acme.member.patch(`/api/v1/crm/stages/${stageNamed(p, 'Won').id}`, { isLost: true });
    expect(both.status).toBe(400);
    const removed = await acme.member.delete(`/api/v1/crm/stages/${stageNamed(added.body, 'Qualified').id}`);
    expect(removed.body.stages.map((s: Stage) => s.position)).toEqual([0, 1, 2, 3]);
    expect((await acme.member.post('/api/v1/crm/pipelines', { name: 'Sales', stages: [{ name: 'x' }] })).status).toBe(409);
  });

  it("moves a lead through stages, records every move in its history, and follows won and lost stages' status", async () => {
    const p = await pipeline('Deals');
    const contact = await acme.member.post('/api/v1/crm/contacts', { name: 'Lead Contact' });
    const created = await acme.member.post('/api/v1/crm/leads', {
      title: 'Big deal',
      pipelineId: p.id,
      contactId: contact.body.id,
      value: 12500.5,
      currency: 'eur',
      expectedCloseDate: '2026-03-31',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      stageId: stageNamed(p, 'New').id,
      status: 'open',
      value: '12500.50',
      currency: 'EUR',
      expectedCloseDate: '2026-03-31',
      closedAt: null,
    });
    const id = created.body.id as string;

    const proposal = await acme.member.post(`/api/v1/crm/leads/${id}/move`, { stageId: stageNamed(p, 'Proposal').id });
    expect(proposal.body.status).toBe('open');
    const key = await apiKeyClient(acme.admin, { scopes: ['crm:write'] });
    const won = await key.post(`/api/v1/crm/leads/${id}/move`, { stageId: stageNamed(p, 'Won').id });
    expect(won.status).toBe(200);
    expect(won.body.status).toBe('won');
    expect(won.body.closedAt).not.toBeNull();

    const history = await acme.member.get(`/api/v1/crm/leads/${id}/history`);
    expect(history.status).toBe(200);
    expect(
      history.body.items.map((h: { fromStageName: string | null; toStageName: string }) => [h.fromStageName, h.toStageName]),
    ).toEqual([
      [null, 'New'],
      ['New', 'Proposal'],
      ['Proposal', 'Won'],
    ]);
    expect(history.body.items[1].actorUserId).toBe(acme.member.userId);
    expect(history.body.items[2]).toMatchObject({ actorUserId: null, actorApiKeyId: key.apiKeyId });

    const events = await t.ownerQuery<{ data: { toStageId: string; status: string } }>(
      `select data from app.events where tenant_id = $1 and type = 'lead.stage_changed' and data->>'id' = $2 order by occurred_at`,
      [acme.id, id],
    );
    expect(events.map((e) => e.data.status)).toEqual(['open', 'won']);

    // Reopening the won stage as an ordinary one reopens its leads.
    await acme.member.patch(`/api/v1/crm/stages/${stageNamed(p, 'Won').id}`, { isWon: false });
    expect((await acme.member.get(`/api/v1/crm/leads/${id}`)).body).toMatchObject({ status: 'open', closedAt: null });

    // A stage of another pipeline is allowed (the lead changes pipeline); another tenant's is not.
    const other = await pipeline('Renewals');
    const across = await acme.member.post(`/api/v1/crm/leads/${id}/move`, { stageId: stageNamed(other, 'Lost').id });
    expect(across.body).toMatchObject({ pipelineId: other.id, status: 'lost' });
    const foreign = await globex.member.post('/api/v1/crm/pipelines', { name: 'Theirs', stages: [{ name: 'Only' }] });
    const refused = await acme.member.post(`/api/v1/crm/leads/${id}/move`, { stageId: foreign.body.stages[0].id });
    expect(refused.status).toBe(422);
    expect((await acme.member.get(`/api/v1/crm/leads/${id}/history`)).body.items).toHaveLength(4);

    // Stages and pipelines that hold leads stay.
    expect((await acme.member.delete(`/api/v1/crm/stages/${stageNamed(other, 'Lost').id}`)).status).toBe(422);
    expect((await acme.member.delete(`/api/v1/crm/pipelines/${other.id}`)).status).toBe(422);
    expect((await acme.member.delete(`/api/v1/crm/leads/${id}`)).status).toBe(200);
    expect(await t.ownerQuery('select 1 from app.crm_lead_stage_history where lead_id = $1', [id])).toEqual([]);
    expect((await acme.member.delete(`/api/v1/crm/pipelines/${other.id}`)).status).toBe(200);
  });

  it('refuses a stage of another pipeline at creation, and a value without a currency', async () => {
    const a = await pipeline('First');
    const b = await pipeline('Second');
    const mismatch = await acme.member.post('/api/v1/crm/leads', { title: 'x', pipelineId: a.id, stageId: b.stages[0]?.id });
    expect(mismatch.status).toBe(422);
    expect(mismatch.body.error.details).toEqual([{ path: 'stageId', message: 'no such stage in this pipeline' }]);
    const noCurrency = await acme.member.post('/api/v1/crm/leads', { title: 'x', pipelineId: a.id, value: '10' });
    expect(noCurrency.status).toBe(400);
    const tooPrecise = await acme.member.post('/api/v1/crm/leads', {
      title: 'x',
      pipelineId: a.id,
      value: '10.001',
      currency: 'USD',
    });
    expect(tooPrecise.body.error.details[0].path).toBe('value');
  });

  it("bulk-updates and bulk-deletes leads with one result per id; another tenant's lead is not found", async () => {
    const p = await pipeline('Bulk');
    const lead = async (body: Record<string, unknown>) => {
      const res = await acme.member.post('/api/v1/crm/leads', { pipelineId: p.id, ...body });
      expect(res.status).toBe(201);
      return res.body.id as string;
    };
    const priced = await lead({ title: 'Priced', value: '100', currency: 'EUR' });
    const unpriced = await lead({ title: 'Unpriced' });
    const theirPipeline = await globex.member.post('/api/v1/crm/pipelines', { name: 'Theirs too', stages: [{ name: 'Only' }] });
    expect(theirPipeline.status).toBe(201);
    const foreignLead = await globex.member.post('/api/v1/crm/leads', { title: 'Not yours', pipelineId: theirPipeline.body.id });
    expect(foreignLead.status).toBe(201);
    const foreign = foreignLead.body.id as string;
    const notFound = { code: 'NOT_FOUND', message: 'Not found.' };

    // A value needs a currency: the lead that has one takes it, the other fails alone.
    const priceUp = await acme.member.post('/api/v1/crm/leads/bulk-update', {
      ids: [priced, unpriced, foreign],
      changes: { value: 250.5, expectedCloseDate: '2031-03-31' },
    });
    expect(priceUp.status).toBe(200);
    expect(priceUp.body.items).toEqual([
      { id: priced, status: 'updated' },
      {
        id: unpriced,
        status: 'failed',
        error: {
          code: 'VALIDATION_FAILED',
          message: 'Some fields are invalid.',
          details: [{ path: 'currency', message: 'required with a value' }],
        },
      },
      { id: foreign, status: 'failed', error: notFound },
    ]);
    expect((await acme.member.get(`/api/v1/crm/leads/${priced}`)).body).toMatchObject({
      value: '250.50',
      currency: 'EUR',
      expectedCloseDate: '2031-03-31',
      stageId: stageNamed(p, 'New').id,
    });
    expect((await acme.member.get(`/api/v1/crm/leads/${unpriced}`)).body).toMatchObject({ value: null, expectedCloseDate: null });
    const [theirs] = await t.ownerQuery<{ expected_close_date: string | null }>(
      'select expected_close_date from app.crm_leads where id = $1',
      [foreign],
    );
    expect(theirs?.expected_close_date).toBeNull();
    const events = await t.ownerQuery<{ data: { id: string; fields: string[] } }>(
      `select data from app.events where tenant_id = $1 and type = 'lead.updated' and data->>'id' in ($2, $3)`,
      [acme.id, priced, unpriced],
    );
    expect(events.map((e) => e.data)).toEqual([{ id: priced, fields: ['value', 'expectedCloseDate'] }]);

    // References are the same for every item: checked once, failing the whole request.
    const foreignOwner = await acme.member.post('/api/v1/crm/leads/bulk-update', {
      ids: [priced, unpriced],
      changes: { ownerUserId: globex.owner.userId },
    });
    expect(foreignOwner.status).toBe(422);
    expect(foreignOwner.body.error.details).toEqual([{ path: 'ownerUserId', message: 'not a member of this tenant' }]);
    // A title names one deal, so a bulk change cannot carry it (it is dropped, leaving no change).
    const retitle = await acme.member.post('/api/v1/crm/leads/bulk-update', { ids: [priced], changes: { title: 'Same' } });
    expect(retitle.status).toBe(400);
    expect(retitle.body.error.details).toEqual([{ path: 'changes', message: 'name at least one change' }]);
    const owned = await acme.member.post('/api/v1/crm/leads/bulk-update', {
      ids: [priced, unpriced],
      changes: { ownerUserId: acme.admin.userId, companyId: null },
    });
    expect(owned.body.items.map((i: { status: string }) => i.status)).toEqual(['updated', 'updated']);
    expect((await acme.member.get(`/api/v1/crm/leads/${unpriced}`)).body.ownerUserId).toBe(acme.admin.userId);

    const removed = await acme.member.post('/api/v1/crm/leads/bulk-delete', { ids: [priced, foreign, priced] });
    expect(removed.body.items).toEqual([
      { id: priced, status: 'deleted' },
      { id: foreign, status: 'failed', error: notFound },
    ]);
    expect((await acme.member.get(`/api/v1/crm/leads/${priced}`)).status).toBe(404);
    expect(await t.ownerQuery('select id from app.crm_lead_stage_history where lead_id = $1', [priced])).toEqual([]);
    expect(await t.ownerQuery('select id from app.crm_leads where id = $1', [foreign])).toHaveLength(1);
    const audit = await acme.admin.get('/api/v1/audit-log?action=lead.bulk_deleted');
    expect(audit.body.items).toHaveLength(1);
    expect(audit.body.items[0]).toMatchObject({ targetType: 'lead', data: { ids: [priced], count: 1 } });
    const deleted = await t.ownerQuery(`select id from app.events where type = 'lead.deleted' and data->>'id' = $1`, [priced]);
    expect(deleted).toHaveLength(1);

    const reader = await apiKeyClient(acme.admin, { scopes: ['crm:read'] });
    const byReader = await reader.post('/api/v1/crm/leads/bulk-delete', { ids: [unpriced] });
    expect(byReader.status).toBe(403);
    expect(byReader.body.error.code).toBe('INSUFFICIENT_SCOPE');
    const writer = await apiKeyClient(acme.admin, { scopes: ['crm:write'] });
    expect((await writer.post('/api/v1/crm/leads/bulk-delete', { ids: [unpriced] })).body.items).toEqual([
      { id: unpriced, status: 'deleted' },
    ]);
    const [byKey] = await t.ownerQuery<{ actor_api_key_id: string }>(
      `select actor_api_key_id from app.audit_log where action = 'lead.bulk_deleted' and data->'ids' ? $1`,
      [unpriced],
    );
    expect(byKey?.actor_api_key_id).toBe(writer.apiKeyId);
  });

  it('keeps a timeline per contact, company and lead', async () => {
    const p = await pipeline('Timeline');
    const company = await acme.member.post('/api/v1/crm/companies', { name: 'Timeline Co' });
    const contact = await acme.member.post('/api/v1/crm/contacts', { name: 'Tim Line', companyId: company.body.id });
    const lead = await acme.member.post('/api/v1/crm/leads', {
      title: 'Timeline deal',
      pipelineId: p.id,
      contactId: contact.body.id,
    });
    const log = async (subject: string, links: Record<string, string>, type = 'note') => {
      const res = await acme.member.post('/api/v1/crm/activities', { type, subject, ...links });
      expect(res.status).toBe(201);
      return res.body as { id: string; authorUserId: string };
    };
    const onCompany = await log('company note', { companyId: company.body.id });
    const onContact = await log('call with Tim', { contactId: contact.body.id }, 'call');
    const onLead = await log('proposal sent', { leadId: lead.body.id }, 'email');
    expect(onContact.authorUserId).toBe(acme.member.userId);

    const subjects = async (path: string) => (await acme.member.get(path)).body.items.map((a: { subject: string }) => a.subject);
    expect(await subjects(`/api/v1/crm/leads/${lead.body.id}/timeline`)).toEqual(['proposal sent']);
    expect(await subjects(`/api/v1/crm/contacts/${contact.body.id}/timeline`)).toEqual(['proposal sent', 'call with Tim']);
    expect(await subjects(`/api/v1/crm/companies/${company.body.id}/timeline`)).toEqual([
      'proposal sent',
      'call with Tim',
      'company note',
    ]);

    const noLink = await acme.member.post('/api/v1/crm/activities', { type: 'task', subject: 'floating' });
    expect(noLink.status).toBe(400);
    const task = await acme.member.post('/api/v1/crm/activities', {
      type: 'task',
      subject: 'follow up',
      dueAt: '2026-01-10T09:00:00+01:00',
      leadId: lead.body.id,
      contactId: contact.body.id,
    });
    const done = await acme.member.patch(`/api/v1/crm/activities/${task.body.id}`, { done: true });
    expect(done.body).toMatchObject({ done: true, dueAt: '2026-01-10T08:00:00.000Z' });
    const open = await acme.member.get(`/api/v1/crm/activities?leadId=${lead.body.id}&done=false`);
    expect(open.body.items.map((a: { id: string }) => a.id)).toEqual([onLead.id]);

    // Deleting the lead: its own activity goes, the shared task stays on the contact.
    await acme.member.delete(`/api/v1/crm/leads/${lead.body.id}`);
    expect((await acme.member.get(`/api/v1/crm/activities/${onLead.id}`)).status).toBe(404);
    expect((await acme.member.get(`/api/v1/crm/activities/${task.body.id}`)).body).toMatchObject({ leadId: null });
    // Deleting the company keeps the contact, unlinked.
    await acme.member.delete(`/api/v1/crm/companies/${company.body.id}`);
    expect((await acme.member.get(`/api/v1/crm/contacts/${contact.body.id}`)).body.companyId).toBeNull();
    expect((await acme.member.get(`/api/v1/crm/activities/${onCompany.id}`)).status).toBe(404);

    expect((await globex.member.get(`/api/v1/crm/contacts/${contact.body.id}/timeline`)).status).toBe(404);
  });
});
