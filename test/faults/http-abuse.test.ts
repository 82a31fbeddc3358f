import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type ChildServer, kill, serverEnv, startChild } from '../support/child-server.ts';
import { ApiClient, PASSWORD, uniqueEmail, uniqueSlug } from '../support/client.ts';
import { createFreshDatabase, type FreshDatabase } from '../support/postgres.ts';

/**
 * Abusive HTTP clients against a real server process: bodies over the limit,
 * JSON nested far deeper than any procedure needs, a flood of both, and slow
 * or silent clients that hold connections open. The server process is
 * measured from outside (its resident memory in /proc, its heap in /metrics,
 * its connections in /proc/net/tcp). Linux only, like the CI machine.
 */
const MiB = 1024 * 1024;
const BODY_LIMIT = 64 * 1024;
const METRICS_TOKEN = 'http-abuse-metrics-token-0123456789';
const TIMEOUTS = { request: 1_500, idle: 500, keepAlive: 500 };

type Kind = 'declared-oversized' | 'chunked-oversized' | 'nested-arrays' | 'nested-objects' | 'trpc-nested' | 'trpc-nested-query';

/** Every body kind within the limit is nested far deeper than MAX_JSON_DEPTH (32). */
function bodyOf(kind: Kind): { path: string; method: string; body?: Buffer; oversized?: 'declared' | 'chunked' } {
  switch (kind) {
    case 'declared-oversized':
      return { path: '/api/v1/tenants', method: 'POST', oversized: 'declared' };
    case 'chunked-oversized':
      return { path: '/api/v1/tenants', method: 'POST', oversized: 'chunked' };
    case 'nested-arrays':
      return { path: '/api/v1/tenants', method: 'POST', body: Buffer.from(`${'['.repeat(30_000)}${']'.repeat(30_000)}`) };
    case 'nested-objects':
      return { path: '/api/v1/tenants', method: 'POST', body: Buffer.from(`${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`) };
    case 'trpc-nested':
      return {
        path: '/trpc/tenants.update',
        method: 'POST',
        body: Buffer.from(`{"settings":{"x":${'['.repeat(2_000)}${']'.repeat(2_000)}}}`),
      };
    case 'trpc-nested-query': {
      const input = encodeURIComponent(`${'['.repeat(1_000)}${']'.repeat(1_000)}`);
      return { path: `/trpc/tenants.current?input=${input}`, method: 'GET' };
    }
  }
}

const CHUNK = Buffer.alloc(64 * 1024, 'a');

/**
 * Sends one request of a kind (an oversized body of `oversizedBytes`); resolves with its status, or with the
 * error that cut it off.
 */
function send(
  base: string,
  kind: Kind,
  cookie: string,
  oversizedBytes = 256 * 1024,
): Promise<{ status: number | string; code?: string }> {
  const spec = bodyOf(kind);
  const headers: Record<string, string> = { 'content-type': 'application/json', origin: base, cookie };
  if (spec.body) headers['content-length'] = String(spec.body.length);
  if (spec.oversized === 'declared') headers['content-length'] = String(oversizedBytes);
  return new Promise((resolve) => {
    const req = request(`${base}${spec.path}`, { method: spec.method, headers, timeout: 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => {
        let code: string | undefined;
        try {
          code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
        } catch {
          code = undefined;
        }
        resolve({ status: res.statusCode ?? 0, ...(code ? { code } : {}) });
      });
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    // The server may close the connection while the client is still writing an oversized body.
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ status: error.code ?? error.message }));
    if (!spec.oversized) {
      req.end(spec.body);
      return;
    }
    if (spec.oversized === 'declared') {
      // The length alone is over the limit: the answer comes before any of the body is sent.
      req.flushHeaders();
      req.on('response', (res) => res.on('end', () => req.destroy()));
      return;
    }
    let written = 0;
    const pump = () => {
      while (written < oversizedBytes) {
        written += CHUNK.length;
        if (!req.write(CHUNK)) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}

/** The server side's open connections on `port` (ESTABLISHED or CLOSE_WAIT), from the kernel's table. */
function serverConnections(port: number): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let n = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (local?.endsWith(`:${hexPort}`) && (state === '01' || state === '08')) n++;
    }
  }
  return n;
}

(inject('serverPostgres') ? describe : describe.skip)('abusive HTTP clients against a server process [postgres]', () => {
  let database: FreshDatabase;
  let dataDir: string;
  let child: ChildServer;
  let user: ApiClient;
  let port: number;

  beforeAll(async () => {
    database = await createFreshDatabase();
    dataDir = mkdtempSync(join(tmpdir(), 'palisade-http-abuse-'));
    child = await startChild(
      serverEnv(database, dataDir, {
        WORKER_ENABLED: 'false',
        RATE_LIMIT_MULTIPLIER: '1000',
        BODY_LIMIT_BYTES: String(BODY_LIMIT),
        METRICS_TOKEN,
        HTTP_REQUEST_TIMEOUT_MS: String(TIMEOUTS.request),
        HTTP_IDLE_TIMEOUT_MS: String(TIMEOUTS.idle),
        HTTP_KEEP_ALIVE_TIMEOUT_MS: String(TIMEOUTS.keepAlive),
      }),
    );
    port = Number(new URL(child.url).port);
    user = new ApiClient(child.url);
    expect(
      (await user.post('/api/auth/sign-up/email', { email: uniqueEmail('abuse'), password: PASSWORD, name: 'A' })).status,
    ).toBe(200);
    expect((await user.post('/api/v1/tenants', { name: 'Abuse', slug: uniqueSlug('abuse') })).status).toBe(201);
  });
  afterAll(async () => {
    if (child) await kill(child);
    await database?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const KINDS: Kind[] = [
    'declared-oversized',
    'chunked-oversized',
    'nested-arrays',
    'nested-objects',
    'trpc-nested',
    'trpc-nested-query',
  ];
  const EXPECTED: Record<Kind, { status: number; code: string }> = {
    'declared-oversized': { status: 413, code: 'PAYLOAD_TOO_LARGE' },
    'chunked-oversized': { status: 413, code: 'PAYLOAD_TOO_LARGE' },
    'nested-arrays': { status: 400, code: 'BAD_REQUEST' },
    'nested-objects': { status: 400, code: 'BAD_REQUEST' },
    'trpc-nested': { status: 400, code: 'BAD_REQUEST' },
    'trpc-nested-query': { status: 400, code: 'BAD_REQUEST' },
  };

  it('refuses oversized bodies with 413 and deeply nested JSON with 400, over REST and tRPC, signed in or not', async () => {
    const seen: Record<string, unknown> = {};
    for (const kind of KINDS) {
      for (const cookie of [user.cookieHeader(), ''])
        seen[`${kind}${cookie ? '' : ' (anonymous)'}`] = await send(child.url, kind, cookie);
    }
    const expected = Object.fromEntries(Object.keys(seen).map((k) => [k, EXPECTED[k.split(' ')[0] as Kind]]));
    expect(seen).toEqual(expected);
  });

  const memory = async () => {
    const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.process.pid}/status`, 'utf8'))?.[1]) * 1024;
    const metrics = await (await fetch(`${child.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    const heap = Number(/^palisade_nodejs_heap_size_used_bytes (\S+)$/m.exec(metrics)?.[1]);
    return { rss, heap };
  };

  it('keeps its memory bounded under a flood of oversized and deeply nested bodies', async () => {
    // Warm up every path once, then measure from there.
    for (const kind of KINDS) await send(child.url, kind, user.cookieHeader());
    const before = await memory();
    expect(before.rss).toBeGreaterThan(0);
    expect(before.heap).toBeGreaterThan(0);
    let peakRss = before.rss;
    const sampler = setInterval(() => {
      peakRss = Math.max(
        peakRss,
        Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.process.pid}/status`, 'utf8'))?.[1]) * 1024,
      );
    }, 50);
    const queue = Array.from({ length: 360 }, (_, i) => KINDS[i % KINDS.length] as Kind);
    const outcomes: Array<{ kind: Kind; status: number | string; code?: string }> = [];
    try {
      // 16 at a time; 60 of them stream 8 MiB bodies (480 MiB in all), 60 more declare that length.
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          for (let kind = queue.shift(); kind; kind = queue.shift())
            outcomes.push({ kind, ...(await send(child.url, kind, user.cookieHeader())) });
        }),
      );
    } finally {
      clearInterval(sampler);
    }
    const after = await memory();
    console.info(
      `flood of ${outcomes.length}: peak RSS +${((peakRss - before.rss) / MiB).toFixed(1)} MiB, heap ${(before.heap / MiB).toFixed(1)} -> ${(after.heap / MiB).toFixed(1)} MiB`,
    );

    expect(outcomes).toHaveLength(360);
    for (const outcome of outcomes) {
      const refused = EXPECTED[outcome.kind];
      if (outcome.status === refused.status) expect(outcome.code).toBe(refused.code);
      // An oversized body may be cut off by the server before the client reads the 413.
      else expect([refused.status, ...(refused.status === 413 ? ['EPIPE', 'ECONNRESET'] : [])]).toContain(outcome.status);
    }
    expect(outcomes.filter((o) => o.status === EXPECTED[o.kind].status).length).toBeGreaterThan(300);
    // Bounded: the server never held the bodies (a 16-wide flood of them would be 128 MiB).
    expect(peakRss - before.rss).toBeLessThan(64 * MiB);
    expect(after.heap - before.heap).toBeLessThan(64 * MiB);
    expect((await fetch(`${child.url}/health/live`)).status).toBe(200);
  });

  /** A raw client connection; resolves `closed` with what the server sent before closing it. */
  function rawClient(onConnect: (socket: Socket) => void): {
    connected: Promise<void>;
    closed: Promise<{ received: string }>;
    socket: Socket;
  } {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
    });
    socket.on('error', () => {});
    socket.on('connect', () => onConnect(socket));
    return {
      socket,
      connected: new Promise((resolve) => socket.once('connect', () => resolve())),
      closed: new Promise((resolve) => socket.on('close', () => resolve({ received }))),
    };
  }

  /** Writes `text` every 100 ms until the server closes the connection. */
  const trickle = (socket: Socket, text: string) => {
    const timer = setInterval(() => (socket.writable ? socket.write(text) : clearInterval(timer)), 100);
    socket.on('close', () => clearInterval(timer));
  };

  it('closes the connections of slow and silent clients after its timeouts, and frees them', async () => {
    const kinds: Record<string, (socket: Socket) => void> = {
      // Nothing at all, or part of the headers and then nothing: closed when idle for HTTP_IDLE_TIMEOUT_MS.
      silent: () => {},
      'stalled headers': (s) => s.write('POST /api/v1/tenants HTTP/1.1\r\nHost: x\r\n'),
      'stalled body': (s) =>
        s.write(
          'POST /api/v1/tenants HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"name":',
        ),
      // Never idle, never done: answered 408 after HTTP_REQUEST_TIMEOUT_MS.
      'trickled headers': (s) => {
        s.write('GET /health/live HTTP/1.1\r\nHost: x\r\n');
        trickle(s, 'X-Slow: y\r\n');
      },
      'trickled body': (s) => {
        s.write('POST /api/v1/tenants HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n');
        trickle(s, ' ');
      },
      // A finished request on a kept-alive connection: closed after HTTP_KEEP_ALIVE_TIMEOUT_MS.
      'idle keep-alive': (s) => s.write('GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n'),
    };
    const baseline = serverConnections(port);
    const clients = Object.entries(kinds).flatMap(([kind, onConnect]) =>
      Array.from({ length: 5 }, () => ({ kind, ...rawClient(onConnect) })),
    );
    // Every client reached the server. Not counted as open all at once: on a loaded machine the first
    // silent clients may already be closed (HTTP_IDLE_TIMEOUT_MS is 500 ms here) before the last connect.
    await Promise.all(clients.map((c) => c.connected));

    const bound = new Promise<'still open'>((resolve) => setTimeout(() => resolve('still open'), 10_000));
    const results = await Promise.all(
      clients.map(async (c) => ({ kind: c.kind, result: await Promise.race([c.closed, bound]) })),
    );
    for (const { socket } of clients) socket.destroy();
    const firstLine = (r: { received: string } | 'still open') => (r === 'still open' ? r : (r.received.split('\r\n')[0] ?? ''));
    const byKind = Object.fromEntries(
      Object.keys(kinds).map((k) => [k, [...new Set(results.filter((r) => r.kind === k).map((r) => firstLine(r.result)))]]),
    );
    expect(byKind).toEqual({
      silent: [''],
      'stalled headers': [''],
      'stalled body': [''],
      'trickled headers': ['HTTP/1.1 408 Request Timeout'],
      'trickled body': ['HTTP/1.1 408 Request Timeout'],
      'idle keep-alive': ['HTTP/1.1 200 OK'],
    });
    // The 408 is the standard error body, with a request id, like every other answer.
    const timedOut = results.flatMap(({ kind, result }) =>
      kind.startsWith('trickled') && result !== 'still open' ? [result] : [],
    );
    expect(timedOut).toHaveLength(10);
    for (const { received } of timedOut) {
      const [head = '', body = ''] = received.split('\r\n\r\n');
      expect(head).toMatch(/\r\nx-request-id: [0-9a-f-]{36}\r\n/i);
      expect(JSON.parse(body)).toEqual({
        error: { code: 'REQUEST_TIMEOUT', message: 'The request did not arrive in time.' },
        requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      });
    }

    // Freed on the server side too, and it still serves.
    const deadline = Date.now() + 5_000;
    while (serverConnections(port) > baseline && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(serverConnections(port)).toBeLessThanOrEqual(baseline);
    expect((await fetch(`${child.url}/health/live`)).status).toBe(200);
  });
});
