import { afterAll, beforeAll, expect, it } from 'vitest';
import { apiKeyClient, createTenant, type TenantFixture } from '../../../../test/support/client.ts';
import { describeEachBackend, startTestServer, type TestServer } from '../../../../test/support/harness.ts';

describeEachBackend('crm companies bulk changes', (backend) => {
  let t: TestServer;
  let acme: TenantFixture;
  let globex: TenantFixture;

  beforeAll(async () => {
    t = await startTestServer(backend, { WORKER_ENABLED: 'false' });
    [acme, globex] = await Promise.all([createTenant(t.url, t.inbox, 'acme'), createTenant(t.url, t.inbox, 'globex')]);
  });
  afterAll(() => t?.close());

  const company = async (tenant: TenantFixture, body: Record<string, unknown>) => {
    const res = await tenant.member.post('/api/v1/crm/companies', body);
    expect(res.status).toBe(201);
    return res.body.id as string;
  };
  const notFound = { code: 'NOT_FOUND', message: 'Not found.' };

  it('filters by domain as it stores domains: scheme, www. and case do not matter', async () => {
    const id = await company(acme, { name: 'Normalised', domain: 'https://www.Normalised-Example.com/about' });
    for (const domain of ['normalised-example.com', 'WWW.normalised-example.com', 'https://normalised-example.com/']) {
      const found = await acme.member.get(`/api/v1/crm/companies?domain=${encodeURIComponent(domain)}`);
      expect(
        found.body.items.map((c: { id: string }) => c.id),
        domain,
      ).toEqual([id]);
    }
    expect((await globex.member.get('/api/v1/crm/companies?domain=normalised-example.com')).body.items).toEqual([]);
  });

  it('bulk-updates companies with one result per id: tags added and removed, required custom fields checked per item', async () => {
    const tier = await acme.admin.post('/api/v1/crm/custom-fields', {
      entity: 'companies',
      key: 'tier',
      label: 'Tier',
      type: 'select',
      options: ['gold', 'silver'],
    });
    expect(tier.status).toBe(201);
    const gold = await company(acme, {
      name: 'Gold Co',
      domain: 'gold.bulk.example',
      tags: ['old', 'keep'],
      customFields: { tier: 'gold' },
    });
    const plain = await company(acme, { name: 'Plain Co', domain: 'plain.bulk.example', tags: ['old'] });
    const foreign = await company(globex, { name: 'Not yours', domain: 'gold.bulk.example' });
    // Made required after Plain Co was created: its next write must fill it, which this bulk change does not.
    expect((await acme.admin.patch(`/api/v1/crm/custom-fields/${tier.body.id}`, { required: true })).status).toBe(200);

    const res = await acme.member.post('/api/v1/crm/companies/bulk-update', {
      ids: [gold, plain, foreign],
      changes: { industry: 'Bulk', size: '51-200', addTags: ['new'], removeTags: ['old'] },
    });
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([
      { id: gold, status: 'updated' },
      {
        id: plain,
        status: 'failed',
        error: {
          code: 'VALIDATION_FAILED',
          message: 'Some fields are invalid.',
          details: [{ path: 'customFields.tier', message: 'is required' }],
        },
      },
      { id: foreign, status: 'failed', error: notFound },
    ]);
    expect((await acme.member.get(`/api/v1/crm/companies/${gold}`)).body).toMatchObject({
      name: 'Gold Co',
      industry: 'Bulk',
      size: '51-200',
      tags: ['keep', 'new'],
      customFields: { tier: 'gold' },
    });
    expect((await acme.member.get(`/api/v1/crm/companies/${plain}`)).body).toMatchObject({ industry: null, tags: ['old'] });
    const [theirs] = await t.ownerQuery<{ industry: string | null }>('select industry from app.crm_companies where id = $1', [
      foreign,
    ]);
    expect(theirs).toEqual({ industry: null });
    const events = await t.ownerQuery<{ data: { id: string; fields: string[] } }>(
      `select data from app.events where tenant_id = $1 and type = 'company.updated' and data->>'id' in ($2, $3)`,
      [acme.id, gold, plain],
    );
    expect(events.map((e) => e.data)).toEqual([{ id: gold, fields: ['industry', 'size', 'addTags', 'removeTags'] }]);

    // Filling the required field in the same change lets Plain Co through.
    const filled = await acme.member.post('/api/v1/crm/companies/bulk-update', {
      ids: [plain],
      changes: { customFields: { tier: 'silver' } },
    });
    expect(filled.body.items).toEqual([{ id: plain, status: 'updated' }]);
    expect((await acme.admin.delete(`/api/v1/crm/custom-fields/${tier.body.id}`)).status).toBe(200);
  });

  it('refuses, for the whole request, changes that are wrong for every item, and never renames in bulk', async () => {
    const id = await company(acme, { name: 'Checked Co', domain: 'checked.bulk.example' });
    const unknownField = await acme.member.post('/api/v1/crm/companies/bulk-update', {
      ids: [id],
      changes: { customFields: { nope: 1 } },
    });
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.error.details).toEqual([{ path: 'changes.customFields.nope', message: 'no such custom field' }]);
    const badSize = await acme.member.post('/api/v1/crm/companies/bulk-update', { ids: [id], changes: { size: 'huge' } });
    expect(badSize.status).toBe(400);
    expect(badSize.body.error.details[0].path).toBe('changes.size');
    // Name and domain identify one company: they are not bulk changes, so nothing is left to change.
    const rename = await acme.member.post('/api/v1/crm/companies/bulk-update', {
      ids: [id],
      changes: { name: 'Same', domain: 'same.example' },
    });
    expect(rename.status).toBe(400);
    expect(rename.body.error.details).toEqual([{ path: 'changes', message: 'name at least one change' }]);
    const tooMany = await acme.member.post('/api/v1/crm/companies/bulk-delete', {
      ids: Array.from({ length: 101 }, () => crypto.randomUUID()),
    });
    expect(tooMany.status).toBe(400);
    expect((await acme.member.get(`/api/v1/crm/companies/${id}`)).body).toMatchObject({ name: 'Checked Co', size: null });
  });

  it('bulk-deletes companies: their contacts stay, unlinked; one audit entry names the deleted ones', async () => {
    const linked = await company(acme, { name: 'Linked Co', domain: 'linked.bulk.example' });
    const lone = await company(acme, { name: 'Lone Co' });
    const foreign = await company(globex, { name: 'Still theirs' });
    const contact = await acme.member.post('/api/v1/crm/contacts', { name: 'Works at Linked', companyId: linked });
    expect(contact.status).toBe(201);

    const res = await acme.member.post('/api/v1/crm/companies/bulk-delete', {
      ids: [linked, foreign, lone, crypto.randomUUID()],
    });
    expect(res.status).toBe(200);
    expect(res.body.items.map((i: { status: string; error?: { code: string } }) => i.error?.code ?? i.status)).toEqual([
      'deleted',
      'NOT_FOUND',
      'deleted',
      'NOT_FOUND',
    ]);
    expect((await acme.member.get(`/api/v1/crm/companies/${linked}`)).status).toBe(404);
    expect((await acme.member.get(`/api/v1/crm/contacts/${contact.body.id}`)).body.companyId).toBeNull();
    expect(await t.ownerQuery('select id from app.crm_companies where id = $1', [foreign])).toHaveLength(1);
    const events = await t.ownerQuery<{ id: string }>(
      `select data->>'id' as id from app.events where tenant_id = $1 and type = 'company.deleted'`,
      [acme.id],
    );
    expect(events.map((e) => e.id).sort()).toEqual([linked, lone].sort());
    const audit = await acme.admin.get('/api/v1/audit-log?action=company.bulk_deleted');
    expect(audit.body.items).toHaveLength(1);
    expect(audit.body.items[0]).toMatchObject({
      actorUserId: acme.member.userId,
      targetType: 'company',
      data: { ids: [linked, lone], count: 2 },
    });

    const reader = await apiKeyClient(acme.admin, { scopes: ['crm:read'] });
    const refused = await reader.post('/api/v1/crm/companies/bulk-update', { ids: [lone], changes: { industry: 'x' } });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('INSUFFICIENT_SCOPE');
  });
});
