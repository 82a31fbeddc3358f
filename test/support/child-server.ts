import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freeLoopbackPort } from './free-port.ts';

const CLI = fileURLToPath(new URL('../../bin/palisade.js', import.meta.url));

/** A Palisade server in a child process of its own, started with the CLI as production starts it. */
export interface ChildServer {
  url: string;
  process: ChildProcess;
}

export async function startChild(env: Record<string, string>): Promise<ChildServer> {
  const port = await freeLoopbackPort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [CLI, 'start'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env, PORT: String(port), PUBLIC_URL: url },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const ready = await fetch(`${url}/health/ready`).catch(() => undefined);
    if (ready?.status === 200) return { url, process: child };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error('server did not become ready within 60 s');
}

/**
 * The environment of a test server process on `database`: settings for a test on loopback (webhooks may go to
 * 127.0.0.1, errors only in the log, no demo data), then `extra`.
 */
export function serverEnv(
  database: { url: string; appUrl: string },
  dataDir: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    DATABASE_URL: database.url,
    APP_DATABASE_URL: database.appUrl,
    DATA_DIR: dataDir,
    AUTH_SECRET: 'child-server-test-secret-that-is-at-least-32-characters',
    LOG_LEVEL: 'error',
    SEED_DEMO: 'false',
    WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
    ...extra,
  };
}

/** SIGKILL: no shutdown hooks, nothing flushed. Resolves at once for a process that has exited already. */
export function kill(child: ChildServer): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.process.once('exit', () => resolve());
    child.process.kill('SIGKILL');
  });
}
