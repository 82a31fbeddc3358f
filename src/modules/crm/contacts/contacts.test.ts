import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { apiKeyClient, createTenant, type TenantFixture } from '../../../../test/support/client.ts';
import { describeEachBackend, startTestServer, type TestServer } from '../../../../test/support/harness.ts';
import { withSystemTenant } from '../../../db/tenant.ts';
import { contactWhere } from './read.ts';
import { contacts } from './schema.ts';

const unique = (label: string) => `${label}-${Math.random().toString(36).slice(2, 10)}`;

describeEachBackend('crm contacts', (backend) => {
  let t: TestServer;
  let acme: TenantFixture;
  let globex: TenantFixture;

  beforeAll(async () => {
    t = await startTestServer(backend, { WORKER_ENABLED: 'false' });
    [acme, globex] = await Promise.all([createTenant(t.url, t.inbox, 'acme'), createTenant(t.url, t.inbox, 'globex')]);
  });
  afterAll(() => t?.close());

  const eventsOf = (tenantId: string, type: string, id: string) =>
    t.ownerQuery<{ type: string }>(`select type from app.events where tenant_id = $1 and type = $2 and data->>'id' = $3`, [
      tenantId,
      type,
      id,
    ]);

  it('creates, reads, updates and lists a contact over REST and tRPC, with an event per change', async () => {
    const company = await acme.member.post('/api/v1/crm/companies', { name: 'Initech', domain: 'https://www.Initech.com/about' });
    expect(company.status).toBe(201);
    expect(company.body.domain).toBe('initech.com');
    const created = await acme.member.post('/api/v1/crm/contacts', {
      name: 'Peter Gibbons',
      email: 'Peter@Initech.com',
      phones: ['+1 555 0100'],
      companyId: company.body.id,
      tags: ['vip', 'vip', 'tps'],
      ownerUserId: acme.admin.userId,
      source: 'referral',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'Peter Gibbons',
      email: 'Peter@Initech.com',
      tags: ['vip', 'tps'],
      companyId: company.body.id,
      ownerUserId: acme.admin.userId,
      deletedAt: null,
    });
    expect(created.body).not.toHaveProperty('search');

    const viaTrpc = await acme.member.trpc('query', 'crm.contacts.get', { id: created.body.id });
    expect(viaTrpc.status).toBe(200);
    expect(viaTrpc.body.result.data.email).toBe('Peter@Initech.com');

    const updated = await acme.member.patch(`/api/v1/crm/contacts/${created.body.id}`, { title: 'Engineer', companyId: null });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ title: 'Engineer', companyId: null, email: 'Peter@Initech.com' });

    const list = await acme.member.get(`/api/v1/crm/contacts?companyId=${company.body.id}`);
    expect(list.body.items).toEqual([]);
    const byTag = await acme.member.get('/api/v1/crm/contacts?tag=tps');
    expect(byTag.body.items.map((c: { id: string }) => c.id)).toEqual([created.body.id]);

    expect(await eventsOf(acme.id, 'contact.created', created.body.id)).toHaveLength(1);
    expect(await eventsOf(acme.id, 'contact.updated', created.body.id)).toHaveLength(1);
    expect(await eventsOf(acme.id, 'company.created', company.body.id)).toHaveLength(1);
  });

  it('refuses references the tenant does not have: another tenant company, a non-member owner', async () => {
    const foreign = await globex.member.post('/api/v1/crm/companies', { name: 'Globex', domain: `${unique('globex')}.com` });
    expect(foreign.status).toBe(201);
    const res = await acme.member.post('/api/v1/crm/contacts', {
      name: 'Crossed Wires',
      companyId: foreign.body.id,
      ownerUserId: globex.owner.userId,
    });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('UNPROCESSABLE');
    expect(res.body.error.details).toEqual([
      { path: 'companyId', message: 'no such company' },
      { path: 'ownerUserId', message: 'not a member of this tenant' },
    ]);
  });

  it('keeps emails unique per tenant case-insensitively, without echoing the value, while other tenants may reuse them', async () => {
    const email = `${unique('dup')}@example.com`;
    expect((await acme.member.post('/api/v1/crm/contacts', { name: 'First', email })).status).toBe(201);
    const again = await acme.member.post('/api/v1/crm/contacts', { name: 'Second', email: email.toUpperCase() });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('CONFLICT');
    expect(JSON.stringify(again.body).toLowerCase()).not.toContain(email);
    expect((await globex.member.post('/api/v1/crm/contacts', { name: 'Elsewhere', email })).status).toBe(201);

    const other = await acme.member.post('/api/v1/crm/contacts', { name: 'Other', email: `${unique('other')}@example.com` });
    const taken = await acme.member.patch(`/api/v1/crm/contacts/${other.body.id}`, { email: email.toUpperCase() });
    expect(taken.status).toBe(409);

    const domain = `${unique('dup')}.com`;
    expect((await acme.member.post('/api/v1/crm/companies', { name: 'One', domain })).status).toBe(201);
    const sameDomain = await acme.member.post('/api/v1/crm/companies', { name: 'Two', domain: `WWW.${domain.toUpperCase()}` });
    expect(sameDomain.status).toBe(409);
    expect((await globex.member.post('/api/v1/crm/companies', { name: 'Three', domain })).status).toBe(201);
  });

  it('hides deleted contacts until restored; a purge needs an admin and a deleted contact', async () => {
    const email = `${unique('gone')}@example.com`;
    const created = await acme.member.post('/api/v1/crm/contacts', { name: 'Soon Gone', email });
    const id = created.body.id as string;
    const deleted = await acme.member.delete(`/api/v1/crm/contacts/${id}`);
    expect(deleted.status).toBe(200);

    expect((await acme.member.get(`/api/v1/crm/contacts/${id}`)).status).toBe(404);
    expect((await acme.member.patch(`/api/v1/crm/contacts/${id}`, { title: 'x' })).status).toBe(404);
    const live = await acme.member.get(`/api/v1/crm/contacts?email=${encodeURIComponent(email)}`);
    expect(live.body.items).toEqual([]);
    const trash = await acme.member.get(`/api/v1/crm/contacts?deleted=only&email=${encodeURIComponent(email)}`);
    expect(trash.body.items.map((c: { id: string }) => c.id)).toEqual([id]);
    const withDeleted = await acme.member.get(`/api/v1/crm/contacts/${id}?includeDeleted=true`);
    expect(withDeleted.status).toBe(200);
    expect(withDeleted.body.deletedAt).not.toBeNull();

    // A deleted contact frees its email; restoring it then conflicts.
    const replacement = await acme.member.post('/api/v1/crm/contacts', { name: 'Replacement', email });
    expect(replacement.status).toBe(201);
    expect((await acme.member.post(`/api/v1/crm/contacts/${id}/restore`)).status).toBe(409);
    await acme.member.delete(`/api/v1/crm/contacts/${replacement.body.id}`);
    const restored = await acme.member.post(`/api/v1/crm/contacts/${id}/restore`);
    expect(restored.status).toBe(200);
    expect(restored.body.deletedAt).toBeNull();
    expect(await eventsOf(acme.id, 'contact.restored', id)).toHaveLength(1);

    // Purge: only from the trash, only by an admin.
    expect((await acme.admin.post(`/api/v1/crm/contacts/${id}/purge`)).status).toBe(404);
    await acme.member.delete(`/api/v1/crm/contacts/${id}`);
    const byMember = await acme.member.post(`/api/v1/crm/contacts/${id}/purge`);
    expect(byMember.status).toBe(403);
    expect(byMember.body.error.code).toBe('FORBIDDEN');
    expect((await acme.admin.post(`/api/v1/crm/contacts/${id}/purge`)).status).toBe(200);
    const rows = await t.ownerQuery('select 1 from app.crm_contacts where id = $1', [id]);
    expect(rows).toEqual([]);
    const audit = await t.ownerQuery<{ actor_user_id: string }>(
      `select actor_user_id from app.audit_log where tenant_id = $1 and action = 'contact.purged' and target_id = $2`,
      [acme.id, id],
    );
    expect(audit).toEqual([{ actor_user_id: acme.admin.userId }]);
  });

  it('validates custom fields against the tenant definitions, field by field', async () => {
    const defs = [
      { entity: 'contacts', key: 'tier', label: 'Tier', type: 'select', options: ['gold', 'silver'], required: true },
      { entity: 'contacts', key: 'score', label: 'Score', type: 'number' },
      { entity: 'contacts', key: 'renewal', label: 'Renewal', type: 'date' },
      { entity: 'contacts', key: 'active', label: 'Active', type: 'boolean' },
    ];
    for (const def of defs) expect((await acme.admin.post('/api/v1/crm/custom-fields', def)).status).toBe(201);

    const bad = await acme.member.post('/api/v1/crm/contacts', {
      name: 'Custom',
      customFields: { tier: 'bronze', score: 'high', renewal: '2025-02-30', active: 'yes', unknown: 1 },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_FAILED');
    expect(bad.body.error.details).toEqual(
      expect.arrayContaining([
        { path: 'customFields.tier', message: 'must be one of: gold, silver' },
        { path: 'customFields.score', message: 'must be a number' },
        { path: 'customFields.renewal', message: 'must be a date as YYYY-MM-DD' },
        { path: 'customFields.active', message: 'must be true or false' },
        { path: 'customFields.unknown', message: 'no such custom field' },
      ]),
    );
    const missing = await acme.member.post('/api/v1/crm/contacts', { name: 'Custom', customFields: { score: 3 } });
    expect(missing.body.error.details).toEqual([{ path: 'customFields.tier', message: 'is required' }]);

    const good = await acme.member.post('/api/v1/crm/contacts', {
      name: 'Custom',
      customFields: { tier: 'gold', score: 3.5, renewal: '2025-02-28', active: true },
    });
    expect(good.status).toBe(201);
    const merged = await acme.member.patch(`/api/v1/crm/contacts/${good.body.id}`, {
      customFields: { score: null, active: false },
    });
    expect(merged.body.customFields).toEqual({ tier: 'gold', renewal: '2025-02-28', active: false });
    const cleared = await acme.member.patch(`/api/v1/crm/contacts/${good.body.id}`, { customFields: { tier: null } });
    expect(cleared.body.error.details).toEqual([{ path: 'customFields.tier', message: 'is required' }]);

    // Another tenant has no such fields.
    const elsewhere = await globex.member.post('/api/v1/crm/contacts', { name: 'No fields', customFields: { tier: 'gold' } });
    expect(elsewhere.body.error.details).toEqual([{ path: 'customFields.tier', message: 'no such custom field' }]);

    // Removing a definition removes its values and is audited.
    const listed = await acme.member.get('/api/v1/crm/custom-fields?entity=contacts');
    const tier = listed.body.items.find((d: { key: string }) => d.key === 'tier');
    expect((await acme.admin.delete(`/api/v1/crm/custom-fields/${tier.id}`)).status).toBe(200);
    const after = await acme.member.get(`/api/v1/crm/contacts/${good.body.id}`);
    expect(after.body.customFields).toEqual({ renewal: '2025-02-28', active: false });
    const audit = await acme.admin.get('/api/v1/audit-log?action=custom_field.deleted');
    expect(audit.body.items[0]).toMatchObject({ targetId: tier.id, before: { key: 'tier', entity: 'contacts' } });
    for (const key of ['score', 'renewal', 'active']) {
      const def = listed.body.items.find((d: { key: string }) => d.key === key);
      await acme.admin.delete(`/api/v1/crm/custom-fields/${def.id}`);
    }
  });

  it('lets only admins manage custom field definitions, and checks select options', async () => {
    const byMember = await acme.member.post('/api/v1/crm/custom-fields', {
      entity: 'contacts',
      key: 'x',
      label: 'X',
      type: 'text',
    });
    expect(byMember.status).toBe(403);
    const noOptions = await acme.admin.post('/api/v1/crm/custom-fields', {
      entity: 'companies',
      key: 'y',
      label: 'Y',
      type: 'select',
    });
    expect(noOptions.body.error.details).toEqual([{ path: 'options', message: 'a select field needs at least one option' }]);
    const created = await acme.admin.post('/api/v1/crm/custom-fields', {
      entity: 'companies',
      key: 'region',
      label: 'Region',
      type: 'text',
    });
    expect(created.status).toBe(201);
    const duplicate = await acme.admin.post('/api/v1/crm/custom-fields', {
      entity: 'companies',
      key: 'region',
      label: 'R',
      type: 'text',
    });
    expect(duplicate.status).toBe(409);
    const renamed = await acme.admin.patch(`/api/v1/crm/custom-fields/${created.body.id}`, { label: 'Sales region' });
    expect(renamed.body).toMatchObject({ label: 'Sales region', type: 'text' });
    const audit = await acme.admin.get('/api/v1/audit-log?action=custom_field.updated');
    expect(audit.body.items[0]).toMatchObject({ before: { label: 'Region' }, after: { label: 'Sales region' } });
    await acme.admin.delete(`/api/v1/crm/custom-fields/${created.body.id}`);
  });

  it('bulk-updates and bulk-deletes with one result per id', async () => {
    const ids: string[] = [];
    for (const name of ['Bulk A', 'Bulk B'])
      ids.push((await acme.member.post('/api/v1/crm/contacts', { name, tags: ['old'] })).body.id);
    const foreign = (await globex.member.post('/api/v1/crm/contacts', { name: 'Not yours' })).body.id as string;
    const deleted = (await acme.member.post('/api/v1/crm/contacts', { name: 'Deleted' })).body.id as string;
    await acme.member.delete(`/api/v1/crm/contacts/${deleted}`);

    const updated = await acme.member.post('/api/v1/crm/contacts/bulk-update', {
      ids: [...ids, foreign, deleted],
      changes: { addTags: ['new'], removeTags: ['old'], source: 'campaign' },
    });
    expect(updated.status).toBe(200);
    expect(updated.body.items).toEqual([
      { id: ids[0], status: 'updated' },
      { id: ids[1], status: 'updated' },
      { id: foreign, status: 'failed', error: { code: 'NOT_FOUND', message: 'Not found.' } },
      { id: deleted, status: 'failed', error: { code: 'NOT_FOUND', message: 'Not found.' } },
    ]);
    const a = await acme.member.get(`/api/v1/crm/contacts/${ids[0]}`);
    expect(a.body).toMatchObject({ tags: ['new'], source: 'campaign' });
    const untouched = await t.ownerQuery<{ source: string | null }>('select source from app.crm_contacts where id = $1', [
      foreign,
    ]);
    expect(untouched).toEqual([{ source: null }]);

    const invalid = await acme.member.post('/api/v1/crm/contacts/bulk-update', { ids, changes: { customFields: { nope: 1 } } });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.details).toEqual([{ path: 'changes.customFields.nope', message: 'no such custom field' }]);

    const removed = await acme.member.post('/api/v1/crm/contacts/bulk-delete', { ids: [ids[0], foreign] });
    expect(removed.body.items).toEqual([
      { id: ids[0], status: 'deleted' },
      { id: foreign, status: 'failed', error: { code: 'NOT_FOUND', message: 'Not found.' } },
    ]);
    expect((await acme.member.get(`/api/v1/crm/contacts/${ids[0]}`)).status).toBe(404);
    const audit = await acme.admin.get('/api/v1/audit-log?action=contact.bulk_deleted');
    expect(audit.body.items[0].data).toEqual({ ids: [ids[0]], count: 1 });
  });

  it('finds prefixes as an index range inside the tenant, under row-level security', async () => {
    const tag = unique('range');
    for (const name of ['Zoë Adams', 'Zoey Brook', 'Zp Corp', 'Zo']) {
      await acme.member.post('/api/v1/crm/contacts', { name, tags: [tag] });
    }
    // Sorted here: the order by name follows the database's collation, which differs between the backends.
    const names = async (prefix: string) =>
      (await acme.member.get(`/api/v1/crm/contacts?tag=${tag}&prefix=${encodeURIComponent(prefix)}`)).body.items
        .map((c: { name: string }) => c.name)
        .sort();
    expect(await names('ZO')).toEqual(['Zo', 'Zoey Brook', 'Zoë Adams']);
    expect(await names('zoë')).toEqual(['Zoë Adams']);
    expect(await names('zp')).toEqual(['Zp Corp']);
    expect(await names('z\u{10FFFF}')).toEqual([]);

    // The plan, as the request role sees the table, in a tenant of 3,000 contacts: the prefix bounds are index
    // conditions, not a filter over every row of the tenant (under RLS, LIKE and lower() could not be).
    const big = await createTenant(t.url, t.inbox, 'prefix-range');
    await t.ownerQuery(
      `insert into app.crm_contacts (tenant_id, name, email)
       select $1, 'Person ' || g, 'person' || g || '@example.com' from generate_series(1, 3000) g`,
      [big.id],
    );
    await t.ownerQuery('analyze app.crm_contacts');
    const plan = await withSystemTenant(t.server.database, big.id, async (tx) => {
      await tx.execute(sql`select set_config('enable_seqscan', 'off', true)`);
      const query = tx
        .select({ id: contacts.id })
        .from(contacts)
        .where(contactWhere(big.id, { prefix: 'person 12', deleted: 'include' }));
      return JSON.stringify(await tx.execute(sql.join([sql.raw('explain '), query.getSQL()])));
    });
    expect(plan).toMatch(/Index Cond: \(\(tenant_id = [^)]*\) AND \(name_key ~>=~ 'person 12'::text\)/);
    expect(plan).toMatch(/Index Cond: \(\(tenant_id = [^)]*\) AND \(email_key ~>=~ 'person 12'::text\)/);
    expect(plan).not.toMatch(/Filter: [^"]*name_key/);
  });

  it('searches by full text and by prefix, pages with a cursor, and sorts from an allowlist only', async () => {
    const tag = unique('search');
    const people = [
      ['Annabel Smith', 'annabel@smithworks.io'],
      ['Anne-Marie Jones', 'amj@example.org'],
      ['Bob Annersley', 'bob@example.org'],
      ['Carla Smithers', 'carla@example.net'],
    ];
    for (const [name, email] of people) await acme.member.post('/api/v1/crm/contacts', { name, email, tags: [tag] });

    const names = async (query: string) =>
      (await acme.member.get(`/api/v1/crm/contacts?tag=${tag}&${query}`)).body.items.map((c: { name: string }) => c.name);
    expect(await names('q=smith')).toEqual(['Annabel Smith', 'Carla Smithers']);
    expect(await names('q=ann%20smi')).toEqual(['Annabel Smith']);
    expect(await names('q=smithworks')).toEqual(['Annabel Smith']);
    expect(await names('q=marie')).toEqual(['Anne-Marie Jones']);
    expect(await names('prefix=ann')).toEqual(['Annabel Smith', 'Anne-Marie Jones']);
    expect(await names('prefix=BOB%40')).toEqual(['Bob Annersley']);
    expect(await names('prefix=%25')).toEqual([]);
    expect(await names('q=%27%7C%21%26')).toEqual([]);

    const first = await acme.member.get(`/api/v1/crm/contacts?tag=${tag}&limit=3&sort=-name`);
    expect(first.body.items.map((c: { name: string }) => c.name)).toEqual([
      'Carla Smithers',
      'Bob Annersley',
      'Anne-Marie Jones',
    ]);
    const second = await acme.member.get(`/api/v1/crm/contacts?tag=${tag}&limit=3&sort=-name&cursor=${first.body.nextCursor}`);
    expect(second.body.items.map((c: { name: string }) => c.name)).toEqual(['Annabel Smith']);
    expect(second.body.nextCursor).toBeNull();

    const badSort = await acme.member.get('/api/v1/crm/contacts?sort=email');
    expect(badSort.status).toBe(400);
    expect(badSort.body.error.code).toBe('VALIDATION_FAILED');

    const both = await acme.member.get(`/api/v1/crm/search?q=smith`);
    expect(both.status).toBe(200);
    expect(both.body.items.filter((i: { type: string }) => i.type === 'contact').map((i: { name: string }) => i.name)).toEqual(
      expect.arrayContaining(['Annabel Smith', 'Carla Smithers']),
    );
    expect((await globex.member.get('/api/v1/crm/search?q=smith')).body.items).toEqual([]);
  });

  it('lets API keys read with crm:read and write only with crm:write', async () => {
    const reader = await apiKeyClient(acme.admin, { scopes: ['crm:read'] });
    expect((await reader.get('/api/v1/crm/contacts')).status).toBe(200);
    const write = await reader.post('/api/v1/crm/contacts', { name: 'By key' });
    expect(write.status).toBe(403);
    expect(write.body.error.code).toBe('INSUFFICIENT_SCOPE');
    const writer = await apiKeyClient(acme.admin, { scopes: ['crm:write'] });
    const created = await writer.post('/api/v1/crm/contacts', { name: 'By key' });
    expect(created.status).toBe(201);
    const [event] = await t.ownerQuery<{ actor_api_key_id: string }>(
      `select actor_api_key_id from app.events where type = 'contact.created' and data->>'id' = $1`,
      [created.body.id],
    );
    expect(event?.actor_api_key_id).toBe(writer.apiKeyId);
  });
});
