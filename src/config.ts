import { z } from 'zod';

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

export const configSchema = z
  .object({
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
    INVITATION_TTL_HOURS: z.coerce.number().int().min(1).max(24 * 30).default(72),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Seed the demo tenants on first start of an empty database. */
    SEED_DEMO: z
      .enum(['true', 'false', '1', '0', ''])
      .optional()
      .transform((v) => v === undefined || v === '' || v === 'true' || v === '1'),
    /** Reverse proxies in front of Palisade whose X-Forwarded-For entries are trusted; 0 trusts none. */
    TRUST_PROXY_HOPS: z.coerce.number().int().min(0).max(10).default(0),
    BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).default(1024 * 1024),
  })
  .superRefine((c, ctx) => {
    if (c.NODE_ENV === 'production' && !c.AUTH_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['AUTH_SECRET'], message: 'is required in production' });
    }
    const pairs: Array<[keyof typeof c, keyof typeof c]> = [
      ['GOOGLE_CLIENT_ID', 'GOOGLE_CLIENT_SECRET'],
      ['MICROSOFT_CLIENT_ID', 'MICROSOFT_CLIENT_SECRET'],
      ['OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET'],
    ];
    for (const [id, secret] of pairs) {
      if (Boolean(c[id]) !== Boolean(c[secret])) {
        ctx.addIssue({ code: 'custom', path: [c[id] ? secret : id], message: `must be set together with ${c[id] ? id : secret}` });
      }
    }
    if (c.OIDC_CLIENT_ID && !c.OIDC_ISSUER) {
      ctx.addIssue({ code: 'custom', path: ['OIDC_ISSUER'], message: 'is required when OIDC_CLIENT_ID is set' });
    }
  });

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`));
  }
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
] as const satisfies ReadonlyArray<keyof Config>;

export function maskedConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = { ...config };
  for (const key of SECRET_KEYS) {
    if (out[key] !== undefined) out[key] = '********';
  }
  return out;
}

export function publicUrl(config: Config): string {
  return (config.PUBLIC_URL ?? `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${config.PORT}`).replace(/\/$/, '');
}
