import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { freeLoopbackPort } from '../test/support/free-port.ts';
import type { Measurement } from './compare.ts';
import { percentile } from './stats.ts';

export interface ServerProcess {
  url: string;
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
  databaseUrl: string;
  appDatabaseUrl: string;
  poolSize: number;
  dataDir: string;
  /** Added to (or overriding) the base environment: REDIS_URL, WORKER_ENABLED, ... */
  env?: Record<string, string>;
}): Promise<ServerProcess> {
  const port = await freeLoopbackPort();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    DATABASE_URL: options.databaseUrl,
    APP_DATABASE_URL: options.appDatabaseUrl,
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
  // For profiling the server, e.g. BENCH_SERVER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/palisade-prof'.
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', SERVER_ENTRY], {
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
  return { url, stop: () => stopChild(child) };
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
}): Promise<Measurement> {
  const latencies: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      { url: options.url, headers: options.headers, connections: options.connections, duration: options.seconds, timeout: 10 },
      (error: unknown, res: autocannon.Result) => (error ? reject(error) : resolve(res)),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    });
  });
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
  };
}
