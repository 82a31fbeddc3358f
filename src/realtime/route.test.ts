import { connect } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RealtimeClient, refusal } from '../../test/support/realtime-client.ts';
import { createLocalBroker, type RealtimeBroker } from './broker.ts';
import { RealtimeHub, type Subscriber } from './hub.ts';
import { type RealtimeRouteOptions, registerRealtimeRoute } from './route.ts';
import { makeEvent, silentLogger, within } from './test-support.ts';
import { issueRealtimeToken, verifyRealtimeToken } from './token.ts';

const SECRET = 'route test secret';
const APP_ORIGIN = 'https://app.example.com';

/** Test credentials: `x-test-subscriber: tenant/user`, or a realtime token in `?token=`; members either way. */
async function authenticate(req: FastifyRequest): Promise<Subscriber | null> {
  const token = (req.query as { token?: unknown }).token;
  if (typeof token === 'string') {
    const claims = verifyRealtimeToken(SECRET, token);
    return claims && { ...claims, role: 'member' };
  }
  const header = req.headers['x-test-subscriber'];
  if (typeof header !== 'string') return null;
  const [tenantId, userId] = header.split('/');
  return tenantId && userId ? { tenantId, userId, apiKeyId: null, role: 'member' } : null;
}

interface Server {
  app: FastifyInstance;
  broker: RealtimeBroker;
  hub: RealtimeHub;
  url: string;
  authenticated: string[];
}

async function startServer(overrides: Partial<RealtimeRouteOptions> = {}): Promise<Server> {
  const app = Fastify();
  const broker = createLocalBroker();
  const hub = new RealtimeHub({ broker, logger: silentLogger });
  const authenticated: string[] = [];
  await registerRealtimeRoute(app, {
    hub,
    authenticate: async (req) => {
      authenticated.push(req.url);
      return authenticate(req);
    },
    allowedOrigins: [`${APP_ORIGIN}/`],
    logger: silentLogger,
    ...overrides,
  });
  // Port 0: the kernel picks a free loopback port, and there is no window in which another process takes it.
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { app, broker, hub, url: `ws://127.0.0.1:${port}/api/v1/realtime`, authenticated };
}

const acmeUser = { 'x-test-subscriber': 'acme/u1' };

describe('realtime route', () => {
  let s: Server;

  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(async () => {
    await s?.app.close();
  });

  it('refuses a handshake without credentials with 401, before upgrading', async () => {
    const { status, body } = await refusal(s.url);
    expect(status).toBe(401);
    expect(body).toEqual({ error: { code: 'UNAUTHENTICATED', message: expect.any(String) }, requestId: expect.any(String) });
  });

  it('refuses a foreign Origin with 403 before looking at credentials', async () => {
    const before = s.authenticated.length;
    const { status, body } = await refusal(s.url, { ...acmeUser, origin: 'https://evil.example' });
    expect(status).toBe(403);
    expect(body.error.code).toBe('FORBIDDEN');
    expect(body.requestId).toEqual(expect.any(String));
    expect(s.authenticated.length).toBe(before);
    expect((await refusal(s.url, { ...acmeUser, origin: 'null' })).status).toBe(403);
  });

  it('accepts an allowed Origin and sends the ready frame', async () => {
    const client = await RealtimeClient.connect(s.url, { headers: { ...acmeUser, origin: APP_ORIGIN } });
    expect(client.frames[0]).toEqual({ type: 'ready', tenantId: 'acme', subscribed: ['*'] });
    await client.close();
  });

  it('accepts a realtime token in the query, and refuses an expired one', async () => {
    const claims = { tenantId: 'globex', userId: 'u9', apiKeyId: null };
    const client = await RealtimeClient.connect(`${s.url}?token=${issueRealtimeToken(SECRET, claims)}`);
    expect(client.frames[0]).toEqual({ type: 'ready', tenantId: 'globex', subscribed: ['*'] });
    await client.close();
    const expired = issueRealtimeToken(SECRET, claims, 60, Date.now() - 120_000);
    expect((await refusal(`${s.url}?token=${expired}`)).status).toBe(401);
  });

  it('takes the initial filter from ?types= and refuses an invalid one', async () => {
    const client = await RealtimeClient.connect(`${s.url}?types=contact.*,member.created`, { headers: acmeUser });
    expect(client.frames[0]).toEqual({ type: 'ready', tenantId: 'acme', subscribed: ['contact.*', 'member.created'] });
    await client.close();
    const { status, body } = await refusal(`${s.url}?types=contact.*,Nope!`, acmeUser);
    expect(status).toBe(400);
    expect(body.error.code).toBe('VALIDATION_FAILED');
  });

  it("delivers events to the tenant's sockets only", async () => {
    const acme = await RealtimeClient.connect(s.url, { headers: acmeUser });
    const globex = await RealtimeClient.connect(s.url, { headers: { 'x-test-subscriber': 'globex/u2' } });
    const event = makeEvent('acme', 'contact.created', { id: 'c1' });
    await s.broker.publish(event);
    // Globex's own later event is the sentinel: a socket receives frames in the order they were sent.
    const sentinel = makeEvent('globex', 'contact.created', { id: 'c2' });
    await s.broker.publish(sentinel);
    expect(await acme.nextEvent(event.id)).toEqual({
      type: 'event',
      event: { id: event.id, type: 'contact.created', timestamp: event.timestamp, data: { id: 'c1' } },
    });
    await globex.nextEvent(sentinel.id);
    expect(globex.frames.flatMap((f) => (f.type === 'event' ? [f.event.id] : []))).toEqual([sentinel.id]);
    await Promise.all([acme.close(), globex.close()]);
  });

  it('replaces the filter on subscribe', async () => {
    const client = await RealtimeClient.connect(s.url, { headers: acmeUser });
    client.send({ type: 'subscribe', types: ['contact.*'] });
    expect(await client.next((m) => m.type === 'subscribed')).toEqual({ type: 'subscribed', types: ['contact.*'] });
    const member = makeEvent('acme', 'member.created');
    const contact = makeEvent('acme', 'contact.created');
    await s.broker.publish(member);
    await s.broker.publish(contact);
    await client.nextEvent(contact.id);
    expect(client.eventTypes).toEqual(['contact.created']);
    await client.close();
  });

  it('answers ping with pong and a malformed message with an error frame', async () => {
    const client = await RealtimeClient.connect(s.url, { headers: acmeUser });
    client.send({ type: 'ping' });
    expect(await client.next((m) => m.type === 'pong')).toEqual({ type: 'pong' });
    client.send('{not json');
    expect(await client.next((m) => m.type === 'error')).toEqual({
      type: 'error',
      code: 'BAD_MESSAGE',
      message: 'not valid JSON',
    });
    client.send({ type: 'subscribe', types: ['Contact.*'] });
    await client.next((m) => m.type === 'error' && m.message !== 'not valid JSON');
    await client.close();
  });

  it('closes with 1008 after too many bad messages', async () => {
    const client = await RealtimeClient.connect(s.url, { headers: acmeUser });
    for (let i = 0; i <= 20; i++) client.send('nope');
    expect(await within(client.closed, 5_000, 'close')).toEqual({ code: 1008, reason: 'too many bad messages' });
    expect(client.frames.filter((f) => f.type === 'error')).toHaveLength(20);
  });

  it('closes with 1009 on a frame over the size limit', async () => {
    const client = await RealtimeClient.connect(s.url, { headers: acmeUser });
    client.send({ type: 'subscribe', types: ['a'.repeat(5_000)] });
    expect((await within(client.closed, 5_000, 'close')).code).toBe(1009);
  });

  it('closes the socket of a removed member with 4403', async () => {
    const removed = await RealtimeClient.connect(s.url, { headers: { 'x-test-subscriber': 'acme/u7' } });
    await s.broker.publish(makeEvent('acme', 'member.deleted', { userId: 'u7' }));
    expect(await within(removed.closed, 5_000, 'close')).toEqual({ code: 4403, reason: 'membership removed' });
  });

  it('refuses and closes upgrade requests for any other path', async () => {
    expect.assertions(2);
    const { port } = new URL(s.url);
    for (const path of ['/elsewhere', '/api/v1/realtime-not']) {
      const socket = connect(Number(port), '127.0.0.1');
      let answer = '';
      socket.on('data', (chunk) => {
        answer += String(chunk);
      });
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
      );
      // The server ends the connection itself; a socket left open would time this out.
      await within(new Promise((resolve) => socket.on('close', resolve)), 5_000, `the server to close ${path}`);
      expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 404 Not Found');
    }
  });

  it('answers a plain HTTP request with 400', async () => {
    const res = await s.app.inject({ method: 'GET', url: '/api/v1/realtime', headers: acmeUser });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('BAD_REQUEST');
  });
});

describe('realtime route lifecycle', () => {
  it('terminates a socket that stops answering pings', async () => {
    const s = await startServer({ heartbeatMs: 20 });
    try {
      const dead = await RealtimeClient.connect(s.url, { headers: acmeUser, autoPong: false });
      expect((await within(dead.closed, 5_000, 'close')).code).toBe(1006);
      await expect.poll(() => s.hub.size, { timeout: 5_000 }).toBe(0);
    } finally {
      await s.app.close();
    }
  });

  it('closes sockets with 1001 when the server shuts down', async () => {
    const s = await startServer();
    const client = await RealtimeClient.connect(s.url, { headers: acmeUser });
    expect(s.hub.size).toBe(1);
    await s.app.close();
    expect(await within(client.closed, 5_000, 'close')).toEqual({ code: 1001, reason: 'server shutting down' });
    expect(s.hub.size).toBe(0);
  });
});
