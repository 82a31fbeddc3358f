import { CONNECTION_LOST_CODES } from '../db/connection-errors.ts';

/**
 * The closed set of error codes Palisade returns, each with its HTTP status and
 * a human message. Every error leaves the server as
 * `{ "error": { "code", "message", "details"? }, "requestId" }`; docs/api.md
 * lists these codes and a test fails when one is undocumented.
 */
export const ERROR_CATALOGUE = {
  BAD_REQUEST: { status: 400, message: 'The request is malformed.' },
  VALIDATION_FAILED: { status: 400, message: 'Some fields are invalid.' },
  UNAUTHENTICATED: { status: 401, message: 'Sign in or send a valid API key.' },
  FORBIDDEN: { status: 403, message: 'Your role does not allow this action.' },
  TENANT_ACCESS_DENIED: { status: 403, message: 'You are not a member of that tenant.' },
  NO_ACTIVE_TENANT: { status: 403, message: 'Select a tenant first.' },
  API_KEY_NOT_ALLOWED: { status: 403, message: 'API keys cannot call this; sign in as a member.' },
  INSUFFICIENT_SCOPE: { status: 403, message: "This API key's scopes do not allow this action." },
  SHARED_AGENT_READ_ONLY: {
    status: 403,
    message: 'This agent is shared with you by another tenant; you can use it but not change it.',
  },
  ORIGIN_NOT_ALLOWED: { status: 403, message: 'This widget may not be used from this website.' },
  CROSS_SITE_REQUEST: { status: 403, message: 'A signed-in change must come from this site.' },
  WIDGET_INACTIVE: { status: 403, message: 'This chat widget is switched off.' },
  EMAIL_NOT_VERIFIED: { status: 403, message: 'Verify your email address first.' },
  NOT_FOUND: { status: 404, message: 'Not found.' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'Method not allowed.' },
  REQUEST_TIMEOUT: { status: 408, message: 'The request did not arrive in time.' },
  CONFLICT: { status: 409, message: 'This conflicts with an existing record.' },
  LAST_OWNER: { status: 409, message: 'A tenant must keep at least one owner.' },
  ALREADY_MEMBER: { status: 409, message: 'That person is already a member.' },
  INVALID_TRANSITION: { status: 409, message: 'The resource is not in a state that allows this action.' },
  INVITATION_EXPIRED: { status: 410, message: 'This invitation has expired.' },
  QR_SIGN_IN_EXPIRED: { status: 410, message: 'This QR code has expired or was already used. Ask for a new one.' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Unsupported content type.' },
  HEADERS_TOO_LARGE: { status: 431, message: 'The request headers are too large.' },
  BUDGET_EXCEEDED: { status: 402, message: "This month's AI budget is used up; raise the limit or wait for the next month." },
  UNPROCESSABLE: { status: 422, message: 'The request refers to something that does not exist.' },
  RATE_LIMITED: { status: 429, message: 'Too many requests. Retry later.' },
  INTERNAL: { status: 500, message: 'Something went wrong on our side.' },
  MODEL_UNAVAILABLE: { status: 502, message: 'The language model service did not answer. Try again.' },
  UNAVAILABLE: { status: 503, message: 'The service is temporarily unavailable.' },
  MEETINGS_NOT_CONFIGURED: { status: 503, message: 'Meetings need LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
  requestId: string;
}

/** An expected failure with a catalogued code; anything else becomes INTERNAL. */
export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly details?: unknown,
  ) {
    super(message ?? ERROR_CATALOGUE[code].message);
    this.name = 'AppError';
    this.status = ERROR_CATALOGUE[code].status;
  }
}

/** Field-level validation problem, as returned in `details` of VALIDATION_FAILED. */
export interface FieldIssue {
  path: string;
  message: string;
}

/**
 * PostgreSQL errors that callers can cause, mapped without echoing values or
 * constraint names; everything else stays INTERNAL.
 */
export function fromDatabaseError(error: unknown): AppError | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  // The database went away or is restarting: the client may retry; readiness reports it too.
  if (CONNECTION_LOST_CODES.has(code)) return new AppError('UNAVAILABLE');
  switch (code) {
    // Raised by Palisade's own functions (src/db/migrations).
    case 'PT401':
      return new AppError('UNAUTHENTICATED');
    case 'PT403':
      return new AppError('TENANT_ACCESS_DENIED');
    case 'PT404':
      return new AppError('NOT_FOUND');
    case 'PT409':
      return new AppError('ALREADY_MEMBER');
    case 'PT410':
      return new AppError('INVITATION_EXPIRED');
    case '23505':
      return new AppError('CONFLICT');
    case '23503':
    case '23514':
    case '22P02':
      return new AppError('UNPROCESSABLE');
    case '42501': // insufficient privilege: a write RLS refused (WITH CHECK)
      return new AppError('NOT_FOUND');
    default:
      return undefined;
  }
}

/**
 * Turns anything thrown into a catalogued error. Unknown errors keep no
 * internals. Libraries wrap database errors (the auth library's APIError
 * around Drizzle's query error around the driver's), so the cause chain is
 * followed a few links down.
 */
export function toAppError(error: unknown): AppError {
  let current = error;
  for (let depth = 0; depth < 5 && current !== null && current !== undefined; depth++) {
    if (current instanceof AppError) return current;
    const fromDb = fromDatabaseError(current);
    if (fromDb) return fromDb;
    current = (current as { cause?: unknown }).cause;
  }
  return new AppError('INTERNAL');
}

export function errorBody(error: AppError, requestId: string): ErrorBody {
  return {
    error: { code: error.code, message: error.message, ...(error.details === undefined ? {} : { details: error.details }) },
    requestId,
  };
}
