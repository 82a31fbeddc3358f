/**
 * Error codes that mean the database went away or could not be reached, rather than that a statement was
 * wrong: PostgreSQL's shutdown and connection classes, the socket's own errors, and postgres.js's codes for a
 * lost or unobtainable connection. Requests failing with one answer 503 UNAVAILABLE (api/errors.ts); the
 * server PostgreSQL client also uses them to notice an outage (db/client.ts).
 */
export const CONNECTION_LOST_CODES: ReadonlySet<string> = new Set([
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
]);

export const isConnectionLost = (error: unknown): boolean => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CONNECTION_LOST_CODES.has(code);
};
