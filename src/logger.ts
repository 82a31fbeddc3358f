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
 * Drizzle's query errors end their message with `params: ...` (session tokens, emails), and the
 * auth library logs those errors itself. The values come last and may span several lines, so
 * everything from `params:` on is cut.
 */
const QUERY_PARAMS_START = '\nparams: ';
export function scrubQueryParams(text: string): string {
  const start = text.indexOf(QUERY_PARAMS_START);
  return start < 0 ? text : `${text.slice(0, start)}${QUERY_PARAMS_START}[redacted]`;
}

/**
 * Error fields that carry the values a failed statement worked on: Drizzle's and PGlite's `params`
 * (PGlite's `queryOptions` too), postgres.js's `parameters` and `args` (enumerable in debug mode),
 * and PostgreSQL's `detail` (`Key (email)=(...) already exists.`), `where` and `internal_query`,
 * which can quote row values. The query text stays: Drizzle sends `$1` placeholders, and the
 * message repeats it anyway.
 */
const VALUE_FIELDS = new Set([
  'params',
  'parameters',
  'args',
  'queryOptions',
  'detail',
  'where',
  'internal_query',
  'internalQuery',
]);
const REDACTED = '[redacted]';
/** Bounds causes and nested fields: a cause chain or a field can be circular or arbitrarily deep. */
const MAX_DEPTH = 5;

type ErrorLike = Error & Record<string, unknown>;
const isErrorLike = (value: unknown): value is ErrorLike =>
  typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string';

function causeChain(error: ErrorLike): ErrorLike[] {
  const chain = [error];
  let cause = error.cause;
  while (isErrorLike(cause) && !chain.includes(cause) && chain.length <= MAX_DEPTH) {
    chain.push(cause);
    cause = cause.cause;
  }
  return chain;
}

function errorType(error: ErrorLike): string {
  return typeof error.constructor === 'function' ? error.constructor.name : error.name;
}

/** The stack with its first line (which repeats the message) carrying the scrubbed message instead. */
function scrubbedStack(error: ErrorLike): string {
  const stack = typeof error.stack === 'string' ? error.stack : '';
  if (error.message && stack.includes(error.message)) return stack.replace(error.message, () => scrubQueryParams(error.message));
  // The message was changed after the stack was taken: cut the values up to the first frame.
  return stack.replace(/\nparams: [\s\S]*?(?=\n {4}at |$)/, `${QUERY_PARAMS_START}${REDACTED}`);
}

function withoutValues(value: unknown, depth: number, ancestors: Set<unknown>): unknown {
  if (typeof value === 'string') return scrubQueryParams(value);
  if (typeof value !== 'object' || value === null) return value;
  if (ancestors.has(value)) return '[circular]';
  if (depth > MAX_DEPTH) return '[truncated]';
  if (isErrorLike(value)) return describeError(value, depth, ancestors);
  ancestors.add(value);
  const copy = Array.isArray(value)
    ? value.map((item) => withoutValues(item, depth + 1, ancestors))
    : Object.fromEntries(
        Object.entries(value).map(([key, item]) => [
          key,
          VALUE_FIELDS.has(key) ? REDACTED : withoutValues(item, depth + 1, ancestors),
        ]),
      );
  ancestors.delete(value);
  return copy;
}

/** An error's own fields (code, constraint, status...), its cause described the same way, no values. */
function describeError(error: ErrorLike, depth: number, ancestors: Set<unknown>): Record<string, unknown> {
  ancestors.add(error);
  const described: Record<string, unknown> = { type: errorType(error), message: scrubQueryParams(error.message) };
  // for-in, like pino's own serializer: enumerable fields, inherited ones included.
  for (const key in error) {
    if (key === 'message' || key === 'stack' || key === 'cause' || key in described) continue;
    described[key] = VALUE_FIELDS.has(key) ? REDACTED : withoutValues(error[key], depth + 1, ancestors);
  }
  if (error.cause !== undefined) described.cause = withoutValues(error.cause, depth + 1, ancestors);
  ancestors.delete(error);
  return described;
}

/**
 * pino's error shape (`type`, `message` and `stack` running through the causes), plus each cause's
 * own fields under `cause`, so the database's error code shows. Never bound values or row contents:
 * a failed session lookup would otherwise write the session token, a live credential.
 */
function serializeError(error: unknown): unknown {
  if (!isErrorLike(error)) return withoutValues(error, 0, new Set());
  const chain = causeChain(error);
  const { type, message: _own, ...fields } = describeError(error, 0, new Set());
  return {
    type,
    message: chain.map((e) => scrubQueryParams(e.message)).join(': '),
    stack: chain.map(scrubbedStack).join('\ncaused by: '),
    ...fields,
  };
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
