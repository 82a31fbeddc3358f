import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type ChildServer, serverEnv, startChild } from '../support/child-server.ts';
import { ApiClient, PASSWORD, uniqueEmail, uniqueSlug } from '../support/client.ts';
import { createFreshDatabase, type FreshDatabase } from '../support/postgres.ts';
import { RealtimeClient } from '../support/realtime-client.ts';
import { TestReceiver } from '../support/receiver.ts';

/**
 * Graceful shutdown of a real server process on SIGTERM: the delivery in
 * flight finishes and is recorded, realtime sockets are closed with 1001 and
 * a reason, and the process exits by itself.
 */
(inject('serverPostgres') ? describe : describe.skip)('shutdown on SIGTERM [postgres]', () => {
  let database: FreshDatabase;
  let dataDir: string;
  let receiver: TestReceiver;
  let child: ChildServer;

  beforeAll(async () => {
    database = await createFreshDatabase();
    dataDir = mkdtempSync(join(tmpdir(), 'palisade-term-'));
    receiver = new TestReceiver();
    await receiver.start();
    child = await startChild(serverEnv(database, dataDir, { WEBHOOK_TIMEOUT_MS: '5000', JOBS_POLL_MS: '100' }));
  });
  afterAll(async () => {
    if (child.process.exitCode === null) child.process.kill('SIGKILL');
    await receiver?.stop();
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('finishes the delivery in flight, closes sockets with a reason, and exits', async () => {
    const owner = new ApiClient(child.url);
    expect(
      (await owner.post('/api/auth/sign-up/email', { email: uniqueEmail('term'), password: PASSWORD, name: 'T' })).status,
    ).toBe(200);
    expect((await owner.post('/api/v1/tenants', { name: 'Term Co', slug: uniqueSlug('term') })).status).toBe(201);
    const endpoint = await owner.post('/api/v1/webhooks/endpoints', {
      url: `${receiver.url}/term`,
      eventTypes: ['webhook.test'],
    });
    expect(endpoint.status).toBe(201);
    const token = await owner.post('/api/v1/realtime/token', {});
    const socket = await RealtimeClient.connect(`${child.url.replace(/^http/, 'ws')}/api/v1/realtime?token=${token.body.token}`);

    receiver.respond = () => ({ status: 204, delayMs: 1_500 });
    expect((await owner.post(`/api/v1/webhooks/endpoints/${endpoint.body.id}/test`, {})).status).toBeLessThan(300);
    await receiver.waitFor(1, 15_000);

    const exited = new Promise<number | null>((resolve) => child.process.once('exit', (code) => resolve(code)));
    child.process.kill('SIGTERM');
    const closed = await socket.closed;
    expect(closed.code).toBe(1001);
    expect(closed.reason).not.toBe('');
    expect(await exited).toBe(0);

    // The attempt that was waiting on the receiver when the signal came was recorded before the exit.
    const sql = postgres(database.url, { max: 1, onnotice: () => {} });
    try {
      const rows = await sql`select status, attempts from app.webhook_deliveries where endpoint_id = ${endpoint.body.id}`;
      expect(rows).toEqual([{ status: 'succeeded', attempts: 1 }]);
    } finally {
      await sql.end();
    }
  });
});
