import { z } from 'zod';
import { router, tenantProcedure } from '../../api/procedures.ts';

/**
 * Browsers cannot set headers on a WebSocket, and a cookie alone invites
 * cross-site hijacking, so a signed-in page asks for a short-lived token and
 * connects with `?token=`. The socket still checks membership when it opens.
 */
export const realtimeRouter = router({
  token: tenantProcedure
    .meta({
      scope: 'events:read',
      summary: 'A short-lived token for opening a realtime connection to the active tenant',
      tags: ['realtime'],
      rest: { method: 'POST', path: '/realtime/token' },
    })
    .input(z.object({}).optional())
    .output(z.object({ token: z.string(), expiresAt: z.iso.datetime() }))
    .mutation(({ ctx }) => {
      const { principal } = ctx;
      return ctx.services.realtimeTokens.issue({
        tenantId: principal.tenantId,
        userId: principal.kind === 'member' ? principal.userId : null,
        apiKeyId: principal.kind === 'apiKey' ? principal.apiKeyId : null,
      });
    }),
});
