import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type ApiClient, apiKeyClient, createTenant, type TenantFixture } from '../../../../test/support/client.ts';
import { describeEachBackend, startTestServer, type TestServer } from '../../../../test/support/harness.ts';
import { CHUNK_OVERLAP_TOKENS, CHUNK_TARGET_TOKENS, chunkMarkdown, countTokens, MAX_HEADING_LINE_CHARS } from './chunking.ts';
import { fuse, type Passage } from './search.ts';
import { configureKnowledge } from './settings.ts';
import { type EmbeddingsServer, hashedEmbedding, startEmbeddingsServer } from './testing/embeddings-server.ts';
import { minimalPdf } from './testing/pdf.ts';

const DIMENSIONS = 64;
const MODEL = 'hash-embed-1';
const MAX_UPLOAD = 64 * 1024;

describe('chunking', () => {
  const sentences = (n: number, topic: string) =>
    Array.from({ length: n }, (_, i) => `Sentence ${i} is about ${topic} and explains it in some detail.`).join(' ');

  it('splits by headings, keeps the heading path, and never spans two sections', () => {
    const md = [
      '# Handbook',
      'Welcome text.',
      '## Billing',
      'Invoices go out monthly.',
      '',
      'Refunds take a week.',
      '### Cards',
      'We accept cards.',
      '```',
      '# a comment in code, not a heading',
      '```',
      '## Support',
      'Email us.',
    ].join('\n');
    const chunks = chunkMarkdown(md);
    expect(chunks.map((c) => c.heading)).toEqual([
      'Handbook',
      'Handbook > Billing',
      'Handbook > Billing > Cards',
      'Handbook > Support',
    ]);
    expect(chunks[1]?.text).toBe('Invoices go out monthly.\n\nRefunds take a week.');
    expect(chunks[2]?.text).toContain('# a comment in code, not a heading');
    expect(chunks.map((c) => c.position)).toEqual([0, 1, 2, 3]);
  });

  it('packs paragraphs to the target size with overlap, and counts tokens exactly', () => {
    const md = `# Topic\n\n${sentences(80, 'shipping')}\n\n${sentences(40, 'returns')}`;
    const chunks = chunkMarkdown(md, { targetTokens: 120, overlapTokens: 30 });
    expect(chunks.length).toBeGreaterThan(3);
    for (const chunk of chunks) {
      expect(chunk.tokenCount).toBe(countTokens(chunk.text));
      expect(chunk.tokenCount).toBeLessThanOrEqual(120);
      expect(chunk.heading).toBe('Topic');
    }
    // Each chunk after the first starts with the end of the one before it.
    for (let i = 1; i < chunks.length; i++) {
      const head = chunks[i]?.text.split('\n\n')[0] ?? '';
      expect(countTokens(head)).toBeLessThanOrEqual(30);
      expect(chunks[i - 1]?.text.endsWith(head)).toBe(true);
    }
    // Nothing is lost: every sentence appears in some chunk.
    for (let i = 0; i < 80; i++) expect(chunks.some((c) => c.text.includes(`Sentence ${i} is about shipping`))).toBe(true);
    expect(CHUNK_OVERLAP_TOKENS).toBeGreaterThan(0);
  });

  it('splits a giant sentence at token boundaries and treats special-token text as text', () => {
    const chunks = chunkMarkdown(`${'word '.repeat(1000)}<|endoftext|>`, { targetTokens: 100, overlapTokens: 0 });
    expect(chunks.length).toBeGreaterThanOrEqual(10);
    for (const chunk of chunks) expect(chunk.tokenCount).toBeLessThanOrEqual(100);
    expect(chunks.at(-1)?.text).toContain('<|endoftext|>');
  });

  it('reads ATX headings as CommonMark does, and a heading line of any length in time linear in it', () => {
    const headingsOf = (markdown: string) => chunkMarkdown(markdown).map((c) => c.heading);
    expect(headingsOf('## Title ##\n\ntext')).toEqual(['Title']);
    expect(headingsOf('# C#\n\ntext')).toEqual(['C#']);
    expect(headingsOf('   ### Indented \t\n\ntext')).toEqual(['Indented']);
    expect(headingsOf('#\tTabbed #  \n\ntext')).toEqual(['Tabbed']);
    for (const notHeading of ['#hashtag', '    # indented code', '####### seven', '# ###']) {
      expect(headingsOf(`${notHeading}\n\ntext`), notHeading).toEqual(['']);
    }
    const inner = ' '.repeat(MAX_HEADING_LINE_CHARS - 20);
    expect(headingsOf(`# a${inner}b ###    \n\ntext`)).toEqual([`a${inner}b`]);
    // The old pattern, /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/, backtracked for minutes over this line. It is text
    // now: longer than a heading may be.
    const line = `# a${' '.repeat(8000)}b`;
    const chunks = chunkMarkdown(`${line}\n\nbody`);
    expect(chunks).toEqual([{ position: 0, heading: '', text: `${line}\n\nbody`, tokenCount: countTokens(`${line}\n\nbody`) }]);
  });

  it('chunks a 200,000-character word within the token target, covering all of it', () => {
    // Random letters, so that no piece repeats: counting this word's tokens in one piece took time quadratic in its length.
    let seed = 1;
    const word = Array.from({ length: 200_000 }, () => {
      seed = (seed * 48_271) % 2_147_483_647;
      return String.fromCharCode(97 + Math.floor((seed / 2_147_483_647) * 26));
    }).join('');
    const chunks = chunkMarkdown(word);
    expect(chunks.length).toBeGreaterThan(100);
    let covered = 0;
    for (const chunk of chunks) {
      expect(chunk.tokenCount).toBe(countTokens(chunk.text));
      expect(chunk.tokenCount).toBeLessThanOrEqual(CHUNK_TARGET_TOKENS);
      // A chunk holds the overlap carried from the one before (ending where that one ended) and what follows it.
      for (const part of chunk.text.split('\n\n')) {
        const at = word.indexOf(part, Math.max(0, covered - part.length));
        expect(at).toBeGreaterThanOrEqual(0);
        expect(at).toBeLessThanOrEqual(covered);
        covered = Math.max(covered, at + part.length);
      }
    }
    expect(covered).toBe(word.length);
  });
});

describe('reciprocal rank fusion', () => {
  const p = (id: string): Passage => ({
    documentId: 'd',
    documentTitle: 'D',
    chunkId: id,
    position: 0,
    text: id,
    snippet: id,
    score: 0,
  });
  it('scores 1/(60 + rank) summed over lists', () => {
    const fused = fuse(
      [
        [p('a'), p('b'), p('c')],
        [p('c'), p('a')],
      ],
      3,
    );
    expect(fused.map((x) => x.chunkId)).toEqual(['a', 'c', 'b']);
    expect(fused[0]?.score).toBeCloseTo(1 / 61 + 1 / 62, 10);
    expect(fused[2]?.score).toBeCloseTo(1 / 62, 10);
  });
});

/** Uploads a file as multipart/form-data with an API key (the transport under test is the upload route). */
async function upload(
  t: TestServer,
  key: ApiClient,
  file: { name: string; bytes: Uint8Array | string; type?: string },
  fields: Record<string, string> = {},
  headers: Record<string, string> = {},
) {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.set(k, v);
  const bytes = typeof file.bytes === 'string' ? Buffer.from(file.bytes) : file.bytes;
  form.set('file', new Blob([bytes], { type: file.type ?? 'application/octet-stream' }), file.name);
  const response = await fetch(`${t.url}/api/v1/ai/knowledge/documents/upload`, {
    method: 'POST',
    headers: { 'x-api-key': key.apiKey ?? '', ...headers },
    body: form,
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

describeEachBackend('knowledge base', (backend) => {
  let t: TestServer;
  let embeddings: EmbeddingsServer;
  let a: TenantFixture;
  let aKey: ApiClient;

  beforeAll(async () => {
    embeddings = await startEmbeddingsServer(DIMENSIONS);
    t = await startTestServer(backend, {
      EMBEDDINGS_BASE_URL: embeddings.url,
      EMBEDDINGS_MODEL: MODEL,
      EMBEDDINGS_DIMENSIONS: String(DIMENSIONS),
      KNOWLEDGE_MAX_UPLOAD_BYTES: String(MAX_UPLOAD),
    });
    a = await createTenant(t.url, t.inbox, 'kb');
    aKey = await apiKeyClient(a.admin, { role: 'admin', scopes: ['ai:write'] });
  });
  afterAll(async () => {
    await t?.close();
    await embeddings?.close();
  });

  const counts = async (tenantId: string) => {
    const [row] = await t.ownerQuery<{ documents: number; chunks: number }>(
      `select (select count(*)::int from app.knowledge_documents where tenant_id = $1) as documents,
              (select count(*)::int from app.knowledge_chunks where tenant_id = $1) as chunks`,
      [tenantId],
    );
    return row;
  };

  it('uploads text, Markdown, HTML and PDF files, chunked, embedded and searchable', async () => {
    const txt = await upload(t, aKey, {
      name: 'notes.txt',
      bytes: 'Our office opens at nine.\n\nParking is behind the building.',
    });
    expect(txt.status, JSON.stringify(txt.body)).toBe(201);
    expect(txt.body).toMatchObject({
      title: 'notes',
      sourceType: 'text',
      status: 'ready',
      embeddingModel: MODEL,
      category: 'general',
    });
    expect(txt.body.chunkCount).toBe(1);

    const md = await upload(
      t,
      aKey,
      {
        name: 'guide.md',
        bytes: '# Guide\n\n## Returns\n\nReturns are accepted within thirty days.\n\n## Shipping\n\nWe ship worldwide.',
      },
      { title: 'Customer guide', category: 'policies' },
    );
    expect(md.status, JSON.stringify(md.body)).toBe(201);
    expect(md.body).toMatchObject({ title: 'Customer guide', category: 'policies', sourceType: 'markdown', chunkCount: 2 });
    const chunks = await aKey.get(`/api/v1/ai/knowledge/documents/${md.body.id}/chunks`);
    expect(chunks.status).toBe(200);
    expect(chunks.body.items.map((c: { heading: string }) => c.heading)).toEqual(['Guide > Returns', 'Guide > Shipping']);
    expect(chunks.body.items.every((c: { embedded: boolean; tokenCount: number }) => c.embedded && c.tokenCount > 0)).toBe(true);

    const html = await upload(t, aKey, {
      name: 'faq.html',
      bytes:
        '<html><head><title>FAQ</title><script>var secretToken = 1;</script></head><body><h1>FAQ</h1><p>Gift cards <b>never</b> expire.</p></body></html>',
    });
    expect(html.status, JSON.stringify(html.body)).toBe(201);
    expect(html.body.sourceType).toBe('html');
    const [htmlChunk] = await t.ownerQuery<{ heading: string; text: string }>(
      'select heading, text from app.knowledge_chunks where tenant_id = $1 and document_id = $2',
      [a.id, html.body.id],
    );
    expect(htmlChunk).toEqual({ heading: 'FAQ', text: 'Gift cards **never** expire.' });

    const pdf = await upload(t, aKey, {
      name: 'warranty.pdf',
      bytes: minimalPdf(['Warranty terms', 'The warranty lasts two years.']),
    });
    expect(pdf.status, JSON.stringify(pdf.body)).toBe(201);
    expect(pdf.body).toMatchObject({
      sourceType: 'pdf',
      status: 'ready',
      chunkCount: 1,
      metadata: { pages: 1, filename: 'warranty.pdf' },
    });

    const found = await aKey.get('/api/v1/ai/knowledge/search?q=warranty%20years&mode=fulltext');
    expect(found.status).toBe(200);
    expect(found.body.items[0]).toMatchObject({ documentId: pdf.body.id, documentTitle: 'warranty', position: 0 });
  });

  it('refuses a bad PDF, a wrong type, an empty file and a too large file, storing nothing', async () => {
    const b = await createTenant(t.url, t.inbox, 'kb-bad');
    const key = await apiKeyClient(b.admin, { scopes: ['ai:write'] });
    const cases = [
      { file: { name: 'broken.pdf', bytes: '%PDF-1.4\nthis is not really a pdf' }, status: 400, message: /could not be read/ },
      { file: { name: 'fake.pdf', bytes: 'plain text pretending' }, status: 400, message: /not a PDF/ },
      { file: { name: 'program.exe', bytes: 'MZ...' }, status: 400, message: /Unsupported file type/ },
      { file: { name: 'empty.md', bytes: '  \n\n ' }, status: 400, message: /no text/ },
      { file: { name: 'latin1.txt', bytes: new Uint8Array([0x63, 0x61, 0x66, 0xe9]) }, status: 400, message: /not UTF-8/ },
      { file: { name: 'huge.txt', bytes: 'x'.repeat(MAX_UPLOAD + 1) }, status: 413, message: /larger than/ },
    ];
    for (const c of cases) {
      const res = await upload(t, key, c.file);
      expect(res.status, `${c.file.name}: ${JSON.stringify(res.body)}`).toBe(c.status);
      expect(res.body.error.details[0].path).toBe('file');
      expect(res.body.error.details[0].message).toMatch(c.message);
    }
    const noFile = await fetch(`${t.url}/api/v1/ai/knowledge/documents/upload`, {
      method: 'POST',
      headers: { 'x-api-key': key.apiKey ?? '', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(noFile.status).toBe(415);
    expect(await counts(b.id)).toEqual({ documents: 0, chunks: 0 });
  });

  it('authenticates uploads like procedures: scope, tenant header, no credentials', async () => {
    const b = await createTenant(t.url, t.inbox, 'kb-auth');
    const readOnly = await apiKeyClient(b.admin, { scopes: ['ai:read'] });
    const file = { name: 'a.txt', bytes: 'hello' };
    expect((await upload(t, readOnly, file)).body.error.code).toBe('INSUFFICIENT_SCOPE');
    const writer = await apiKeyClient(b.admin, { scopes: ['ai:write'] });
    const crossed = await upload(t, writer, file, {}, { 'x-tenant-id': a.id });
    expect(crossed.status).toBe(403);
    const anonymous = await upload(t, { apiKey: undefined } as ApiClient, file);
    expect(anonymous.status).toBe(401);
    const before = await counts(a.id);
    const ok = await upload(t, writer, file, { tenantId: a.id } as Record<string, string>);
    expect(ok.status).toBe(201);
    expect(await counts(a.id)).toEqual(before);
    expect((await counts(b.id))?.documents).toBe(1);
    const openApi = (await (await fetch(`${t.url}/api/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(openApi.paths['/api/v1/ai/knowledge/documents/upload']).toBeDefined();
    expect(openApi.paths['/api/v1/ai/knowledge/search']).toBeDefined();
  });

  it('creates documents from JSON, searches full-text with highlighted, escaped snippets', async () => {
    const created = await a.member.post('/api/v1/ai/knowledge/documents', {
      title: 'Pricing <b>page</b>',
      category: 'sales',
      format: 'markdown',
      content: '# Pricing\n\nThe premium plan costs forty euros per month. Discounts apply to <script> yearly billing.',
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ status: 'ready', chunkCount: 1, sizeBytes: expect.any(Number) });
    const res = await a.member.get('/api/v1/ai/knowledge/search?q=premium%20plan%20costs&mode=fulltext&category=sales');
    expect(res.status).toBe(200);
    expect(res.body.mode).toBe('fulltext');
    expect(res.body.items).toHaveLength(1);
    expect(res.body.items[0].snippet).toContain('<mark>premium</mark>');
    expect(res.body.items[0].snippet).toContain('&lt;script&gt;');
    expect(res.body.items[0].snippet).not.toContain('<script>');
    const otherCategory = await a.member.get('/api/v1/ai/knowledge/search?q=premium&mode=fulltext&category=hr');
    expect(otherCategory.body.items).toEqual([]);
    const viaTrpc = await a.member.trpc('query', 'ai.knowledge.search', { q: 'discounts yearly', mode: 'fulltext' });
    expect(viaTrpc.status).toBe(200);
  });

  it('searches semantically and by hybrid fusion through the embeddings endpoint', async () => {
    const c = await createTenant(t.url, t.inbox, 'kb-sem');
    const doc = async (title: string, content: string) =>
      (await c.member.post('/api/v1/ai/knowledge/documents', { title, content })).body.id as string;
    const lighthouse = await doc('Lighthouse', 'The old lighthouse keeper polishes the lamp lens every evening.');
    const garden = await doc('Garden', 'Tomatoes and basil grow well together in a sunny garden bed.');
    const calls = embeddings.calls.length;
    const semantic = await c.member.get('/api/v1/ai/knowledge/search?q=lamp%20lens%20keeper&mode=semantic');
    expect(semantic.status, JSON.stringify(semantic.body)).toBe(200);
    expect(embeddings.calls.length).toBe(calls + 1);
    expect(semantic.body.mode).toBe('semantic');
    expect(semantic.body.items.map((p: Passage) => p.documentId)).toEqual([lighthouse, garden]);
    expect(semantic.body.items[0].score).toBeGreaterThan(semantic.body.items[1].score);
    // One cost event per embeddings call: one per document created, one per query embedded.
    const costs = await t.ownerQuery<{ units: number; model: string }>(
      "select units::float8 as units, model from app.ai_cost_events where tenant_id = $1 and service = 'embedding' order by created_at",
      [c.id],
    );
    expect(costs).toHaveLength(3);
    expect(costs.every((row) => row.model === MODEL && row.units > 0)).toBe(true);
    // "basil" matches garden by words; hybrid puts it first and keeps the other from the semantic list.
    const hybrid = await c.member.get('/api/v1/ai/knowledge/search?q=basil&limit=5');
    expect(hybrid.body.mode).toBe('hybrid');
    expect(hybrid.body.items[0].documentId).toBe(garden);
    expect(hybrid.body.items[0].score).toBeCloseTo(1 / 61 + 1 / 61, 10);
    expect(hybrid.body.items.map((p: Passage) => p.documentId)).toContain(lighthouse);
    // The embeddings service failing: hybrid degrades to full-text, semantic says so.
    embeddings.failWith = 500;
    try {
      const degraded = await c.member.get('/api/v1/ai/knowledge/search?q=basil');
      expect(degraded.body.mode).toBe('fulltext');
      expect(degraded.body.items[0].documentId).toBe(garden);
      const refused = await c.member.get('/api/v1/ai/knowledge/search?q=basil&mode=semantic');
      expect(refused.status).toBe(503);
      const failedDoc = await c.member.post('/api/v1/ai/knowledge/documents', { title: 'Later', content: 'Some text.' });
      expect(failedDoc.body).toMatchObject({ status: 'failed', error: expect.stringMatching(/500/) });
    } finally {
      embeddings.failWith = null;
    }
  });

  it('deletes a document with its chunks, with an audit entry and events', async () => {
    const d = await createTenant(t.url, t.inbox, 'kb-del');
    const doc = await d.member.post('/api/v1/ai/knowledge/documents', { title: 'Temp', content: '# A\n\none\n\n# B\n\ntwo' });
    expect((await counts(d.id))?.chunks).toBe(2);
    const other = await a.member.delete(`/api/v1/ai/knowledge/documents/${doc.body.id}`);
    expect(other.status).toBe(404);
    const res = await d.member.delete(`/api/v1/ai/knowledge/documents/${doc.body.id}`);
    expect(res.status).toBe(200);
    expect(await counts(d.id)).toEqual({ documents: 0, chunks: 0 });
    expect((await d.member.get(`/api/v1/ai/knowledge/documents/${doc.body.id}`)).status).toBe(404);
    const audit = await t.ownerQuery('select 1 from app.audit_log where tenant_id = $1 and action = $2', [
      d.id,
      'knowledge_document.deleted',
    ]);
    expect(audit).toHaveLength(1);
    const events = await t.ownerQuery<{ type: string }>(
      "select type from app.events where tenant_id = $1 and type like 'knowledge_document.%' order by occurred_at",
      [d.id],
    );
    expect(events.map((e) => e.type)).toEqual(['knowledge_document.created', 'knowledge_document.deleted']);
  });

  it('lists with filters and cursor pagination', async () => {
    const e = await createTenant(t.url, t.inbox, 'kb-list');
    for (const [i, category] of ['x', 'y', 'x', 'x'].entries()) {
      await e.member.post('/api/v1/ai/knowledge/documents', { title: `Doc ${i}`, category, content: `Body ${i}` });
    }
    const first = await e.member.get('/api/v1/ai/knowledge/documents?category=x&limit=2&sort=title');
    expect(first.body.items.map((d: { title: string }) => d.title)).toEqual(['Doc 0', 'Doc 2']);
    const second = await e.member.get(
      `/api/v1/ai/knowledge/documents?category=x&limit=2&sort=title&cursor=${first.body.nextCursor}`,
    );
    expect(second.body.items.map((d: { title: string }) => d.title)).toEqual(['Doc 3']);
    expect(second.body.nextCursor).toBeNull();
    const ready = await e.member.get('/api/v1/ai/knowledge/documents?status=failed');
    expect(ready.body.items).toEqual([]);
  });

  it('re-indexes documents after the embeddings model changes (admins only)', async () => {
    const f = await createTenant(t.url, t.inbox, 'kb-reindex');
    const doc = await f.member.post('/api/v1/ai/knowledge/documents', {
      title: 'Manual',
      content: 'Reset the router by holding the button.',
    });
    const query = '/api/v1/ai/knowledge/search?q=router%20button&mode=semantic';
    expect((await f.member.get(query)).body.items).toHaveLength(1);
    configureKnowledge({ ...t.config, EMBEDDINGS_MODEL: 'hash-embed-2' });
    try {
      // Vectors of another model are not comparable: the document drops out of semantic search until re-indexed.
      expect((await f.member.get(query)).body.items).toEqual([]);
      expect((await f.member.post('/api/v1/ai/knowledge/reindex', {})).status).toBe(403);
      const res = await f.admin.post('/api/v1/ai/knowledge/reindex', {});
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toEqual({ reindexed: 1, failed: 0, remaining: 0, model: 'hash-embed-2' });
      expect(embeddings.calls.at(-2)?.model).toBe('hash-embed-2');
      const after = await f.member.get(`/api/v1/ai/knowledge/documents/${doc.body.id}`);
      expect(after.body).toMatchObject({ status: 'ready', embeddingModel: 'hash-embed-2', chunkCount: 1 });
      expect((await f.member.get(query)).body.items).toHaveLength(1);
      const audit = await t.ownerQuery<{ action: string }>(
        "select action from app.audit_log where tenant_id = $1 and action like 'knowledge%' order by created_at",
        [f.id],
      );
      expect(audit.map((r) => r.action)).toEqual(['knowledge_document.reindexed', 'knowledge.reindexed']);
    } finally {
      configureKnowledge(t.config);
    }
    const one = await f.admin.post(`/api/v1/ai/knowledge/documents/${doc.body.id}/reindex`, {});
    expect(one.body).toMatchObject({ status: 'ready', embeddingModel: MODEL });
  });

  it('keeps a document searchable by its previous chunks while it is re-indexed and after the re-index fails', async () => {
    const g = await createTenant(t.url, t.inbox, 'kb-reindex-failed');
    const created = await g.member.post('/api/v1/ai/knowledge/documents', {
      title: 'Heating',
      content: 'Bleed the radiator valve before the heating season starts.',
    });
    expect(created.body).toMatchObject({ status: 'ready', embeddingModel: MODEL, chunkCount: 1 });
    const id = created.body.id as string;
    const chunksOf = () =>
      t.ownerQuery<{ id: string; text: string; embedded: boolean }>(
        `select id, text, embedding is not null as embedded from app.knowledge_chunks
          where tenant_id = $1 and document_id = $2 order by position`,
        [g.id, id],
      );
    const found = async (mode: 'fulltext' | 'semantic') => {
      const res = await g.member.get(`/api/v1/ai/knowledge/search?q=radiator%20valve&mode=${mode}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body.items.map((p: Passage) => ({ chunkId: p.chunkId, documentId: p.documentId, text: p.text }));
    };
    const asPassages = (chunks: Array<{ id: string; text: string }>) =>
      chunks.map((c) => ({ chunkId: c.id, documentId: id, text: c.text }));
    const previous = await chunksOf();
    expect(previous.map((c) => c.embedded)).toEqual([true]);

    // The embeddings service holds the re-index's request, then fails it.
    let openGate = () => {};
    embeddings.gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    embeddings.failWith = 500;
    try {
      const reindex = g.admin.post(`/api/v1/ai/knowledge/documents/${id}/reindex`, {});
      try {
        await vi.waitFor(() => expect(embeddings.waiting).toBe(1), { timeout: 30_000, interval: 20 });
        expect((await g.member.get(`/api/v1/ai/knowledge/documents/${id}`)).body.status).toBe('processing');
        expect(await found('fulltext')).toEqual(asPassages(previous));
      } finally {
        embeddings.gate = null;
        openGate();
      }
      const failed = await reindex;
      expect(failed.status, JSON.stringify(failed.body)).toBe(200);
      expect(failed.body).toMatchObject({
        status: 'failed',
        error: expect.stringMatching(/500/),
        embeddingModel: MODEL,
        chunkCount: 1,
      });
    } finally {
      embeddings.failWith = null;
    }
    // Its previous chunks, with their vectors, are still what search finds.
    expect(await chunksOf()).toEqual(previous);
    expect(await found('fulltext')).toEqual(asPassages(previous));
    expect(await found('semantic')).toEqual(asPassages(previous));
    const failedOnes = await g.member.get('/api/v1/ai/knowledge/documents?status=failed');
    expect(failedOnes.body.items.map((d: { id: string }) => d.id)).toEqual([id]);

    // Retried with the service back, the re-index replaces them.
    const retried = await g.admin.post(`/api/v1/ai/knowledge/documents/${id}/reindex`, {});
    expect(retried.body).toMatchObject({ status: 'ready', error: null, embeddingModel: MODEL, chunkCount: 1 });
    const replaced = await chunksOf();
    expect(replaced.map((c) => c.id)).not.toEqual(previous.map((c) => c.id));
    expect(await found('semantic')).toEqual(asPassages(replaced));
  });

  it('gives a tenant holding 1% of all chunks its k nearest, through the HNSW index and the exact path alike', async () => {
    const big = await createTenant(t.url, t.inbox, 'kb-big');
    const small = await createTenant(t.url, t.inbox, 'kb-small');
    // 1,980 chunks in one tenant and 20 in the other, with deterministic vectors, written as the owner.
    const seed = async (tenantId: string, n: number) => {
      const [docRow] = await t.ownerQuery<{ id: string }>(
        `insert into app.knowledge_documents (tenant_id, title, source_type, status, size_bytes, content, content_hash, embedding_model)
         values ($1, 'Seeded', 'text', 'ready', 1, 'x', 'x', $2) returning id`,
        [tenantId, MODEL],
      );
      const texts = Array.from(
        { length: n },
        (_, i) => `item ${i} colour ${['red', 'green', 'blue', 'amber'][i % 4]} size ${i % 7} shape ${i % 5}`,
      );
      await t.ownerQuery(
        `insert into app.knowledge_chunks (tenant_id, document_id, position, text, token_count, embedding)
         select $1, $2, i - 1, t, 5, (select array_agg(v::real order by o) from jsonb_array_elements_text(e) with ordinality as x(v, o))
           from unnest($3::text[], $4::jsonb[]) with ordinality as u(t, e, i)`,
        [tenantId, docRow?.id, texts, texts.map((x) => JSON.stringify(hashedEmbedding(x, DIMENSIONS)))],
      );
    };
    await seed(big.id, 1980);
    await seed(small.id, 20);
    const query = 'colour blue size 3 shape 2';
    const q = `[${hashedEmbedding(query, DIMENSIONS).join(',')}]`;
    const exact = await t.ownerQuery<{ id: string }>(
      `select id from app.knowledge_chunks where tenant_id = $1
        order by app.knowledge_cosine_distance(embedding, translate($2, '[]', '{}')::real[]), id limit 10`,
      [small.id, q],
    );
    const hasIndex = await t.ownerQuery("select 1 from pg_indexes where indexname = 'knowledge_chunks_embedding_hnsw_64'");
    expect(hasIndex.length).toBe(
      t.backend === 'pglite' ? 1 : (await t.ownerQuery("select 1 from pg_extension where extname = 'vector'")).length,
    );
    if (t.backend === 'pglite') {
      // The mechanism, shown on the HNSW index itself (PGlite is one connection, so these statements share a transaction):
      // a plain index scan returns ef_search candidates from all tenants and the 1% tenant keeps few of them;
      // pgvector's iterative scan keeps walking the graph until the tenant has its k.
      const nearest = async (iterative: 'off' | 'relaxed_order') => {
        await t.ownerQuery('begin');
        try {
          await t.ownerQuery('set local enable_seqscan = off');
          await t.ownerQuery(`set local hnsw.iterative_scan = ${iterative}`);
          await t.ownerQuery('set local hnsw.ef_search = 40');
          const sqlText = `select id from app.knowledge_chunks where tenant_id::text = $1 and array_length(embedding, 1) = 64
            order by embedding::vector(64) <=> $2::vector(64) limit 10`;
          const plan = await t.ownerQuery<Record<string, string>>(`explain ${sqlText}`, [small.id, q]);
          expect(JSON.stringify(plan)).toContain('knowledge_chunks_embedding_hnsw_64');
          return await t.ownerQuery<{ id: string }>(sqlText, [small.id, q]);
        } finally {
          await t.ownerQuery('rollback');
        }
      };
      expect((await nearest('off')).length).toBeLessThan(10);
      expect((await nearest('relaxed_order')).length).toBe(10);
    }
    for (const exactSearchMaxChunks of [0, 20_000]) {
      // 0 sends every tenant through the HNSW index; the default searches a tenant this small exactly.
      configureKnowledge({ ...t.config, KNOWLEDGE_EXACT_SEARCH_MAX_CHUNKS: exactSearchMaxChunks });
      try {
        const res = await small.member.get(`/api/v1/ai/knowledge/search?q=${encodeURIComponent(query)}&mode=semantic&limit=10`);
        expect(res.status).toBe(200);
        expect(res.body.items).toHaveLength(10);
        const ids = res.body.items.map((p: Passage) => p.chunkId);
        const recall = exact.filter((r) => ids.includes(r.id)).length / 10;
        expect(recall, `recall with exactSearchMaxChunks=${exactSearchMaxChunks}`).toBeGreaterThanOrEqual(0.9);
      } finally {
        configureKnowledge(t.config);
      }
    }
  });
});
