import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import websocket from '@fastify/websocket';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import { AppError, errorBody } from '../api/errors.ts';
import type { Logger } from '../logger.ts';
import { CLOSE_POLICY, CLOSE_SHUTDOWN, type RealtimeConnection, type RealtimeHub, type Subscriber } from './hub.ts';
import { encodeServerMessage, parseClientMessage, parseTypesQuery } from './protocol.ts';

export const REALTIME_PATH = '/api/v1/realtime';

export interface RealtimeRouteOptions {
  hub: RealtimeHub;
  /** Session cookie, API key or `?token=rt_...`; null refuses the handshake with 401. */
  authenticate: (req: FastifyRequest) => Promise<Subscriber | null>;
  /** Browser origins allowed to connect; requests without an Origin header (non-browser clients) are allowed. */
  allowedOrigins: readonly string[];
  /** Largest client frame; a bigger one closes the socket with 1009. */
  maxMessageBytes?: number;
  /** Malformed client messages tolerated before the socket is closed with 1008. */
  maxBadMessages?: number;
  heartbeatMs?: number;
  /** Unsent bytes queued for a socket before it counts as too slow and is closed with 1008. */
  maxBufferedBytes?: number;
  /** How long shutdown waits for clients to answer the close frame before cutting them. */
  shutdownGraceMs?: number;
  logger: Logger;
}

interface Accepted {
  subscriber: Subscriber;
  types: string[];
}

function normalizeOrigin(origin: string): string {
  try {
    return new URL(origin).origin;
  } catch {
    return origin; // `null` and other opaque origins compare as given
  }
}

function textOf(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return (Buffer.isBuffer(data) ? data : Buffer.from(data)).toString('utf8');
}

function refuse(reply: FastifyReply, req: FastifyRequest, error: AppError): FastifyReply {
  return reply.code(error.status).send(errorBody(error, req.id));
}

/**
 * `GET /api/v1/realtime`: Origin and credentials are checked by ordinary HTTP
 * hooks, so a refused handshake is a plain 403/401 response and never becomes
 * a socket. The WebSocket plugin is registered in its own scope and applies
 * to this route only; upgrade requests for any other path on the server are
 * refused, so this is the server's only WebSocket endpoint.
 */
export async function registerRealtimeRoute(app: FastifyInstance, options: RealtimeRouteOptions): Promise<void> {
  const { hub, logger } = options;
  const allowedOrigins = new Set(options.allowedOrigins.map(normalizeOrigin));
  const maxBadMessages = options.maxBadMessages ?? 20;
  const maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024;
  const accepted = new WeakMap<FastifyRequest, Accepted>();
  /** Heartbeat state: whether each socket answered the last ping. */
  const alive = new Map<WebSocket, boolean>();

  // The plugin would route every upgrade request on the server through Fastify, and for any other path leave
  // the socket open after the HTTP answer. It listens on this emitter instead, which only receives
  // handshakes for this route; others are refused and closed, as Node does when nothing handles upgrades.
  const upgrades = new EventEmitter();
  const path = `${app.prefix}${REALTIME_PATH}`;
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (req.url?.split('?')[0] === path) upgrades.emit('upgrade', req, socket, head);
    else socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n', () => socket.destroy());
  };

  await app.register(async (scope) => {
    await scope.register(websocket, {
      options: { maxPayload: options.maxMessageBytes ?? 4096, server: upgrades as unknown as Server },
      // Client-caused errors (oversized frame, reset connection): ws already closes the socket with the right
      // code, and terminating here could cut the close frame off.
      errorHandler: (error, socket) => {
        logger.debug({ err: error }, 'realtime socket error');
        if (socket.readyState === socket.OPEN) socket.terminate();
      },
      preClose: (done) => {
        hub.closeAll(CLOSE_SHUTDOWN, 'server shutting down');
        const wss = scope.websocketServer;
        // ws waits 30 s for a close reply; a client that does not answer should not hold the shutdown that long.
        const grace = setTimeout(() => {
          for (const client of wss.clients) client.terminate();
        }, options.shutdownGraceMs ?? 2_000);
        wss.close(() => {
          clearTimeout(grace);
          done();
        });
      },
    });

    const heartbeat = setInterval(() => {
      for (const [socket, answered] of alive) {
        if (!answered) {
          socket.terminate();
          continue;
        }
        alive.set(socket, false);
        socket.ping();
      }
    }, options.heartbeatMs ?? 30_000);
    heartbeat.unref();
    app.server.on('upgrade', onUpgrade);
    scope.addHook('onClose', async () => {
      clearInterval(heartbeat);
      app.server.off('upgrade', onUpgrade);
    });

    scope.route({
      method: 'GET',
      url: REALTIME_PATH,
      // Cross-site WebSocket hijacking: a browser sends the victim's cookie from any page, so the Origin decides.
      onRequest: async (req, reply) => {
        const origin = req.headers.origin;
        if (origin !== undefined && !allowedOrigins.has(normalizeOrigin(origin))) {
          return refuse(reply, req, new AppError('FORBIDDEN', 'This origin may not open realtime connections.'));
        }
      },
      preValidation: async (req, reply) => {
        const subscriber = await options.authenticate(req);
        if (!subscriber) return refuse(reply, req, new AppError('UNAUTHENTICATED'));
        const types = parseTypesQuery((req.query as { types?: string | string[] } | undefined)?.types);
        if (!types) {
          return refuse(
            reply,
            req,
            new AppError('VALIDATION_FAILED', undefined, [{ path: 'types', message: 'comma-separated event type filters' }]),
          );
        }
        accepted.set(req, { subscriber, types });
      },
      handler: async (req, reply) => refuse(reply, req, new AppError('BAD_REQUEST', 'Connect with a WebSocket.')),
      wsHandler: (socket, req) => {
        const state = accepted.get(req);
        if (!state) {
          socket.close(CLOSE_POLICY, 'not authenticated');
          return;
        }
        const connection: RealtimeConnection = {
          subscriber: state.subscriber,
          types: state.types,
          send: (text) => {
            if (socket.readyState !== socket.OPEN) return;
            if (socket.bufferedAmount > maxBufferedBytes) {
              socket.close(CLOSE_POLICY, 'too slow');
              return;
            }
            socket.send(text);
          },
          close: (code, reason) => socket.close(code, reason),
        };
        let badMessages = 0;
        alive.set(socket, true);
        socket.on('pong', () => alive.set(socket, true));
        socket.on('message', (data, isBinary) => {
          const parsed = isBinary ? ({ ok: false, error: 'text frames only' } as const) : parseClientMessage(textOf(data));
          if (!parsed.ok) {
            badMessages++;
            if (badMessages > maxBadMessages) socket.close(CLOSE_POLICY, 'too many bad messages');
            else connection.send(encodeServerMessage({ type: 'error', code: 'BAD_MESSAGE', message: parsed.error }));
            return;
          }
          if (parsed.message.type === 'ping') {
            connection.send(encodeServerMessage({ type: 'pong' }));
          } else {
            connection.types = parsed.message.types;
            connection.send(encodeServerMessage({ type: 'subscribed', types: connection.types }));
          }
        });
        connection.send(encodeServerMessage({ type: 'ready', tenantId: state.subscriber.tenantId, subscribed: state.types }));
        const remove = hub.add(connection);
        logger.debug({ tenantId: state.subscriber.tenantId }, 'realtime socket opened');
        socket.on('close', (code) => {
          remove();
          alive.delete(socket);
          logger.debug({ tenantId: state.subscriber.tenantId, code }, 'realtime socket closed');
        });
      },
    });
  });
}
