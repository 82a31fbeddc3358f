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

/** JSON lines to stdout, or to `destination` (tests capture what would be written). */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { service: 'palisade' },
    serializers: {
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
