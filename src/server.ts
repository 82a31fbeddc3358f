import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import { fastifyTRPCPlugin } from '@trpc/server/adapters/fastify';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { DestinationStream } from 'pino';
import { createRequestContext, type RequestContext, type Services } from './api/context.ts';
import { AppError, errorBody } from './api/errors.ts';
import { buildOpenApiDocument } from './api/openapi.ts';
import { appErrorOf } from './api/procedures.ts';
import { registerRest } from './api/rest.ts';
import { appRouter } from './api/router.ts';
import { type Auth, CLIENT_IP_HEADER, configuredProviders, createAuth } from './auth/auth.ts';
import { createSessionService } from './auth/principal.ts';
import { type Config, publicUrl } from './config.ts';
import { SecretBox } from './crypto/secret-box.ts';
import { type Database, openDatabase } from './db/client.ts';
import { migrate } from './db/migrate.ts';
import { dispatchEventHandler } from './events/dispatch.ts';
import { DISPATCH_EVENT_JOB } from './events/emit.ts';
import { registerHealthRoutes } from './health/routes.ts';
import { registerJsonParser } from './http/json-body.ts';
import { JobRunner } from './jobs/runner.ts';
import { createLogger } from './logger.ts';
import { createMailer } from './mail/mailer.ts';
import { createDeliveries, DELIVER_WEBHOOK_JOB, deliverWebhookHandler } from './modules/webhooks/delivery.ts';

export const VERSION = '0.1.0';

const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

export interface PalisadeServer {
  app: FastifyInstance;
  /** Background work: event dispatch and webhook delivery. */
  jobs: JobRunner;
  auth: Auth;
  database: Database;
  services: Services;
  /** Listens on HOST:PORT and resolves with the base URL. */
  start(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * A development secret kept beside the embedded database, so sessions survive
 * restarts without configuration. Production requires AUTH_SECRET (config.ts).
 */
function authSecret(config: Config): string {
  if (config.AUTH_SECRET) return config.AUTH_SECRET;
  mkdirSync(config.DATA_DIR, { recursive: true });
  const file = join(config.DATA_DIR, 'auth-secret');
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

function webHeaders(req: FastifyRequest): Headers {
  const headers = new Headers();
  for (const [key, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(key, v);
    else headers.set(key, String(value));
  }
  return headers;
}

/** Fastify's own errors (body limits, bad JSON, media types) mapped onto the catalogue. */
function httpAppError(error: FastifyError | AppError | Error): AppError {
  if (error instanceof AppError) return error;
  const status = (error as FastifyError).statusCode;
  const code = (error as FastifyError).code;
  if (typeof code === 'string' && code.startsWith('FST_') && typeof status === 'number') {
    if (status === 413) return new AppError('PAYLOAD_TOO_LARGE');
    if (status === 415) return new AppError('UNSUPPORTED_MEDIA_TYPE');
    if (status === 404) return new AppError('NOT_FOUND');
    if (status === 405) return new AppError('METHOD_NOT_ALLOWED');
    if (status >= 400 && status < 500) return new AppError('BAD_REQUEST');
  }
  return appErrorOf(error);
}

export interface ServerOptions {
  /** An already opened database (tests, embedding); the caller closes it. */
  database?: Database;
  /** Where log lines go instead of stdout. */
  logDestination?: DestinationStream;
}

export async function createServer(config: Config, options: ServerOptions = {}): Promise<PalisadeServer> {
  const logger = createLogger(config.LOG_LEVEL, options.logDestination);
  const database =
    options.database ??
    (await openDatabase({
      url: config.DATABASE_URL,
      appUrl: config.APP_DATABASE_URL,
      poolSize: config.DATABASE_POOL_SIZE,
      dataDir: join(config.DATA_DIR, 'pgdata'),
    }));
  await migrate(database);

  const mailer = createMailer({ smtpUrl: config.SMTP_URL, from: config.MAIL_FROM, logger });
  const secret = authSecret(config);
  const auth = createAuth({ config, database, mailer, secret, logger });
  const services: Services = {
    config,
    logger,
    mailer,
    sessions: createSessionService(auth, database),
    secrets: new SecretBox(secret, 'webhook-secrets'),
    outbound: { requireHttps: config.NODE_ENV === 'production', allowedHosts: config.WEBHOOK_ALLOWED_HOSTS },
  };
  const jobRunner = new JobRunner({
    database,
    logger,
    pollMs: config.JOBS_POLL_MS,
    handlers: {
      [DISPATCH_EVENT_JOB]: dispatchEventHandler({
        subscribers: [createDeliveries],
        retentionDays: config.EVENT_RETENTION_DAYS,
      }),
      [DELIVER_WEBHOOK_JOB]: deliverWebhookHandler({ config, secrets: services.secrets, policy: services.outbound, logger }),
    },
  });
  let shuttingDown = false;

  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: config.BODY_LIMIT_BYTES,
    // A number trusts exactly that many proxy hops (Fastify accepts it; its types do not say so).
    trustProxy: (config.TRUST_PROXY_HOPS > 0 ? config.TRUST_PROXY_HOPS : false) as boolean,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    connectionTimeout: 30_000,
    requestTimeout: 30_000,
  });
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  registerJsonParser(app, config.BODY_LIMIT_BYTES);

  app.setErrorHandler((error: FastifyError, req, reply) => {
    const appError = httpAppError(error);
    if (appError.status >= 500) req.log.error({ err: error }, 'request failed');
    return reply.code(appError.status).send(errorBody(appError, req.id));
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send(errorBody(new AppError('NOT_FOUND'), req.id)));

  const contextOf = (req: FastifyRequest): Promise<RequestContext> =>
    createRequestContext({ requestId: req.id, ip: req.ip, headers: webHeaders(req), services });

  // Better Auth speaks Fetch; hand it the request and copy its response back.
  app.route({
    method: ['GET', 'POST'],
    url: '/api/auth/*',
    handler: async (req, reply) => {
      const url = new URL(req.url, publicUrl(config));
      const body = req.body === undefined ? undefined : JSON.stringify(req.body);
      const headers = webHeaders(req);
      headers.set(CLIENT_IP_HEADER, req.ip);
      const response = await auth.handler(new Request(url, { method: req.method, headers, body }));
      reply.code(response.status);
      for (const [key, value] of response.headers) {
        if (key !== 'set-cookie') reply.header(key, value);
      }
      const cookies = response.headers.getSetCookie();
      if (cookies.length > 0) reply.header('set-cookie', cookies);
      return reply.send(response.body ? await response.text() : null);
    },
  });
  app.get('/api/v1/auth/providers', async () => ({ providers: configuredProviders(config) }));

  await app.register(fastifyTRPCPlugin, {
    prefix: '/trpc',
    trpcOptions: {
      router: appRouter,
      createContext: ({ req }: { req: FastifyRequest }) => contextOf(req),
      responseMeta: ({ errors }: { errors: unknown[] }) => (errors[0] ? { status: appErrorOf(errors[0]).status } : {}),
      onError: ({ error, req }: { error: Error; req: FastifyRequest }) => {
        if (appErrorOf(error).status >= 500) req.log.error({ err: error.cause ?? error }, 'procedure failed');
      },
    },
  });
  registerRest(app, contextOf);

  const openApi = buildOpenApiDocument(publicUrl(config));
  app.get('/api/openapi.json', async () => openApi);
  await app.register(fastifySwagger, { mode: 'static', specification: { document: openApi as never } });
  await app.register(fastifySwaggerUi, { routePrefix: '/api/docs' });

  registerHealthRoutes(app, { database, version: VERSION, isShuttingDown: () => shuttingDown });

  return {
    app,
    jobs: jobRunner,
    auth,
    database,
    services,
    async start() {
      await app.listen({ port: config.PORT, host: config.HOST });
      if (config.WORKER_ENABLED) await jobRunner.start();
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : config.PORT;
      return `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${port}`;
    },
    async stop() {
      shuttingDown = true;
      await app.close();
      await jobRunner.stop();
      mailer.close();
      if (!options.database) await database.close();
    },
  };
}
