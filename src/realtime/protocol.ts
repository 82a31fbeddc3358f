import { z } from 'zod';

/**
 * The realtime wire protocol: JSON text frames, described in docs/realtime.md.
 * Servers build frames with `encodeServerMessage`; clients may validate them
 * with `serverMessageSchema`.
 */

/** `*`, an exact type (`contact.created`) or a prefix (`contact.*`); the same forms as webhook endpoints. */
export const FILTER_PATTERN = /^(\*|[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?)$/;
export const MAX_FILTERS = 50;
export const MAX_FILTER_LENGTH = 100;

export const eventFilterSchema = z.string().max(MAX_FILTER_LENGTH).regex(FILTER_PATTERN, 'not an event type filter');
/** An empty list is allowed: the socket stays open and receives nothing until it subscribes again. */
export const eventFiltersSchema = z.array(eventFilterSchema).max(MAX_FILTERS);

export const clientMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('subscribe'), types: eventFiltersSchema }),
  z.object({ type: z.literal('ping') }),
]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;

/** What a client sees of an event: the webhook body (`type`, `timestamp`, `data`) plus the id to dedupe by. */
export const wireEventSchema = z.object({
  id: z.string().min(1),
  type: z.string().min(1),
  timestamp: z.iso.datetime({ offset: true }),
  data: z.record(z.string(), z.unknown()),
});
export type WireEvent = z.infer<typeof wireEventSchema>;

export const serverMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready'), tenantId: z.string(), subscribed: z.array(z.string()) }),
  z.object({ type: z.literal('event'), event: wireEventSchema }),
  z.object({ type: z.literal('subscribed'), types: z.array(z.string()) }),
  z.object({ type: z.literal('pong') }),
  z.object({ type: z.literal('error'), code: z.literal('BAD_MESSAGE'), message: z.string() }),
]);
export type ServerMessage = z.infer<typeof serverMessageSchema>;

export function encodeServerMessage(message: ServerMessage): string {
  return JSON.stringify(message);
}

export type ParsedClientMessage = { ok: true; message: ClientMessage } | { ok: false; error: string };

/** Parses one text frame; the error is safe to send back to the client. */
export function parseClientMessage(text: string): ParsedClientMessage {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, error: 'not valid JSON' };
  }
  const result = clientMessageSchema.safeParse(json);
  if (result.success) return { ok: true, message: result.data };
  const issue = result.error.issues[0];
  const path = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  return { ok: false, error: `${path}${issue?.message ?? 'invalid message'}` };
}

/** `?types=contact.*,member.*`: absent or empty means `*`; null when any entry is invalid. */
export function parseTypesQuery(raw: string | readonly string[] | undefined): string[] | null {
  const joined = typeof raw === 'string' ? raw : (raw ?? []).join(',');
  const types = joined
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  if (types.length === 0) return ['*'];
  const result = eventFiltersSchema.safeParse(types);
  return result.success ? result.data : null;
}
