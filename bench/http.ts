import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { freeLoopbackPort } from '../test/support/free-port.ts';
import type { Measurement } from './compare.ts';
import { cpuPerOperation, cpuTicks } from './cpu-split.ts';
import { percentile } from './stats.ts';

export interface ServerProcess {
  url: string;
  /** The server's process id, for counting its CPU (cpu-split.ts). */
  pid: number;
  stop(): Promise<void>;
}

const SERVER_ENTRY = fileURLToPath(new URL('./server.ts', import.meta.url));

/**
 * One AUTH_SECRET for every server of a run, as the processes of one
 * deployment share it: a session cookie, a realtime token or a webhook secret
 * made by one process is then valid in the others.
 */
const RUN_AUTH_SECRET = randomBytes(32).toString('base64url');

/**
 * Starts Palisade (bench/server.ts) in a child process, so that the load
 * generator in this process does not share the server's event loop. The
 * environment is built from scratch: production mode, warnings only in the
 * log, the owner and request-role URLs as production configures them, no SMTP,
 * no Redis (unless `env` adds it), no demo seed. Rate limiting is off: the
 * benchmark measures the request path, and its few callers would otherwise
 * spend their plan's budget within seconds. Webhooks may target 127.0.0.1
 * (the benchmark's receiver), and the job runner polls at the production
 * default.
 */
export async function startServerProcess(options: {
  /** The owner URL of server PostgreSQL; undefined: embedded PGlite in `dataDir` (pgdata/ inside it). */
  databaseUrl: string | undefined;
  /** The request role's login on server PostgreSQL; PGlite has none (the owner switches role per transaction). */
  appDatabaseUrl: string | undefined;
  poolSize: number;
  dataDir: string;
  /** Added to (or overriding) the base environment: REDIS_URL, WORKER_ENABLED, ... */
  env?: Record<string, string>;
  /** Another checkout's bench/server.ts (bench/versus.ts); this one's by default. */
  entry?: string | undefined;
}): Promise<ServerProcess> {
  const port = await freeLoopbackPort();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
    ...(options.appDatabaseUrl ? { APP_DATABASE_URL: options.appDatabaseUrl } : {}),
    DATABASE_POOL_SIZE: String(options.poolSize),
    DATA_DIR: options.dataDir,
    LOG_LEVEL: 'warn',
    SEED_DEMO: 'false',
    AUTH_SECRET: RUN_AUTH_SECRET,
    RATE_LIMIT_ENABLED: 'false',
    WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
    JOBS_POLL_MS: '1000',
    ...options.env,
  };
  return spawnListening(options.entry ?? SERVER_ENTRY, env);
}

/**
 * Starts a child process running `entry` (TypeScript, through tsx) and resolves once it printed its URL as one
 * JSON line. It exits when the benchmark process goes away (the IPC channel closes).
 */
export async function spawnListening(entry: string, env: Record<string, string>): Promise<ServerProcess> {
  // For profiling the server, e.g. BENCH_SERVER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/palisade-prof'.
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', entry], {
    env,
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('bench server did not start within 60 s'));
    }, 60_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const line = buffered.split('\n').find((l) => l.startsWith('{"url"'));
      if (!line) return;
      clearTimeout(timer);
      resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`bench server exited with ${code} before listening`));
    });
  });
  return { url, pid: child.pid ?? 0, stop: () => stopChild(child) };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export interface SignedInUser {
  userId: string;
  email: string;
  /** The Cookie header that carries the session. */
  cookie: string;
}

/**
 * Signs a new user up through Better Auth's endpoint on the server, which also
 * signs them in. The Origin header is the one a browser on the app would send
 * (Better Auth's CSRF check requires it in production).
 */
export async function signUp(baseUrl: string): Promise<SignedInUser> {
  const email = `bench-${randomBytes(5).toString('hex')}@bench.example`;
  const response = await fetch(`${baseUrl}/api/auth/sign-up/email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: baseUrl },
    body: JSON.stringify({ email, password: randomBytes(18).toString('base64url'), name: 'Bench User' }),
  });
  const body = (await response.json()) as { user?: { id: string } };
  if (response.status !== 200 || !body.user) throw new Error(`sign-up failed: ${response.status} ${JSON.stringify(body)}`);
  const cookie = response.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  if (!cookie) throw new Error('sign-up set no session cookie');
  return { userId: body.user.id, email, cookie };
}

/** One request, checked: the benchmark must measure successful responses of the right row. */
export async function expectJson(url: string, headers: Record<string, string>, check: (body: unknown) => boolean): Promise<void> {
  const response = await fetch(url, { headers });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  if (response.status !== 200 || !check(body)) throw new Error(`GET ${url}: ${response.status} ${text.slice(0, 500)}`);
}

/**
 * autocannon at a fixed number of connections for a fixed duration. Latencies
 * come from its per-response event (sub-millisecond resolution); any non-2xx
 * response or connection error fails the run.
 */
export async function runAutocannon(options: {
  url: string;
  headers: Record<string, string>;
  connections: number;
  seconds: number;
  /** The server's process, whose CPU is counted apart from PostgreSQL's and this process's. */
  serverPid: number;
}): Promise<Measurement> {
  const latencies: number[] = [];
  const cpuBefore = cpuTicks([options.serverPid]);
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      { url: options.url, headers: options.headers, connections: options.connections, duration: options.seconds, timeout: 10 },
      (error: unknown, res: autocannon.Result) => (error ? reject(error) : resolve(res)),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    });
  });
  const cpuAfter = cpuTicks([options.serverPid]);
  // autocannon drops its connections at the deadline; let the server finish the requests it was
  // still serving, so that they neither spill into the next measurement nor outlive the server.
  await new Promise((resolve) => setTimeout(resolve, 250));
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`autocannon ${options.url}: ${result.non2xx} non-2xx responses, ${result.errors} errors`);
  }
  return {
    rate: latencies.length / result.duration,
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    operations: latencies.length,
    cpuUs: cpuPerOperation(cpuBefore, cpuAfter, latencies.length),
  };
}

/** One request of a planned run, and how to judge its response. */
export interface PlannedRequest {
  /** Groups latencies (get, list, create, ...). */
  kind: string;
  method: 'GET' | 'POST' | 'PATCH';
  /** Path and query, e.g. `/api/v1/crm/contacts?q=smith`. */
  path: string;
  headers: Record<string, string>;
  /** JSON text; sent with `content-type: application/json`. */
  body?: string;
  /** Called with every response of this request: counts what is wrong (it must not throw). */
  check(status: number, body: string): void;
}

/** One autocannon instance: `connections` keep-alive connections sending next()'s requests, one at a time each. */
export interface RequestClient {
  connections: number;
  next(): PlannedRequest;
}

export interface PlannedRun {
  /** Latencies (ms) of the checked responses, by kind. */
  latencies: Map<string, number[]>;
  /** Responses received and checked. */
  responses: number;
  /** Socket errors and timeouts (no response to check). */
  socketErrors: number;
  seconds: number;
}

/**
 * autocannon with a request of our choosing for every send: each client is an
 * instance of its own (e.g. one per tenant, with that tenant's key), each
 * response goes to its request's check() before the connection sends the
 * next one. Bounded by `seconds` and by `maxRequests` over all clients
 * (split evenly). Latencies are autocannon's per-response times.
 */
export async function runPlannedRequests(options: {
  url: string;
  clients: RequestClient[];
  seconds: number;
  maxRequests: number;
}): Promise<PlannedRun> {
  const latencies = new Map<string, number[]>();
  let responses = 0;
  let socketErrors = 0;
  const started = performance.now();
  const perClient = Math.max(1, Math.floor(options.maxRequests / options.clients.length));
  await Promise.all(
    options.clients.map(
      (client) =>
        new Promise<void>((resolve, reject) => {
          let answered = 0;
          // The request whose response autocannon reports next: its 'response' event follows onResponse at once.
          let last: PlannedRequest | undefined;
          const instance = autocannon(
            {
              url: options.url,
              connections: client.connections,
              duration: options.seconds,
              timeout: 10,
              requests: [
                {
                  setupRequest: (request, context) => {
                    const planned = client.next();
                    (context as { planned?: PlannedRequest }).planned = planned;
                    return {
                      ...request,
                      method: planned.method,
                      path: planned.path,
                      headers:
                        planned.body === undefined ? planned.headers : { ...planned.headers, 'content-type': 'application/json' },
                      body: planned.body ?? '',
                    };
                  },
                  onResponse: (status, body, context) => {
                    const planned = (context as { planned?: PlannedRequest }).planned;
                    last = planned;
                    planned?.check(status, body);
                  },
                },
              ],
            },
            (error: unknown, result: autocannon.Result) => {
              if (error) return reject(error);
              socketErrors += result.errors;
              resolve();
            },
          );
          instance.on('response', (_client, _status, _bytes, responseTime) => {
            if (!last) return;
            const list = latencies.get(last.kind) ?? [];
            if (list.length === 0) latencies.set(last.kind, list);
            list.push(responseTime);
            last = undefined;
            responses++;
            if (++answered === perClient) instance.stop();
          });
        }),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  // As runAutocannon: let the server finish what was abandoned at the deadline.
  await new Promise((resolve) => setTimeout(resolve, 250));
  return { latencies, responses, socketErrors, seconds };
}

/** A Measurement of a planned run: all responses, and one part per kind. */
export function measurementOf(run: PlannedRun): Measurement {
  const of = (values: number[]): Measurement => ({
    rate: values.length / run.seconds,
    p50Ms: percentile(values, 50),
    p95Ms: percentile(values, 95),
    operations: values.length,
  });
  const all = [...run.latencies.values()].flat();
  return { ...of(all), parts: Object.fromEntries([...run.latencies].map(([kind, values]) => [kind, of(values)])) };
}
