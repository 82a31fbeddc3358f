import type { TenantFixture } from '../../support/client.ts';
import { contactIn, created, jsonBody, markerWord, type RouteKey, type TenantRouteCase } from '../tenant-procedures.ts';

/** A meeting in A with a member and a contact as participants, moved to `status` through the API. */
export async function meetingIn(
  a: TenantFixture,
  status: 'scheduled' | 'live' | 'ended' = 'scheduled',
  participantMinutes = 30,
): Promise<{ id: string; title: string; contactId: string; conversationId: string; costId: string | null }> {
  const contact = await contactIn(a);
  const title = markerWord('meeting');
  const body = await created(
    await a.member.post('/api/v1/ai/meetings', {
      title,
      participants: [
        { userId: a.member.userId, name: 'A member' },
        { contactId: contact.id, name: contact.name, email: contact.email },
      ],
    }),
    'meeting',
  );
  let costId: string | null = null;
  for (const action of status === 'scheduled' ? [] : status === 'live' ? ['start'] : ['start', 'end']) {
    const res = await a.member.post(`/api/v1/ai/meetings/${body.id}/${action}`, action === 'end' ? { participantMinutes } : {});
    if (res.status !== 200) throw new Error(`arrange: meeting ${action} failed ${res.status} ${JSON.stringify(res.body)}`);
    if (action === 'end') costId = res.body.cost.id as string;
  }
  return { id: body.id, title, contactId: contact.id, conversationId: body.conversationId, costId };
}

/** Cross-tenant cases for the meeting routes (see tenant-procedures.ts for what each field means). */
export const MEETINGS_ROUTES: Record<RouteKey, TenantRouteCase> = {
  'GET /api/v1/ai/meetings': {
    shape: 'list',
    arrange: async ({ a }) => {
      const meeting = await meetingIn(a);
      return { input: { limit: 100 }, markers: [meeting.id, meeting.title, meeting.contactId] };
    },
  },
  'GET /api/v1/ai/meetings/{id}': {
    shape: 'object',
    arrange: async ({ a }) => {
      const meeting = await meetingIn(a);
      return { params: { id: meeting.id }, markers: [meeting.id, meeting.title, meeting.conversationId] };
    },
  },
  'POST /api/v1/ai/meetings': {
    shape: 'create',
    arrange: async ({ a }) => {
      // A's contact as a participant: from another tenant it is refused (422), never linked.
      const contact = await contactIn(a);
      return {
        input: jsonBody({ title: markerWord('meeting'), participants: [{ contactId: contact.id, name: 'x' }] }),
        markers: [contact.email],
      };
    },
  },
  'PATCH /api/v1/ai/meetings/{id}': {
    shape: 'object',
    arrange: async ({ a }) => {
      const meeting = await meetingIn(a);
      return { params: { id: meeting.id }, input: { title: 'Renamed' }, markers: [meeting.title] };
    },
  },
  'DELETE /api/v1/ai/meetings/{id}': {
    shape: 'object',
    arrange: async ({ a }) => {
      const meeting = await meetingIn(a);
      return { params: { id: meeting.id }, markers: [meeting.title] };
    },
  },
  'POST /api/v1/ai/meetings/{id}/start': {
    shape: 'object',
    arrange: async ({ a }) => {
      const meeting = await meetingIn(a);
      return { params: { id: meeting.id }, markers: [meeting.title] };
    },
  },
  'POST /api/v1/ai/meetings/{id}/end': {
    shape: 'object',
    arrange: async ({ a }) => {
      const meeting = await meetingIn(a, 'live');
      return { params: { id: meeting.id }, input: { participantMinutes: 12 }, markers: [meeting.title] };
    },
  },
};
