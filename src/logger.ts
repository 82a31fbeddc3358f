import pino, { type Logger } from 'pino';

/**
 * Paths that may carry credentials. pino replaces them before a line is
 * written, so no code path can log a secret by accident.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.newPassword',
  '*.currentPassword',
  '*.token',
  '*.secret',
  '*.apiKey',
  '*.accessToken',
  '*.refreshToken',
  '*.idToken',
];

/**
 * Error messages and stacks with query parameters cut out: Drizzle's query
 * errors append `params: ...` (session tokens, emails) to their message, and
 * the auth library logs those errors itself.
 */
const QUERY_PARAMS = /\nparams: [^\n]*/g;
export const scrubQueryParams = (text: string) => text.replace(QUERY_PARAMS, '\nparams: [redacted]');

function serializeError(error: unknown) {
  const serialized = pino.stdSerializers.err(error as Error) as unknown as Record<string, unknown>;
  const scrub = (value: unknown): unknown => {
    if (typeof value === 'string') return scrubQueryParams(value);
    if (Array.isArray(value)) return value.map(scrub);
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrub(v)]));
    return value;
  };
  return scrub(serialized);
}

/** JSON lines to stdout, or to `destination` (tests capture what would be written). */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { service: 'palisade' },
    serializers: {
      err: serializeError,
      error: serializeError,
      // Paths only: query strings can carry one-time tokens (email verification, password reset, invitations).
      req: (req: { method: string; url: string; id: string; ip?: string }) => ({
        id: req.id,
        method: req.method,
        path: req.url.split('?')[0],
        ip: req.ip,
      }),
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

export type { Logger };
