import type { Tx } from '../db/tenant.ts';
import { auditLog } from './schema.ts';

export interface AuditEntry {
  action: string;
  targetType: string;
  targetId?: string | null;
  data?: Record<string, unknown>;
}

/** Who an audit entry is attributed to; written in the same transaction as the change it records. */
export interface AuditActor {
  tenantId: string;
  userId: string | null;
  apiKeyId?: string | null;
  requestId: string;
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
    requestId: actor.requestId,
  });
}

/** The actor of a request made by a tenant principal. */
export function actorOf(principal: { tenantId: string; userId: string }, requestId: string): AuditActor {
  return { tenantId: principal.tenantId, userId: principal.userId, requestId };
}
