import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable, type Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { apiKeyClient, createTenant } from '../../../../test/support/client.ts';
import { freeLoopbackPort } from '../../../../test/support/free-port.ts';
import { createFreshDatabase, type FreshDatabase } from '../../../../test/support/postgres.ts';
import { TestInbox } from '../../../../test/support/smtp.ts';

/**
 * The import of 100,000 rows in a server process whose heap is capped at
 * 256 MB: if the import (or the export after it) held the file, its rows or
 * its report in memory, the process would die or its heap would grow with
 * the file. The server runs in a child process so the cap applies to it
 * alone; this file only feeds it the CSV and reads the results.
 */

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const ROWS = 100_000;
const MB = 1024 * 1024;

// The child: a real server (with the CSV routes, as src/server.ts registers
// them) that reports its heap on request. Plain JavaScript, so no build step.
const CHILD = `
import { getHeapStatistics } from 'node:v8';
const root = process.env.PALISADE_ROOT;
const { loadConfig } = await import(root + 'src/config.ts');
const { createServer } = await import(root + 'src/server.ts');
const { openDatabase } = await import(root + 'src/db/client.ts');
const config = loadConfig(JSON.parse(process.env.PALISADE_CHILD_ENV));
const database = config.DATABASE_URL ? undefined : await openDatabase({ dataDir: 'memory://' });
const server = await createServer(config, { database });
const url = await server.start();
let peak = 0;
const sample = () => { peak = Math.max(peak, process.memoryUsage().heapUsed); };
setInterval(sample, 10).unref();
const reply = (value) => process.stdout.write(JSON.stringify(value) + '\\n');
reply({ url });
process.stdin.setEncoding('utf8');
let buffered = '';
for await (const chunk of process.stdin) {
  buffered += chunk;
  for (let i = buffered.indexOf('\\n'); i >= 0; i = buffered.indexOf('\\n')) {
    const command = buffered.slice(0, i);
    buffered = buffered.slice(i + 1);
    if (command === 'reset') { peak = process.memoryUsage().heapUsed; reply({ heapUsed: peak }); }
    if (command === 'peak') { sample(); reply({ peak, limit: getHeapStatistics().heap_size_limit }); }
    if (command === 'stop') { await server.stop(); await database?.close(); process.exit(0); }
  }
}
`;

type Child = ChildProcessByStdio<Writable, Readable, null>;

/** The CSV, generated as it is sent: 10 rows with a bad email, 3 repeating an earlier email in other case, 100 companies. */
async function* csvLines(): AsyncGenerator<string> {
  yield 'name,email,tags,company_domain\n';
  let chunk = '';
  for (let i = 1; i <= ROWS; i++) {
    const email = i % 10_000 === 0 ? `broken-${i}` : i % 25_000 === 1 && i > 1 ? 'PERSON1@big.example' : `person${i}@big.example`;
    chunk += `Person ${i},${email},bulk;row${i % 7},company${i % 100}.example\n`;
    if (i % 1000 === 0) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}

/**
 * One backend, not both: the heap under test is the server's JavaScript heap,
 * which holds the same rows whichever database sits behind it, and 100,000
 * rows through each backend would double the slowest test of the suite.
 * Server PostgreSQL when it is reachable (always in CI), PGlite otherwise.
 */
const backend = inject('serverPostgres') ? 'postgres' : 'pglite';

describe(`crm contacts import of 100,000 rows under a 256 MB heap [${backend}]`, () => {
  let child: Child;
  let inbox: TestInbox;
  let fresh: FreshDatabase | undefined;
  let url: string;
  let dataDir: string;
  let answers: AsyncIterator<string>;

  const ask = async (command: string): Promise<Record<string, number>> => {
    child.stdin.write(`${command}\n`);
    const next = await answers.next();
    if (next.done) throw new Error('the server process ended');
    return JSON.parse(next.value);
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'palisade-import-memory-'));
    inbox = new TestInbox();
    const smtpUrl = await inbox.start();
    fresh = backend === 'postgres' ? await createFreshDatabase() : undefined;
    const port = await freeLoopbackPort();
    const env = {
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(port),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
      SEED_DEMO: 'false',
      WORKER_ENABLED: 'false',
      SMTP_URL: smtpUrl,
      AUTH_SECRET: 'test-secret-that-is-at-least-32-characters-long',
      ...(fresh ? { DATABASE_URL: fresh.url, APP_DATABASE_URL: fresh.appUrl, DATABASE_POOL_SIZE: '4' } : {}),
    };
    child = spawn(process.execPath, ['--max-old-space-size=256', '--import', 'tsx', '--input-type=module', '--eval', CHILD], {
      cwd: ROOT,
      env: { ...process.env, PALISADE_ROOT: ROOT, PALISADE_CHILD_ENV: JSON.stringify(env) },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    answers = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const first = await answers.next();
    if (first.done) throw new Error('the server process did not start');
    url = JSON.parse(first.value).url;
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin.write('stop\n');
      await exited;
    }
    await inbox?.stop();
    await fresh?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('imports every valid row and exports them again while the heap stays flat', { timeout: 900_000 }, async () => {
    const acme = await createTenant(url, inbox, 'big');
    const key = await apiKeyClient(acme.admin, { scopes: ['crm:write'] });
    const baseline = (await ask('reset')).heapUsed as number;
    const started = Date.now();

    const res = await fetch(`${url}/api/v1/crm/contacts/import`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', 'x-api-key': key.apiKey as string },
      body: Readable.toWeb(Readable.from(csvLines())) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    const report = (await res.json()) as any;
    expect(res.status).toBe(200);
    expect(report).toMatchObject({
      committed: true,
      rows: ROWS,
      created: ROWS - 13,
      skipped: 3,
      rejected: 10,
      companiesCreated: 100,
    });
    expect(report.rejectedRows.map((r: { row: number }) => r.row)).toEqual(
      Array.from({ length: 10 }, (_, i) => (i + 1) * 10_000),
    );
    const afterImport = await ask('peak');
    const imported = Date.now();

    // The export streams back every contact; the lines are counted, never kept.
    const exported = await fetch(`${url}/api/v1/crm/contacts/export`, { headers: { 'x-api-key': key.apiKey as string } });
    expect(exported.status).toBe(200);
    let lines = 0;
    const decoder = new TextDecoder();
    for await (const chunk of exported.body as unknown as AsyncIterable<Uint8Array>) {
      for (const c of decoder.decode(chunk, { stream: true })) if (c === '\n') lines++;
    }
    expect(lines).toBe(ROWS - 13 + 1);
    const afterExport = await ask('peak');

    // Holding the rows would cost well over this: the CSV alone is ~5 MB of text, 100,000 row objects several times more.
    console.info(
      `[${backend}] import ${((imported - started) / 1000).toFixed(0)} s, export ${((Date.now() - imported) / 1000).toFixed(0)} s; heap: baseline ${(baseline / MB).toFixed(0)} MB, peak during import ${((afterImport.peak as number) / MB).toFixed(0)} MB, during export ${((afterExport.peak as number) / MB).toFixed(0)} MB, limit ${((afterImport.limit as number) / MB).toFixed(0)} MB`,
    );
    // The cap took effect (the default limit is several times larger).
    expect(afterImport.limit).toBeLessThan(400 * MB);
    expect((afterImport.peak as number) - baseline).toBeLessThan(64 * MB);
    expect((afterExport.peak as number) - baseline).toBeLessThan(64 * MB);
  });
});
