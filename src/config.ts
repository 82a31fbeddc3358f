import { z } from 'zod';
import { priceOverridesSchema } from './modules/ai/costs/prices.ts';

/**
 * The one validated configuration schema. Every setting comes from the
 * environment; `loadConfig` reports every missing or malformed variable at once.
 */
const optionalUrl = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .pipe(z.string().url().optional());

const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

const booleanFlag = z
  .enum(['true', 'false', '1', '0', ''])
  .optional()
  .transform((v) => v === 'true' || v === '1');

export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('127.0.0.1'),
  /** Public base URL used in links (invitations, OAuth callbacks). Defaults to http://HOST:PORT. */
  PUBLIC_URL: optionalUrl.optional(),
  /** Server PostgreSQL, connected to as the table owner (migrations). Unset: embedded PGlite. */
  DATABASE_URL: optionalUrl.optional(),
  /** Optional login for the request role (palisade_app). Unset: the owner connection switches role per transaction. */
  APP_DATABASE_URL: optionalUrl.optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  /** Where PGlite stores its files when DATABASE_URL is unset. */
  DATA_DIR: z.string().default('./.palisade'),
  REDIS_URL: optionalUrl.optional(),
  /** Prefix of every Redis key and channel, so several deployments can share one Redis without sharing counts or events. */
  REDIS_KEY_PREFIX: z.string().min(1).max(64).default('palisade:'),
  /** Signs sessions and derives encryption keys. Required in production; at least 32 characters. */
  AUTH_SECRET: optionalString.pipe(z.string().min(32, 'must be at least 32 characters').optional()),
  SMTP_URL: optionalUrl.optional(),
  MAIL_FROM: z.string().default('Palisade <no-reply@palisade.local>'),
  GOOGLE_CLIENT_ID: optionalString,
  GOOGLE_CLIENT_SECRET: optionalString,
  MICROSOFT_CLIENT_ID: optionalString,
  MICROSOFT_CLIENT_SECRET: optionalString,
  MICROSOFT_TENANT_ID: z.string().default('common'),
  OIDC_ISSUER: optionalUrl.optional(),
  OIDC_CLIENT_ID: optionalString,
  OIDC_CLIENT_SECRET: optionalString,
  OIDC_PROVIDER_NAME: z.string().default('OpenID Connect'),
  REQUIRE_EMAIL_VERIFICATION: booleanFlag,
  INVITATION_TTL_HOURS: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 30)
    .default(72),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Seed the demo tenants on first start of an empty database. */
  SEED_DEMO: z
    .enum(['true', 'false', '1', '0', ''])
    .optional()
    .transform((v) => v === undefined || v === '' || v === 'true' || v === '1'),
  /** Reverse proxies in front of Palisade whose X-Forwarded-For entries are trusted; 0 trusts none. */
  TRUST_PROXY_HOPS: z.coerce.number().int().min(0).max(10).default(0),
  /** Comma-separated hosts webhooks may target even when they resolve to private or loopback addresses (tests, local development). */
  WEBHOOK_ALLOWED_HOSTS: z
    .string()
    .default('')
    .transform(
      (v) =>
        new Set(
          v
            .split(',')
            .map((h) => h.trim().toLowerCase())
            .filter(Boolean),
        ),
    ),
  /** Multiplies the retry schedule's delays: 0.001 runs the whole schedule in seconds (tests). */
  WEBHOOK_TIME_SCALE: z.coerce.number().positive().max(1).default(1),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(15_000),
  /** How long a rotated-out webhook secret keeps signing beside the new one. */
  WEBHOOK_SECRET_OVERLAP_HOURS: z.coerce
    .number()
    .min(0)
    .max(24 * 30)
    .default(24),
  /** An endpoint failing without a single success for this long is disabled. */
  WEBHOOK_DISABLE_AFTER_HOURS: z.coerce
    .number()
    .min(1)
    .max(24 * 90)
    .default(120),
  /** Events older than this are pruned from the outbox. */
  EVENT_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  /** Run background work (event dispatch, webhook delivery) in this process; API-only instances set false. */
  WORKER_ENABLED: z
    .enum(['true', 'false', '1', '0', ''])
    .optional()
    .transform((v) => v !== 'false' && v !== '0'),
  /** How often the job runner looks for due work when no notification arrives. */
  JOBS_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(1000),
  /** Rate limits on every route but health and metrics (docs/rate-limits.md). */
  RATE_LIMIT_ENABLED: z
    .enum(['true', 'false', '1', '0', ''])
    .optional()
    .transform((v) => v !== 'false' && v !== '0'),
  /** Scales every rate limit: 2 doubles them, 0.5 halves them. */
  RATE_LIMIT_MULTIPLIER: z.coerce.number().positive().max(1_000_000).default(1),
  /** Comma-separated browser origins that may open realtime sockets; defaults to the origin of PUBLIC_URL. */
  REALTIME_ALLOWED_ORIGINS: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    ),
  /** How long a claimed job is held; a process that dies holding one lets it run again after this. Longer than WEBHOOK_TIMEOUT_MS. */
  JOBS_LEASE_MS: z.coerce.number().int().min(1000).max(3_600_000).default(60_000),
  /** Serves /metrics on the main port to requests bearing this token (at least 16 characters). */
  METRICS_TOKEN: optionalString.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
  /** Serves /metrics without a token on a separate listener, e.g. a port only the monitoring network reaches. */
  METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  METRICS_HOST: z.string().default('127.0.0.1'),
  /** Tenant transactions slower than this are logged and kept for the slow-query API. */
  SLOW_QUERY_MS: z.coerce.number().int().min(1).default(500),
  /** On SIGTERM, how long in-flight requests and deliveries may take before the process exits anyway. */
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(1000).max(600_000).default(25_000),
  /** A request whose headers and body have not all arrived after this long is answered 408 and its connection closed. */
  HTTP_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  /** A connection on which nothing is received or sent for this long, while a request is open, is closed. */
  HTTP_IDLE_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  /** How long a kept-alive connection may wait for its next request; longer than the reverse proxy's own idle timeout. */
  HTTP_KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(72_000),
  /** An OpenAI-compatible chat-completions service (…/v1). Without it, agents answer with the offline responder. */
  LLM_BASE_URL: optionalString.pipe(z.url().optional()),
  LLM_API_KEY: optionalString,
  /** How long one model call may take before it fails with MODEL_UNAVAILABLE. */
  LLM_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(60_000),
  /** JSON merged over the built-in AI price table per service and model (docs/costs-and-budgets.md). */
  AI_PRICES: optionalString.pipe(
    z
      .string()
      .transform((text, ctx) => {
        try {
          return JSON.parse(text) as unknown;
        } catch {
          ctx.addIssue({ code: 'custom', message: 'must be JSON' });
          return z.NEVER;
        }
      })
      .pipe(priceOverridesSchema)
      .optional(),
  ),
  /** LiveKit server for meetings (docs/meetings.md); join tokens need all three. */
  LIVEKIT_URL: optionalString.pipe(z.url().optional()),
  LIVEKIT_API_KEY: optionalString,
  LIVEKIT_API_SECRET: optionalString,
  BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  /** Largest knowledge-base file upload (docs/knowledge-base.md). */
  KNOWLEDGE_MAX_UPLOAD_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(512 * 1024 * 1024)
    .default(10 * 1024 * 1024),
  /** Semantic search over at most this many of a tenant's chunks is exact; larger tenants use the HNSW index (pgvector). */
  KNOWLEDGE_EXACT_SEARCH_MAX_CHUNKS: z.coerce.number().int().min(0).default(20_000),
  /** An OpenAI-compatible embeddings endpoint (…/v1). Unset: knowledge search is full-text only. */
  EMBEDDINGS_BASE_URL: optionalString.pipe(z.url().optional()),
  EMBEDDINGS_API_KEY: optionalString,
  EMBEDDINGS_MODEL: z.string().trim().min(1).default('text-embedding-3-small'),
  EMBEDDINGS_DIMENSIONS: z.coerce.number().int().min(2).max(4000).default(1536),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Rules between variables, checked on the raw environment so they are reported together with field errors. */
function crossFieldProblems(env: Env): string[] {
  const set = (key: string) => Boolean(env[key]?.trim());
  const problems: string[] = [];
  if (env.NODE_ENV === 'production' && !set('AUTH_SECRET')) problems.push('AUTH_SECRET: is required in production');
  for (const [id, secret] of [
    ['GOOGLE_CLIENT_ID', 'GOOGLE_CLIENT_SECRET'],
    ['MICROSOFT_CLIENT_ID', 'MICROSOFT_CLIENT_SECRET'],
    ['OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET'],
  ] as const) {
    if (set(id) !== set(secret)) problems.push(`${set(id) ? secret : id}: must be set together with ${set(id) ? id : secret}`);
  }
  if (set('OIDC_CLIENT_ID') && !set('OIDC_ISSUER')) problems.push('OIDC_ISSUER: is required when OIDC_CLIENT_ID is set');
  // A lease shorter than a delivery attempt would let a second process send the same delivery while the first still waits.
  const leaseMs = Number(env.JOBS_LEASE_MS?.trim() || 60_000);
  const timeoutMs = Number(env.WEBHOOK_TIMEOUT_MS?.trim() || 15_000);
  if (leaseMs <= timeoutMs) problems.push('JOBS_LEASE_MS: must be longer than WEBHOOK_TIMEOUT_MS');
  return problems;
}

export function loadConfig(env: Env = process.env): Config {
  const parsed = configSchema.safeParse(env);
  const problems = [
    ...(parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`)),
    ...crossFieldProblems(env),
  ];
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  return parsed.data;
}

/** Settings whose values must never be printed or logged. */
export const SECRET_KEYS = [
  'DATABASE_URL',
  'APP_DATABASE_URL',
  'REDIS_URL',
  'AUTH_SECRET',
  'SMTP_URL',
  'GOOGLE_CLIENT_SECRET',
  'MICROSOFT_CLIENT_SECRET',
  'OIDC_CLIENT_SECRET',
  'METRICS_TOKEN',
  'EMBEDDINGS_API_KEY',
  'LLM_API_KEY',
  'LIVEKIT_API_SECRET',
] as const satisfies ReadonlyArray<keyof Config>;

export function maskedConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = { ...config };
  for (const key of SECRET_KEYS) {
    if (out[key] !== undefined) out[key] = '********';
  }
  return out;
}

export function publicUrl(config: Config): string {
  return (config.PUBLIC_URL ?? `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${config.PORT}`).replace(
    /\/$/,
    '',
  );
}
