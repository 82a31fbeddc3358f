import type { Tx } from '../db/tenant.ts';
import { auditLog } from './schema.ts';

export interface AuditEntry {
  action: string;
  targetType: string;
  targetId?: string | null;
  data?: Record<string, unknown>;
  /** The fields that changed, as they were and as they became (never secrets). */
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
}

/** Who an audit entry is attributed to, and from where; written in the same transaction as the change it records. */
export interface AuditActor {
  tenantId: string;
  userId: string | null;
  apiKeyId?: string | null;
  requestId: string;
  ip?: string | null;
  userAgent?: string | null;
}

export async function recordAudit(tx: Tx, actor: AuditActor, entry: AuditEntry): Promise<void> {
  await tx.insert(auditLog).values({
    tenantId: actor.tenantId,
    actorUserId: actor.userId,
    actorApiKeyId: actor.apiKeyId ?? null,
    action: entry.action,
    targetType: entry.targetType,
    targetId: entry.targetId ?? null,
    data: entry.data ?? {},
    before: entry.before ?? null,
    after: entry.after ?? null,
    requestId: actor.requestId,
    ip: actor.ip ?? null,
    userAgent: actor.userAgent ?? null,
  });
}

/** The request facts an audit entry carries. */
export interface RequestFacts {
  requestId: string;
  ip?: string | null;
  userAgent?: string | null;
}

/** The actor of a request made by a tenant principal: a member or an API key. */
export function actorOf(
  principal: { tenantId: string } & ({ kind: 'member'; userId: string } | { kind: 'apiKey'; apiKeyId: string }),
  request: RequestFacts,
): AuditActor {
  return {
    tenantId: principal.tenantId,
    userId: principal.kind === 'member' ? principal.userId : null,
    apiKeyId: principal.kind === 'apiKey' ? principal.apiKeyId : null,
    requestId: request.requestId,
    ip: request.ip ?? null,
    userAgent: request.userAgent ?? null,
  };
}

/** The before/after summary of an update: only the named fields, as they were and as they became. */
export function changeSummary<T extends Record<string, unknown>>(
  before: T,
  after: T,
  fields: readonly (keyof T & string)[],
): Pick<AuditEntry, 'before' | 'after'> {
  const pick = (row: T) => Object.fromEntries(fields.map((f) => [f, row[f] ?? null]));
  return { before: pick(before), after: pick(after) };
}
