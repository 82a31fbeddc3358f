import { afterAll, beforeAll, expect, it } from 'vitest';
import { ApiClient, apiKeyClient, createTenant, PASSWORD, type TenantFixture } from '../../../../test/support/client.ts';
import { describeEachBackend, startTestServer, type TestServer } from '../../../../test/support/harness.ts';
import { neutralizeFormula } from '../../../api/crm-csv.ts';

/**
 * Credentials for a raw request: an API key as is, a member as a bearer
 * session token from a fresh sign-in (ApiClient sends JSON bodies only).
 */
const tokens = new WeakMap<ApiClient, string>();
async function credentialsOf(client: ApiClient): Promise<Record<string, string>> {
  if (client.apiKey) return { 'x-api-key': client.apiKey };
  const known = tokens.get(client);
  if (known) return { authorization: `Bearer ${known}` };
  const res = await fetch(`${client.baseUrl}/api/auth/sign-in/email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: client.baseUrl },
    body: JSON.stringify({ email: client.email, password: PASSWORD }),
  });
  const body = (await res.json()) as { token?: string };
  if (!body.token) throw new Error(`sign-in failed: ${res.status}`);
  tokens.set(client, body.token);
  return { authorization: `Bearer ${body.token}` };
}

/** Sends a CSV body as `client` to a resource's import; the answer is JSON (a report or an error). */
async function upload(
  client: ApiClient,
  resource: 'contacts' | 'companies',
  csv: string,
  query = '',
  headers: Record<string, string> = {},
) {
  const res = await fetch(`${client.baseUrl}/api/v1/crm/${resource}/import${query}`, {
    method: 'POST',
    headers: { 'content-type': 'text/csv', ...(await credentialsOf(client)), ...headers },
    body: csv,
  });
  return { status: res.status, body: (await res.json()) as any };
}

it('neutralizes spreadsheet formulas in exported cells but keeps phone numbers and plain text', () => {
  expect(neutralizeFormula('=HYPERLINK("http://x")')).toBe(`'=HYPERLINK("http://x")`);
  expect(neutralizeFormula('@SUM(A1)')).toBe(`'@SUM(A1)`);
  expect(neutralizeFormula('-2+3')).toBe(`'-2+3`);
  expect(neutralizeFormula('-42.5')).toBe('-42.5');
  expect(neutralizeFormula('-cmd')).toBe(`'-cmd`);
  expect(neutralizeFormula('+1 (555) 010-0100')).toBe('+1 (555) 010-0100');
  expect(neutralizeFormula('Ann')).toBe('Ann');
});

describeEachBackend('crm CSV import and export', (backend) => {
  let s: TestServer;
  let acme: TenantFixture;
  let globex: TenantFixture;

  beforeAll(async () => {
    s = await startTestServer(backend, { WORKER_ENABLED: 'false' });
    [acme, globex] = await Promise.all([createTenant(s.url, s.inbox, 'acme'), createTenant(s.url, s.inbox, 'globex')]);
    const tier = { entity: 'contacts', key: 'tier', label: 'Tier', type: 'select', options: ['gold', 'silver'] };
    expect((await acme.admin.post('/api/v1/crm/custom-fields', tier)).status).toBe(201);
  });
  afterAll(() => s?.close());

  /** The body of a raw (non-JSON) response. */
  const text = (res: { body: unknown }) => String(res.body);
  const countIn = async (table: 'crm_contacts' | 'crm_companies', tenantId: string) =>
    (await s.ownerQuery<{ n: number }>(`select count(*)::int as n from app.${table} where tenant_id = $1`, [tenantId]))[0]?.n ??
    0;

  it('contacts: imports valid rows, rejects invalid ones with reasons, and deduplicates by email and by domain', async () => {
    const existing = await acme.member.post('/api/v1/crm/contacts', { name: 'Already Here', email: 'here@dedup.example' });
    expect(existing.status).toBe(201);
    const csv = [
      'Name,Email,Tags,Company_Domain,Company_Name,Owner_Email,cf.tier',
      `Ann Import,ann@dedup.example,vip;csv,https://www.Dedup.example/,Dedup Inc,${acme.admin.email},gold`,
      'Ben Import,ben@dedup.example,,dedup.example,,,',
      'ANN AGAIN,ANN@dedup.example,,,,,',
      'Here Again,HERE@dedup.example,,,,,',
      ',nameless@dedup.example,,,,,',
      'Bad Email,not-an-email,,,,,bronze',
      `Outsider,out@dedup.example,,,,${globex.owner.email},`,
    ].join('\n');
    const res = await upload(acme.member, 'contacts', csv);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      mode: 'partial',
      committed: true,
      rows: 7,
      created: 2,
      updated: 0,
      skipped: 2,
      rejected: 3,
      companiesCreated: 1,
    });
    expect(res.body.rejectedRows).toEqual([
      { row: 5, line: 6, errors: [{ column: 'name', message: 'is required' }] },
      {
        row: 6,
        line: 7,
        errors: [
          { column: 'email', message: 'not an email address' },
          { column: 'cf.tier', message: 'must be one of: gold, silver' },
        ],
      },
      { row: 7, line: 8, errors: [{ column: 'owner_email', message: 'not a member of this tenant' }] },
    ]);
    const ann = (await acme.member.get('/api/v1/crm/contacts?email=ann@dedup.example')).body.items[0];
    expect(ann).toMatchObject({
      name: 'Ann Import',
      tags: ['vip', 'csv'],
      ownerUserId: acme.admin.userId,
      customFields: { tier: 'gold' },
    });
    const ben = (await acme.member.get('/api/v1/crm/contacts?email=ben@dedup.example')).body.items[0];
    expect(ben.companyId).toBe(ann.companyId);
    const company = await acme.member.get(`/api/v1/crm/companies/${ann.companyId}`);
    expect(company.body).toMatchObject({ name: 'Dedup Inc', domain: 'dedup.example' });
    const [event] = await s.ownerQuery<{ data: { created: string[] } }>(
      `select data from app.events where tenant_id = $1 and type = 'contact.imported'`,
      [acme.id],
    );
    expect(event?.data.created).toEqual(expect.arrayContaining([ann.id, ben.id]));
  });

  it('contacts: updates duplicates when asked, leaving empty cells alone', async () => {
    await acme.member.post('/api/v1/crm/contacts', { name: 'Old Name', email: 'upd@dedup.example', title: 'CTO', source: 'web' });
    const res = await upload(
      acme.member,
      'contacts',
      'name,email,title,source\nNew Name,UPD@dedup.example,,import\n',
      '?duplicates=update',
    );
    expect(res.body).toMatchObject({ created: 0, updated: 1, skipped: 0 });
    const contact = (await acme.member.get('/api/v1/crm/contacts?email=upd@dedup.example')).body.items[0];
    expect(contact).toMatchObject({ name: 'New Name', title: 'CTO', source: 'import' });
  });

  it('contacts: refuses unknown columns before writing, and reports a malformed file where it breaks', async () => {
    const before = await countIn('crm_contacts', acme.id);
    const unknown = await upload(acme.member, 'contacts', 'name,email,salary\nX,x@malformed.example,1\n');
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details).toEqual([{ path: 'header.salary', message: 'unknown column' }]);
    expect(await countIn('crm_contacts', acme.id)).toBe(before);

    const broken = await upload(
      acme.member,
      'contacts',
      'name,email\nFine,fine@malformed.example\n"Broken,b@malformed.example\n',
    );
    expect(broken.status).toBe(200);
    expect(broken.body).toMatchObject({ created: 1, rejected: 1 });
    expect(broken.body.rejectedRows[0].errors[0].message).toMatch(/^malformed CSV/);
  });

  it('contacts: exports the tenant contacts as CSV that imports back, with filters and custom fields', async () => {
    await acme.member.post('/api/v1/crm/contacts', {
      name: '=cmd|calc',
      email: 'formula@export.example',
      tags: ['export'],
      phones: ['+1 555 0100'],
      customFields: { tier: 'silver' },
    });
    const res = await acme.member.get('/api/v1/crm/contacts/export?tag=export');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = text(res).trim().split('\n');
    expect(lines[0]).toBe(
      'id,name,email,other_emails,phones,title,tags,source,owner_email,company_domain,company_name,created_at,updated_at,cf.tier',
    );
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(`'=cmd|calc,formula@export.example,,+1 555 0100,,export,`);
    expect(lines[1]?.endsWith(',silver')).toBe(true);

    // An export imports back: every row is a duplicate of itself (by email), updated in place.
    const all = await acme.member.get('/api/v1/crm/contacts/export');
    const exported = text(all).trim().split('\n');
    expect(exported.length - 1).toBe(await countIn('crm_contacts', acme.id));
    const reimported = await upload(acme.member, 'contacts', exported.join('\r\n'), '?duplicates=update');
    expect(reimported.body).toMatchObject({ rows: exported.length - 1, rejected: 0, created: 0, updated: exported.length - 1 });
    const formula = (await acme.member.get('/api/v1/crm/contacts?email=formula@export.example')).body.items[0];
    // The neutralizing quote is data on the way back in: exports are for people and spreadsheets first.
    expect(formula).toMatchObject({ name: "'=cmd|calc", customFields: { tier: 'silver' }, phones: ['+1 555 0100'] });
  });

  const companyByDomain = async (client: ApiClient, domain: string) =>
    (await client.get(`/api/v1/crm/companies?domain=${domain}`)).body.items[0];

  it('companies: imports valid rows, rejects invalid ones with reasons, and deduplicates by domain case-insensitively', async () => {
    const segment = { entity: 'companies', key: 'segment', label: 'Segment', type: 'select', options: ['enterprise', 'smb'] };
    expect((await acme.admin.post('/api/v1/crm/custom-fields', segment)).status).toBe(201);
    const stored = await acme.member.post('/api/v1/crm/companies', { name: 'Stored', domain: 'stored.co-dedup.example' });
    expect(stored.status).toBe(201);
    const csv = [
      'Name,Domain,Industry,Size,Tags,Street,City,Country,cf.segment',
      'Alpha Corp,https://www.Alpha.co-dedup.example/about,Software,11-50,b2b;csv;b2b,1 Main St,Springfield,US,enterprise',
      'Alpha Again,ALPHA.co-dedup.example,,,,,,,',
      'Stored Again,WWW.STORED.co-dedup.example,,,,,,,',
      'No Domain Ltd,,,,,,,,',
      ',nameless.co-dedup.example,,,,,,,',
      'Bad Size,badsize.co-dedup.example,,huge,,,,,platinum',
      'Bad Domain,not a domain,,,,,,,',
    ].join('\n');
    const res = await upload(acme.member, 'companies', csv);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      mode: 'partial',
      committed: true,
      rows: 7,
      created: 2,
      updated: 0,
      skipped: 2,
      rejected: 3,
      rejectedRows: [
        { row: 5, line: 6, errors: [{ column: 'name', message: 'is required' }] },
        {
          row: 6,
          line: 7,
          errors: [
            { column: 'size', message: 'one of: 1-10, 11-50, 51-200, 201-500, 501-1000, 1001-5000, 5001-10000, 10001+' },
            { column: 'cf.segment', message: 'must be one of: enterprise, smb' },
          ],
        },
        { row: 7, line: 8, errors: [{ column: 'domain', message: 'not a domain such as example.com' }] },
      ],
    });
    const alpha = await companyByDomain(acme.member, 'alpha.co-dedup.example');
    expect(alpha).toMatchObject({
      name: 'Alpha Corp',
      industry: 'Software',
      size: '11-50',
      tags: ['b2b', 'csv'],
      address: { street: '1 Main St', city: 'Springfield', country: 'US' },
      customFields: { segment: 'enterprise' },
    });
    expect((await acme.member.get(`/api/v1/crm/companies/${stored.body.id}`)).body.name).toBe('Stored');
    const noDomain = await acme.member.get('/api/v1/crm/companies?q=No%20Domain');
    expect(noDomain.body.items.map((c: { name: string; domain: null }) => [c.name, c.domain])).toEqual([['No Domain Ltd', null]]);
    const [event] = await s.ownerQuery<{ data: { created: string[]; updated: string[] } }>(
      `select data from app.events where tenant_id = $1 and type = 'company.imported'`,
      [acme.id],
    );
    expect(event?.data.created).toEqual(expect.arrayContaining([alpha.id, noDomain.body.items[0].id]));
    expect(event?.data.updated).toEqual([]);
  });

  it('companies: updates duplicates when asked, filled cells only, and merges repeated domains within the file', async () => {
    const before = await acme.member.post('/api/v1/crm/companies', {
      name: 'Old Name',
      domain: 'upd.co-dedup.example',
      industry: 'Retail',
      address: { city: 'Paris', country: 'FR' },
    });
    expect(before.status).toBe(201);
    const csv = [
      'name,domain,industry,street,city',
      'New Name,UPD.co-dedup.example,,5 Rue Neuve,',
      'First,merge.co-dedup.example,Media,,Lyon',
      'Second,https://MERGE.co-dedup.example,,9 Side St,',
    ].join('\n');
    const res = await upload(acme.member, 'companies', csv, '?duplicates=update');
    expect(res.body).toMatchObject({ rows: 3, created: 1, updated: 1, skipped: 0, rejected: 0 });
    const updated = await acme.member.get(`/api/v1/crm/companies/${before.body.id}`);
    expect(updated.body).toMatchObject({
      name: 'New Name',
      industry: 'Retail',
      address: { street: '5 Rue Neuve', city: 'Paris', country: 'FR' },
    });
    const merged = await companyByDomain(acme.member, 'merge.co-dedup.example');
    expect(merged).toMatchObject({ name: 'Second', industry: 'Media', address: { street: '9 Side St', city: 'Lyon' } });
    const events = await s.ownerQuery<{ data: { created: string[]; updated: string[] } }>(
      `select data from app.events where tenant_id = $1 and type = 'company.imported' and data->'updated' ? $2`,
      [acme.id, before.body.id],
    );
    expect(events.map((e) => e.data)).toEqual([expect.objectContaining({ created: [merged.id], updated: [before.body.id] })]);
  });

  const atomic = {
    contacts: {
      table: 'crm_contacts',
      bad: 'name,email\nGood One,good1@atomic.example\nGood Two,good2@atomic.example\nBad,nope\n',
      details: [{ path: 'rows.3.email', message: 'not an email address' }],
      good: 'name,email\nGood One,GOOD1@atomic.example\n',
    },
    companies: {
      table: 'crm_companies',
      bad: 'name,domain,size\nGood One,good1.atomic.example,1-10\nGood Two,good2.atomic.example,\nBad,bad.atomic.example,tiny\n',
      details: [
        { path: 'rows.3.size', message: 'one of: 1-10, 11-50, 51-200, 201-500, 501-1000, 1001-5000, 5001-10000, 10001+' },
      ],
      good: 'name,domain\nGood One,GOOD1.atomic.example\n',
    },
  } as const;

  for (const [resource, spec] of Object.entries(atomic) as [keyof typeof atomic, (typeof atomic)[keyof typeof atomic]][]) {
    it(`${resource}: all or nothing: one invalid row fails the import with field-level details and writes nothing`, async () => {
      const before = await countIn(spec.table, acme.id);
      const eventsBefore = await s.ownerQuery('select id from app.events where tenant_id = $1', [acme.id]);
      const res = await upload(acme.member, resource, spec.bad, '?mode=atomic');
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
      expect(res.body.error.message).toBe('Nothing was imported: 1 of 3 rows are invalid.');
      expect(res.body.error.details).toEqual(spec.details);
      expect(await countIn(spec.table, acme.id)).toBe(before);
      expect(await s.ownerQuery('select id from app.events where tenant_id = $1', [acme.id])).toHaveLength(eventsBefore.length);
      const ok = await upload(acme.member, resource, spec.good, '?mode=atomic');
      expect(ok.body).toMatchObject({ mode: 'atomic', committed: true, created: 1 });
      expect(await countIn(spec.table, acme.id)).toBe(before + 1);
    });
  }

  it('companies: checks the header, and rejects a row that leaves a required custom field empty', async () => {
    const initech = await createTenant(s.url, s.inbox, 'initech');
    const region = { entity: 'companies', key: 'region', label: 'Region', type: 'text', required: true };
    expect((await initech.admin.post('/api/v1/crm/custom-fields', region)).status).toBe(201);
    const unknown = await upload(initech.member, 'companies', 'domain,email,cf.nope\nx.example,a@b.example,1\n');
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details).toEqual([
      { path: 'header.email', message: 'unknown column' },
      { path: 'header.cf.nope', message: 'unknown column' },
      { path: 'header.name', message: 'the name column is required' },
    ]);
    const res = await upload(
      initech.member,
      'companies',
      'name,domain,cf.region\nWith,with.example,EMEA\nWithout,without.example,\n',
    );
    expect(res.body).toMatchObject({ created: 1, rejected: 1 });
    expect(res.body.rejectedRows).toEqual([{ row: 2, line: 3, errors: [{ column: 'cf.region', message: 'is required' }] }]);
    expect(await countIn('crm_companies', initech.id)).toBe(1);
  });

  it('companies: exports with the list filters as CSV that imports back', async () => {
    const created = await acme.member.post('/api/v1/crm/companies', {
      name: '=HYPERLINK("http://evil")',
      domain: 'formula.export.example',
      industry: 'Exports',
      size: '51-200',
      tags: ['export', 'csv'],
      address: { street: '1 Quay', postalCode: '1000', country: 'BE' },
      customFields: { segment: 'smb' },
    });
    expect(created.status).toBe(201);
    expect((await acme.member.post('/api/v1/crm/companies', { name: 'Other Export', tags: ['elsewhere'] })).status).toBe(201);
    const res = await acme.member.get('/api/v1/crm/companies/export?tag=export');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="companies.csv"');
    const lines = text(res).trim().split('\n');
    expect(lines[0]).toBe(
      'id,name,domain,industry,size,tags,street,city,region,postal_code,country,created_at,updated_at,cf.segment',
    );
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(
      `${created.body.id},"'=HYPERLINK(""http://evil"")",formula.export.example,Exports,51-200,export;csv,1 Quay,,,1000,BE,`,
    );
    expect(lines[1]?.endsWith(',smb')).toBe(true);
    const byIndustry = await acme.member.get('/api/v1/crm/companies/export?industry=Exports&q=formula');
    expect(text(byIndustry).trim().split('\n')).toHaveLength(2);
    const badFilter = await acme.member.get('/api/v1/crm/companies/export?tag=');
    expect(badFilter.status).toBe(400);
    expect(badFilter.body.error.code).toBe('VALIDATION_FAILED');

    // Companies with a domain import back onto themselves (the domain is the key).
    const withDomains = await acme.member.get('/api/v1/crm/companies/export?prefix=formula.export');
    const exported = text(withDomains).trim().split('\n');
    expect(exported).toHaveLength(2);
    const reimported = await upload(acme.member, 'companies', exported.join('\r\n'), '?duplicates=update');
    expect(reimported.body).toMatchObject({ rows: 1, rejected: 0, created: 0, updated: 1 });
    const after = await acme.member.get(`/api/v1/crm/companies/${created.body.id}`);
    expect(after.body).toMatchObject({
      name: `'=HYPERLINK("http://evil")`,
      size: '51-200',
      address: { street: '1 Quay', postalCode: '1000', country: 'BE' },
      customFields: { segment: 'smb' },
    });
  });

  /**
   * For each resource: a record only tenant A (acme) holds, and a CSV whose
   * one record carries `word`, to find where an import landed.
   */
  const isolation = {
    contacts: {
      table: 'crm_contacts',
      marker: async () => {
        const res = await acme.member.post('/api/v1/crm/contacts', { name: 'Only Acme', email: 'only@acme-csv.example' });
        expect(res.status).toBe(201);
        return [res.body.id, res.body.email] as string[];
      },
      csv: (word: string) => `name,email\n${word},${word}@csv.example\n`,
    },
    companies: {
      table: 'crm_companies',
      marker: async () => {
        const res = await acme.member.post('/api/v1/crm/companies', { name: 'Only Acme Inc', domain: 'only-acme-csv.example' });
        expect(res.status).toBe(201);
        return [res.body.id, res.body.domain] as string[];
      },
      csv: (word: string) => `name,domain\n${word},${word}.example\n`,
    },
  } as const;

  for (const [resource, spec] of Object.entries(isolation) as [
    keyof typeof isolation,
    (typeof isolation)[keyof typeof isolation],
  ][]) {
    it(`${resource}: runs in the caller tenant only: keys need crm scopes, X-Tenant-Id must be a membership, JSON is refused`, async () => {
      const markers = await spec.marker();
      const otherKey = await apiKeyClient(globex.admin, { scopes: ['crm:read'] });
      const theirs = await otherKey.get(`/api/v1/crm/${resource}/export`);
      expect(theirs.status).toBe(200);
      expect(text(theirs).startsWith('id,name,')).toBe(true);
      for (const marker of markers) expect(text(theirs)).not.toContain(marker);
      const refused = await upload(otherKey, resource, spec.csv('refused'));
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe('INSUFFICIENT_SCOPE');
      const header = await globex.owner.get(`/api/v1/crm/${resource}/export`, { 'x-tenant-id': acme.id });
      expect(header.status).toBe(403);
      expect(header.body.error.code).toBe('TENANT_ACCESS_DENIED');
      const headerImport = await upload(globex.owner, resource, spec.csv('headed'), '', { 'x-tenant-id': acme.id });
      expect(headerImport.status).toBe(403);
      expect(headerImport.body.error.code).toBe('TENANT_ACCESS_DENIED');
      const word = `smuggled${resource}`;
      const smuggled = await upload(globex.owner, resource, spec.csv(word), `?tenantId=${acme.id}&tenant_id=${acme.id}`);
      expect(smuggled.body.created).toBe(1);
      const rows = await s.ownerQuery<{ tenant_id: string }>(`select tenant_id from app.${spec.table} where name = $1`, [word]);
      expect(rows).toEqual([{ tenant_id: globex.id }]);
      const json = await acme.member.post(`/api/v1/crm/${resource}/import`, { name: 'x' });
      expect(json.status).toBe(415);
      const anonymous = await new ApiClient(s.url).get(`/api/v1/crm/${resource}/export`);
      expect(anonymous.status).toBe(401);
    });
  }

  it("documents both resources' CSV routes in the OpenAPI document, with their key scopes", async () => {
    const doc = await new ApiClient(s.url).get('/api/openapi.json');
    expect(doc.status).toBe(200);
    for (const resource of ['contacts', 'companies']) {
      expect(doc.body.paths[`/api/v1/crm/${resource}/import`].post).toMatchObject({
        operationId: `crm.${resource}.import`,
        'x-palisade-scope': 'crm:write',
      });
      expect(doc.body.paths[`/api/v1/crm/${resource}/export`].get).toMatchObject({
        operationId: `crm.${resource}.export`,
        'x-palisade-scope': 'crm:read',
      });
    }
    const filters = doc.body.paths['/api/v1/crm/companies/export'].get.parameters.map((p: { name: string }) => p.name);
    expect(filters).toEqual(['q', 'prefix', 'tag', 'domain', 'industry']);
  });
});
