import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server as HttpServer } from 'node:http';
import { join } from 'node:path';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import { sql } from 'drizzle-orm';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { DestinationStream } from 'pino';
import { registerAiChatRoutes } from './api/ai-chat-http.ts';
import { registerCampaignPublicRoutes } from './api/campaigns-public.ts';
import { type Caller, createRequestContext, type RequestContext, resolveCaller, type Services } from './api/context.ts';
import { registerCrmCsvRoutes } from './api/crm-csv.ts';
import { AppError, errorBody } from './api/errors.ts';
import { registerKnowledgeUploadRoute } from './api/knowledge-upload.ts';
import { buildOpenApiDocument } from './api/openapi.ts';
import { appErrorOf } from './api/procedures.ts';
import { registerQrSignInRoutes } from './api/qr-sign-in.ts';
import { registerRest } from './api/rest.ts';
import { appRouter } from './api/router.ts';
import { registerTrpc } from './api/trpc-http.ts';
import { type Auth, CLIENT_IP_HEADER, configuredProviders, createAuth } from './auth/auth.ts';
import { createSessionService } from './auth/principal.ts';
import { type Config, publicUrl } from './config.ts';
import { deriveKey, SecretBox } from './crypto/secret-box.ts';
import { type Database, openDatabase } from './db/client.ts';
import { migrate } from './db/migrate.ts';
import { withPresentedSecret } from './db/presented-secret.ts';
import { memberPlan, queryRows, withSystemTenant, withWorker } from './db/tenant.ts';
import { dispatchEventHandler } from './events/dispatch.ts';
import { DISPATCH_EVENT_JOB } from './events/emit.ts';
import { registerHealthRoutes } from './health/routes.ts';
import { answerClientError } from './http/client-errors.ts';
import { registerJsonParser } from './http/json-body.ts';
import { registerRateLimit } from './http/rate-limit.ts';
import { registerSameOriginCheck } from './http/same-origin.ts';
import { webHeaders } from './http/web-headers.ts';
import { JobRunner } from './jobs/runner.ts';
import { createLogger } from './logger.ts';
import { createMailer } from './mail/mailer.ts';
import { configurePrices } from './modules/ai/costs/prices.ts';
import { configureKnowledge } from './modules/ai/knowledge/settings.ts';
import { ensureVectorIndex } from './modules/ai/knowledge/vector.ts';
import {
  SEND_CAMPAIGN_MESSAGE_JOB,
  START_SCHEDULED_CAMPAIGN_JOB,
  sendCampaignMessageHandler,
  startScheduledCampaignHandler,
} from './modules/campaigns/delivery.ts';
import { createCampaignMailer } from './modules/campaigns/mail.ts';
import { createDeliveries, DELIVER_WEBHOOK_JOB, deliverWebhookHandler } from './modules/webhooks/delivery.ts';
import { registerObservability, startMetricsListener } from './observability/http.ts';
import { createMetrics, type Metrics } from './observability/metrics.ts';
import { SlowQueryLog } from './observability/slow-queries.ts';
import { TenantStats } from './observability/tenant-stats.ts';
import { createRateLimitStore, type RateLimitStore, scalePolicies } from './ratelimit/index.ts';
import { realtimeAuthenticator } from './realtime/authenticate.ts';
import { createLocalBroker, createRedisBroker, type RealtimeBroker, toRealtimeEvent } from './realtime/broker.ts';
import { RealtimeHub } from './realtime/hub.ts';
import { registerRealtimeRoute } from './realtime/route.ts';
import { issueRealtimeToken } from './realtime/token.ts';
import { registerWebApp } from './web/static.ts';

export const VERSION = '0.1.0';

const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

export interface PalisadeServer {
  app: FastifyInstance;
  metrics: Metrics;
  /** This process's realtime sockets. */
  realtime: RealtimeHub;
  rateLimits: RateLimitStore & { readonly degraded: boolean };
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
  await database.ready();

  configurePrices(config.AI_PRICES);
  configureKnowledge(config);
  await ensureVectorIndex(database, config.EMBEDDINGS_BASE_URL ? config.EMBEDDINGS_DIMENSIONS : null);
  const mailer = createMailer({ smtpUrl: config.SMTP_URL, from: config.MAIL_FROM, logger });
  const secret = authSecret(config);
  const auth = createAuth({ config, database, mailer, secret, logger });
  const sessions = createSessionService(auth, database);
  // Derived rather than the auth secret itself: a realtime token's MAC must not be usable anywhere else.
  const realtimeTokenSecret = deriveKey(secret, 'realtime-tokens').toString('base64url');
  const telemetry = { stats: new TenantStats(), slowQueries: new SlowQueryLog(config.SLOW_QUERY_MS) };
  const services: Services = {
    config,
    logger,
    mailer,
    sessions,
    telemetry,
    secrets: new SecretBox(secret, 'webhook-secrets'),
    outbound: { requireHttps: config.NODE_ENV === 'production', allowedHosts: config.WEBHOOK_ALLOWED_HOSTS },
    realtimeTokens: {
      issue(claims) {
        const ttlSeconds = 60;
        const now = Date.now();
        const expiresAt = new Date((Math.floor(now / 1000) + ttlSeconds) * 1000).toISOString();
        return { token: issueRealtimeToken(realtimeTokenSecret, claims, ttlSeconds, now), expiresAt };
      },
    },
  };
  // Several processes share counts and events through Redis; one process keeps them in memory.
  const rateLimits = await createRateLimitStore({
    redisUrl: config.REDIS_URL,
    logger,
    keyPrefix: `${config.REDIS_KEY_PREFIX}rl:`,
  });
  const broker: RealtimeBroker = config.REDIS_URL
    ? createRedisBroker({ url: config.REDIS_URL, logger, channel: `${config.REDIS_KEY_PREFIX}realtime` })
    : createLocalBroker({ logger });
  const realtime = new RealtimeHub({ broker, logger, revalidate: (subscriber) => sessions.roleNow(subscriber) });
  const metrics = createMetrics({
    poolStats: () => database.poolStats(),
    realtimeConnections: () => realtime.size,
    redisDegraded: () => redisDegraded(),
    // As the worker role sees the queue: the owner may not bypass RLS in production (docs/operations.md).
    outboxBacklog: () =>
      withWorker(database, async (tx) => {
        const [row] = await queryRows<{ pending: number; oldest: number | null }>(
          tx,
          sql`select count(*)::int as pending, extract(epoch from now() - min(created_at))::float8 as oldest
                from app.jobs where kind = ${DISPATCH_EVENT_JOB} and dead_at is null`,
        );
        return { pending: row?.pending ?? 0, oldestAgeSeconds: row?.oldest ?? 0 };
      }),
  });
  const jobRunner = new JobRunner({
    database,
    logger,
    pollMs: config.JOBS_POLL_MS,
    leaseMs: config.JOBS_LEASE_MS,
    handlers: {
      [DISPATCH_EVENT_JOB]: dispatchEventHandler({
        subscribers: [createDeliveries],
        publishers: [(event) => broker.publish(toRealtimeEvent(event))],
        retentionDays: config.EVENT_RETENTION_DAYS,
        logger,
      }),
      [DELIVER_WEBHOOK_JOB]: deliverWebhookHandler({
        config,
        secrets: services.secrets,
        policy: services.outbound,
        logger,
        onAttempt: (result) => metrics.webhookAttempts.inc({ result }),
      }),
      [SEND_CAMPAIGN_MESSAGE_JOB]: sendCampaignMessageHandler({
        mailer: createCampaignMailer({ smtpUrl: config.SMTP_URL, from: config.MAIL_FROM, logger }),
        logger,
        publicUrl: publicUrl(config),
        unsubscribeKey: deriveKey(secret, 'campaign-unsubscribe'),
        secrets: services.secrets,
        outbound: services.outbound,
        gatewayTimeoutMs: config.WEBHOOK_TIMEOUT_MS,
      }),
      [START_SCHEDULED_CAMPAIGN_JOB]: startScheduledCampaignHandler(),
    },
  });
  let shuttingDown = false;
  let metricsListener: HttpServer | undefined;

  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: config.BODY_LIMIT_BYTES,
    // Exactly TRUST_PROXY_HOPS proxies, counted from this server outwards, are trusted to append to
    // X-Forwarded-For; the client address is the entry just beyond them. (Fastify's own numeric setting
    // trusts nothing since 5.12, so the count is spelled out as a function.) Set it only when every
    // request arrives through those proxies: a client that can reach the server directly could otherwise
    // choose its own address.
    trustProxy: config.TRUST_PROXY_HOPS > 0 ? (_address: string, hop: number) => hop < config.TRUST_PROXY_HOPS : false,
    requestIdHeader: false,
    // observability/http.ts writes one line per request, with its tenant and actor.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // Slow clients (docs/operations.md): the whole request within HTTP_REQUEST_TIMEOUT_MS, no silence longer than
    // HTTP_IDLE_TIMEOUT_MS while it is open, and kept-alive connections closed after HTTP_KEEP_ALIVE_TIMEOUT_MS.
    requestTimeout: config.HTTP_REQUEST_TIMEOUT_MS,
    connectionTimeout: config.HTTP_IDLE_TIMEOUT_MS,
    keepAliveTimeout: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    clientErrorHandler: answerClientError,
    // Node holds a request's body to requestTimeout only when headersTimeout is no longer (its default is 60 s:
    // a client trickling a body would keep its connection for ever), and looks for expired requests only every
    // connectionsCheckingInterval (30 s by default: up to twice the timeout).
    http: {
      requestTimeout: config.HTTP_REQUEST_TIMEOUT_MS,
      headersTimeout: config.HTTP_REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: Math.min(30_000, Math.max(25, Math.floor(config.HTTP_REQUEST_TIMEOUT_MS / 4))),
    },
  });
  registerObservability(app, {
    metrics,
    stats: telemetry.stats,
    slowQueries: telemetry.slowQueries,
    database,
    logger,
    metricsToken: config.METRICS_TOKEN,
  });
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  registerJsonParser(app, config.BODY_LIMIT_BYTES);
  registerSameOriginCheck(app, new URL(publicUrl(config)).origin);

  app.setErrorHandler((error: FastifyError, req, reply) => {
    const appError = httpAppError(error);
    if (appError.status >= 500) req.log.error({ err: error }, 'request failed');
    return reply.code(appError.status).send(errorBody(appError, req.id));
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send(errorBody(new AppError('NOT_FOUND'), req.id)));

  // The caller is resolved once per request: the rate limiter needs it first, procedures reuse it.
  const callers = new WeakMap<FastifyRequest, { headers: Headers; caller: Promise<Caller> }>();
  const resolved = (req: FastifyRequest) => {
    let entry = callers.get(req);
    if (!entry) {
      const headers = webHeaders(req);
      entry = { headers, caller: resolveCaller(headers, sessions) };
      callers.set(req, entry);
    }
    return entry;
  };
  const callerOf = (req: FastifyRequest): Promise<Caller> => resolved(req).caller;
  const contextOf = async (req: FastifyRequest): Promise<RequestContext> =>
    createRequestContext({
      requestId: req.id,
      ip: req.ip,
      headers: resolved(req).headers,
      services,
      caller: await callerOf(req),
    });

  if (config.RATE_LIMIT_ENABLED) {
    registerRateLimit(app, {
      store: rateLimits,
      policies: scalePolicies(config.RATE_LIMIT_MULTIPLIER),
      callerOf,
      planOf: (tenantId, userId) => memberPlan(database, tenantId, userId),
    });
  }

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

  await registerTrpc(app, {
    router: appRouter,
    contextOf,
    onError: (error, req) => {
      if (appErrorOf(error).status >= 500)
        req.log.error({ err: (error as { cause?: unknown }).cause ?? error }, 'procedure failed');
    },
  });
  registerRest(app, contextOf);
  await registerCrmCsvRoutes(app, contextOf);
  await registerAiChatRoutes(app, {
    contextOf,
    sessions,
    config,
    limits: config.RATE_LIMIT_ENABLED ? { store: rateLimits, policies: scalePolicies(config.RATE_LIMIT_MULTIPLIER) } : null,
  });
  await registerKnowledgeUploadRoute(app, contextOf);
  await registerCampaignPublicRoutes(app, {
    systemTenant: (tenantId, fn) => withSystemTenant(database, tenantId, fn),
    unsubscribeKey: deriveKey(secret, 'campaign-unsubscribe'),
    secrets: services.secrets,
    logger,
  });
  await registerQrSignInRoutes(app, {
    store: { presenting: (kind, hash, fn) => withPresentedSecret(database, kind, hash, fn) },
    auth,
    callerOf,
    publicUrl: publicUrl(config),
    logger,
    rateLimit: config.RATE_LIMIT_ENABLED
      ? { store: rateLimits, policy: scalePolicies(config.RATE_LIMIT_MULTIPLIER).auth }
      : undefined,
  });

  const openApi = buildOpenApiDocument(publicUrl(config));
  app.get('/api/openapi.json', async () => openApi);
  await app.register(fastifySwagger, { mode: 'static', specification: { document: openApi as never } });
  await app.register(fastifySwaggerUi, {
    routePrefix: '/api/docs',
    // Its own scripts and styles only, and never framed: the page sends the session cookie with "Try it out",
    // so another site framing it could lead a member's clicks. Plain http stays usable on a developer's machine.
    staticCSP: true,
    transformStaticCSP: (header) =>
      header.replace("frame-ancestors 'self'", "frame-ancestors 'none'").replace(/\s*upgrade-insecure-requests;?/, ''),
  });

  await registerRealtimeRoute(app, {
    hub: realtime,
    authenticate: realtimeAuthenticator({ sessions, tokenSecret: realtimeTokenSecret, callerOf }),
    allowedOrigins:
      config.REALTIME_ALLOWED_ORIGINS.length > 0 ? config.REALTIME_ALLOWED_ORIGINS : [new URL(publicUrl(config)).origin],
    logger,
  });

  const redisDegraded = () => rateLimits.degraded || ('degraded' in broker && broker.degraded === true);
  registerHealthRoutes(app, {
    database,
    version: VERSION,
    isShuttingDown: () => shuttingDown,
    ...(config.REDIS_URL ? { redisDegraded } : {}),
  });
  // Last: the dashboard's catch-all GET route must not stand in for anything registered above.
  await registerWebApp(app);

  return {
    app,
    metrics,
    realtime,
    rateLimits,
    jobs: jobRunner,
    auth,
    database,
    services,
    async start() {
      await app.listen({ port: config.PORT, host: config.HOST });
      if (config.METRICS_PORT) metricsListener = await startMetricsListener(metrics, config.METRICS_HOST, config.METRICS_PORT);
      if (config.WORKER_ENABLED) await jobRunner.start();
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : config.PORT;
      return `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${port}`;
    },
    async stop() {
      shuttingDown = true;
      await app.close();
      metricsListener?.close();
      await jobRunner.stop();
      await broker.close();
      await rateLimits.close();
      mailer.close();
      if (!options.database) await database.close();
    },
  };
}
