import type { Database, Tx } from './client.ts';

/**
 * Transactions for callers who have no principal yet but present a secret:
 * the request role with the SHA-256 of that secret set transaction-locally,
 * so RLS shows the one row whose hash matches and nothing else (as
 * `app.api_key_hash` does for API keys). QR sign-in only, for now
 * (src/modules/qr-sign-in, docs/qr-sign-in.md).
 */
const ENTER = {
  qrPoll: "select pg_catalog.set_config('role', 'palisade_app', true), pg_catalog.set_config('app.qr_poll_hash', $1, true)",
  qrApprove: "select pg_catalog.set_config('role', 'palisade_app', true), pg_catalog.set_config('app.qr_approve_hash', $1, true)",
} as const;

export type PresentedSecret = keyof typeof ENTER;

export function withPresentedSecret<T>(
  database: Database,
  kind: PresentedSecret,
  hash: string,
  fn: (tx: Tx) => Promise<T>,
): Promise<T> {
  return database.transaction({ text: ENTER[kind], params: [hash] }, fn);
}
