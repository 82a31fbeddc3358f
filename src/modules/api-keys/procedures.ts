import { and, eq, isNull } from 'drizzle-orm';
import { z } from 'zod';
import { AppError } from '../../api/errors.ts';
import { iso } from '../../api/output.ts';
import { keyset, listInput, page, pageOf, queryBoolean } from '../../api/pagination.ts';
import { adminProcedure, memberOnly, router, SCOPES } from '../../api/procedures.ts';
import { actorOf, recordAudit } from '../../audit/record.ts';
import { generateApiKey } from '../../auth/api-key-format.ts';
import { type TenantPrincipal, type Tx, withTenant } from '../../db/tenant.ts';
import { emitEvent } from '../../events/emit.ts';
import { apiKeys, KEY_ROLES } from './schema.ts';

const apiKeyOutput = z.object({
  id: z.guid(),
  name: z.string(),
  displayPrefix: z.string(),
  role: z.enum(KEY_ROLES),
  scopes: z.array(z.string()),
  createdBy: z.guid().nullable(),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime().nullable(),
  lastUsedAt: z.iso.datetime().nullable(),
  revokedAt: z.iso.datetime().nullable(),
});

/** Explicit columns: the secret's hash never leaves the database through a read. */
const apiKeyColumns = {
  id: apiKeys.id,
  name: apiKeys.name,
  displayPrefix: apiKeys.displayPrefix,
  role: apiKeys.role,
  scopes: apiKeys.scopes,
  createdBy: apiKeys.createdBy,
  createdAt: apiKeys.createdAt,
  expiresAt: apiKeys.expiresAt,
  lastUsedAt: apiKeys.lastUsedAt,
  revokedAt: apiKeys.revokedAt,
};

type ApiKeyRow = Pick<typeof apiKeys.$inferSelect, keyof typeof apiKeyColumns>;

const toApiKeyOutput = (row: ApiKeyRow) => ({
  ...row,
  createdAt: row.createdAt.toISOString(),
  expiresAt: iso(row.expiresAt),
  lastUsedAt: iso(row.lastUsedAt),
  revokedAt: iso(row.revokedAt),
});

async function findKey(tx: Tx, principal: TenantPrincipal, id: string): Promise<ApiKeyRow> {
  const [row] = await tx
    .select(apiKeyColumns)
    .from(apiKeys)
    .where(and(eq(apiKeys.tenantId, principal.tenantId), eq(apiKeys.id, id)));
  if (!row) throw new AppError('NOT_FOUND');
  return row;
}

const tags = ['api-keys'];
const idInput = z.object({ id: z.guid() });

/**
 * API keys are managed by signed-in admins only: a key can never mint or
 * revoke keys, so a leaked key cannot entrench itself.
 */
export const apiKeysRouter = router({
  create: adminProcedure
    .meta({
      summary: 'Create an API key; its secret is returned once',
      tags,
      rest: { method: 'POST', path: '/api-keys', status: 201 },
    })
    .input(
      z.object({
        name: z.string().trim().min(1).max(100),
        /** The highest role the key acts with. */
        role: z.enum(KEY_ROLES).default('member'),
        /** Empty: everything the role allows. */
        scopes: z.array(z.enum(SCOPES)).max(SCOPES.length).default([]),
        expiresAt: z.iso.datetime().optional(),
      }),
    )
    .output(apiKeyOutput.extend({ secret: z.string() }))
    .mutation(async ({ ctx, input }) => {
      const { principal } = memberOnly(ctx);
      if (input.role === 'admin' && principal.role === 'member') throw new AppError('FORBIDDEN');
      const expiresAt = input.expiresAt ? new Date(input.expiresAt) : null;
      if (expiresAt && expiresAt <= new Date()) {
        throw new AppError('VALIDATION_FAILED', undefined, [{ path: 'expiresAt', message: 'must be in the future' }]);
      }
      const key = generateApiKey(ctx.services.config.NODE_ENV === 'production' ? 'live' : 'test');
      const scopes = [...new Set(input.scopes)].sort();
      const row = await withTenant(principal, async (tx) => {
        const [created] = await tx
          .insert(apiKeys)
          .values({
            tenantId: principal.tenantId,
            name: input.name,
            displayPrefix: key.displayPrefix,
            secretHash: key.secretHash,
            role: input.role,
            scopes,
            createdBy: principal.userId,
            expiresAt,
          })
          .returning(apiKeyColumns);
        if (!created) throw new AppError('INTERNAL');
        const summary = { name: input.name, role: input.role, scopes, expiresAt: iso(expiresAt) };
        await recordAudit(tx, actorOf(principal, ctx), {
          action: 'api_key.created',
          targetType: 'api_key',
          targetId: created.id,
          after: summary,
        });
        await emitEvent(tx, actorOf(principal, ctx), 'api_key.created', { apiKeyId: created.id, ...summary });
        return created;
      });
      return { ...toApiKeyOutput(row), secret: key.secret };
    }),

  list: adminProcedure
    .meta({ summary: 'API keys of the active tenant', tags, rest: { method: 'GET', path: '/api-keys' } })
    .input(listInput(['createdAt', 'name']).extend({ includeRevoked: queryBoolean.default(false) }))
    .output(pageOf(apiKeyOutput))
    .query(async ({ ctx, input }) => {
      const { where, orderBy, limit } = keyset(input, { createdAt: apiKeys.createdAt, name: apiKeys.name }, apiKeys.id);
      const rows = await withTenant(ctx.principal, (tx) =>
        tx
          .select(apiKeyColumns)
          .from(apiKeys)
          .where(
            and(
              eq(apiKeys.tenantId, ctx.principal.tenantId),
              input.includeRevoked ? undefined : isNull(apiKeys.revokedAt),
              where,
            ),
          )
          .orderBy(...orderBy)
          .limit(limit),
      );
      const result = page(rows, input, (row, field) => [row[field as 'createdAt' | 'name'], row.id]);
      return { items: result.items.map(toApiKeyOutput), nextCursor: result.nextCursor };
    }),

  get: adminProcedure
    .meta({ summary: 'One API key (never its secret)', tags, rest: { method: 'GET', path: '/api-keys/{id}' } })
    .input(idInput)
    .output(apiKeyOutput)
    .query(async ({ ctx, input }) =>
      toApiKeyOutput(await withTenant(ctx.principal, (tx) => findKey(tx, ctx.principal, input.id))),
    ),

  revoke: adminProcedure
    .meta({
      summary: 'Revoke an API key; it is refused from the next request on',
      tags,
      rest: { method: 'DELETE', path: '/api-keys/{id}' },
    })
    .input(idInput)
    .output(apiKeyOutput)
    .mutation(async ({ ctx, input }) => {
      const { principal } = memberOnly(ctx);
      const row = await withTenant(principal, async (tx) => {
        const existing = await findKey(tx, principal, input.id);
        if (existing.revokedAt) return existing;
        const [revoked] = await tx
          .update(apiKeys)
          .set({ revokedAt: new Date() })
          .where(and(eq(apiKeys.tenantId, principal.tenantId), eq(apiKeys.id, input.id)))
          .returning(apiKeyColumns);
        if (!revoked) throw new AppError('NOT_FOUND');
        await recordAudit(tx, actorOf(principal, ctx), {
          action: 'api_key.revoked',
          targetType: 'api_key',
          targetId: input.id,
          before: { revokedAt: null },
          after: { revokedAt: iso(revoked.revokedAt) },
        });
        await emitEvent(tx, actorOf(principal, ctx), 'api_key.revoked', { apiKeyId: input.id });
        return revoked;
      });
      // Other processes refuse it when its next transaction opens; this one forgets it at once.
      ctx.services.sessions.forgetApiKey(input.id);
      return toApiKeyOutput(row);
    }),
});
