import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyRequest } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ApiClient, apiKeyClient, createTenant, PASSWORD, type TenantFixture } from '../../../../test/support/client.ts';
import { freeLoopbackPort } from '../../../../test/support/free-port.ts';
import { type Backend, describeEachBackend } from '../../../../test/support/harness.ts';
import { createFreshDatabase } from '../../../../test/support/postgres.ts';
import { TestInbox } from '../../../../test/support/smtp.ts';
import { createRequestContext } from '../../../api/context.ts';
import { IMPORT_PATH, neutralizeFormula, registerCrmCsvRoutes } from '../../../api/crm-csv.ts';
import { loadConfig } from '../../../config.ts';
import { openDatabase } from '../../../db/client.ts';
import { createServer, type PalisadeServer } from '../../../server.ts';

/**
 * A real server with the CSV routes. Until src/server.ts registers them
 * itself they are added here, before listening, exactly as server.ts would.
 */
async function startCsvServer(backend: Backend) {
  const dataDir = mkdtempSync(join(tmpdir(), 'palisade-csv-'));
  const fresh = backend === 'postgres' ? await createFreshDatabase() : undefined;
  const port = await freeLoopbackPort();
  const inbox = new TestInbox();
  const config = loadConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    SEED_DEMO: 'false',
    WORKER_ENABLED: 'false',
    SMTP_URL: await inbox.start(),
    AUTH_SECRET: 'test-secret-that-is-at-least-32-characters-long',
    ...(fresh ? { DATABASE_URL: fresh.url, APP_DATABASE_URL: fresh.appUrl, DATABASE_POOL_SIZE: '4' } : {}),
  });
  const database = backend === 'pglite' ? await openDatabase({ dataDir: 'memory://' }) : undefined;
  const server: PalisadeServer = await createServer(config, { database });
  if (!server.app.hasRoute({ method: 'POST', url: IMPORT_PATH })) {
    await registerCrmCsvRoutes(server.app, (req: FastifyRequest) =>
      createRequestContext({
        requestId: req.id,
        ip: req.ip,
        headers: new Headers(Object.entries(req.headers).filter((e): e is [string, string] => typeof e[1] === 'string')),
        services: server.services,
      }),
    );
  }
  const url = await server.start();
  return {
    url,
    inbox,
    ownerQuery: <R = Record<string, unknown>>(text: string, params?: unknown[]) => server.database.ownerQuery<R>(text, params),
    async close() {
      await server.stop();
      await database?.close();
      await inbox.stop();
      await fresh?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

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

/** Sends a CSV body as `client`; the answer is JSON (a report or an error). */
async function upload(client: ApiClient, csv: string, query = '', headers: Record<string, string> = {}) {
  const res = await fetch(`${client.baseUrl}/api/v1/crm/contacts/import${query}`, {
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

describeEachBackend('crm contacts CSV import and export', (backend) => {
  let s: Awaited<ReturnType<typeof startCsvServer>>;
  let acme: TenantFixture;
  let globex: TenantFixture;

  beforeAll(async () => {
    s = await startCsvServer(backend);
    [acme, globex] = await Promise.all([createTenant(s.url, s.inbox, 'acme'), createTenant(s.url, s.inbox, 'globex')]);
    const tier = { entity: 'contacts', key: 'tier', label: 'Tier', type: 'select', options: ['gold', 'silver'] };
    expect((await acme.admin.post('/api/v1/crm/custom-fields', tier)).status).toBe(201);
  });
  afterAll(() => s?.close());

  /** The body of a raw (non-JSON) response. */
  const text = (res: { body: unknown }) => String(res.body);
  const countIn = async (tenantId: string) =>
    (await s.ownerQuery<{ n: number }>('select count(*)::int as n from app.crm_contacts where tenant_id = $1', [tenantId]))[0]?.n;

  it('imports valid rows, rejects invalid ones with reasons, and deduplicates by email and by domain', async () => {
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
    const res = await upload(acme.member, csv);
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

  it('updates duplicates when asked, leaving empty cells alone', async () => {
    await acme.member.post('/api/v1/crm/contacts', { name: 'Old Name', email: 'upd@dedup.example', title: 'CTO', source: 'web' });
    const res = await upload(acme.member, 'name,email,title,source\nNew Name,UPD@dedup.example,,import\n', '?duplicates=update');
    expect(res.body).toMatchObject({ created: 0, updated: 1, skipped: 0 });
    const contact = (await acme.member.get('/api/v1/crm/contacts?email=upd@dedup.example')).body.items[0];
    expect(contact).toMatchObject({ name: 'New Name', title: 'CTO', source: 'import' });
  });

  it('all or nothing: one invalid row fails the import with field-level details and writes nothing', async () => {
    const before = await countIn(acme.id);
    const csv = 'name,email\nGood One,good1@atomic.example\nGood Two,good2@atomic.example\nBad,nope\n';
    const res = await upload(acme.member, csv, '?mode=atomic');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    expect(res.body.error.details).toEqual([{ path: 'rows.3.email', message: 'not an email address' }]);
    expect(await countIn(acme.id)).toBe(before);
    const ok = await upload(acme.member, 'name,email\nGood One,good1@atomic.example\n', '?mode=atomic');
    expect(ok.body).toMatchObject({ mode: 'atomic', committed: true, created: 1 });
    expect(await countIn(acme.id)).toBe((before ?? 0) + 1);
  });

  it('refuses unknown columns before writing, and reports a malformed file where it breaks', async () => {
    const before = await countIn(acme.id);
    const unknown = await upload(acme.member, 'name,email,salary\nX,x@malformed.example,1\n');
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details).toEqual([{ path: 'header.salary', message: 'unknown column' }]);
    expect(await countIn(acme.id)).toBe(before);

    const broken = await upload(acme.member, 'name,email\nFine,fine@malformed.example\n"Broken,b@malformed.example\n');
    expect(broken.status).toBe(200);
    expect(broken.body).toMatchObject({ created: 1, rejected: 1 });
    expect(broken.body.rejectedRows[0].errors[0].message).toMatch(/^malformed CSV/);
  });

  it('exports the tenant contacts as CSV that imports back, with filters and custom fields', async () => {
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
    expect(exported.length - 1).toBe(await countIn(acme.id));
    const reimported = await upload(acme.member, exported.join('\r\n'), '?duplicates=update');
    expect(reimported.body).toMatchObject({ rows: exported.length - 1, rejected: 0, created: 0, updated: exported.length - 1 });
    const formula = (await acme.member.get('/api/v1/crm/contacts?email=formula@export.example')).body.items[0];
    // The neutralizing quote is data on the way back in: exports are for people and spreadsheets first.
    expect(formula).toMatchObject({ name: "'=cmd|calc", customFields: { tier: 'silver' }, phones: ['+1 555 0100'] });
  });

  it('runs in the caller tenant only: keys need crm scopes, X-Tenant-Id must be a membership, JSON is refused', async () => {
    const marker = await acme.member.post('/api/v1/crm/contacts', { name: 'Only Acme', email: 'only@acme-csv.example' });
    expect(marker.status).toBe(201);
    const otherKey = await apiKeyClient(globex.admin, { scopes: ['crm:read'] });
    const theirs = await otherKey.get('/api/v1/crm/contacts/export');
    expect(theirs.status).toBe(200);
    expect(text(theirs).startsWith('id,name,email')).toBe(true);
    expect(text(theirs)).not.toContain('only@acme-csv.example');
    expect(text(theirs)).not.toContain(marker.body.id);
    const refused = await upload(otherKey, 'name\nX\n');
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('INSUFFICIENT_SCOPE');
    const header = await globex.owner.get('/api/v1/crm/contacts/export', { 'x-tenant-id': acme.id });
    expect(header.status).toBe(403);
    expect(header.body.error.code).toBe('TENANT_ACCESS_DENIED');
    const smuggled = await upload(globex.owner, 'name,email\nSmuggled,smuggled@csv.example\n', `?tenantId=${acme.id}`);
    expect(smuggled.body.created).toBe(1);
    const [row] = await s.ownerQuery<{ tenant_id: string }>('select tenant_id from app.crm_contacts where email = $1', [
      'smuggled@csv.example',
    ]);
    expect(row?.tenant_id).toBe(globex.id);
    const json = await acme.member.post('/api/v1/crm/contacts/import', { name: 'x' });
    expect(json.status).toBe(415);
    const anonymous = await new ApiClient(s.url).get('/api/v1/crm/contacts/export');
    expect(anonymous.status).toBe(401);
  });
});
