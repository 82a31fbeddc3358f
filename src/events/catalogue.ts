import type { Role } from '../db/core-schema.ts';

/**
 * Every event type the application emits, with the lowest tenant role that may receive it over
 * realtime: the role that may read the object the event describes through the API. An event that
 * names an admin-only object (webhook endpoints and their URLs, API keys, invitations, the campaign
 * gateway) is for admins, even when the change it reports was made through a member-level route.
 *
 * Webhooks are not filtered by it: only admins configure endpoints, and an admin may see every type.
 * `catalogue.test.ts` fails when code emits a type missing here, or when this list and the table in
 * docs/webhooks.md disagree.
 */
export const EVENT_CATALOGUE = {
  // Tenant and people: `tenants.current` and `members.list` are open to members, `invitations.list` to admins.
  'tenant.created': 'member',
  'tenant.updated': 'member',
  'tenant.deleted': 'member',
  'member.created': 'member',
  'member.updated': 'member',
  'member.deleted': 'member',
  'invitation.created': 'admin',
  'invitation.updated': 'admin',

  // Integration: API keys and webhook endpoints are admin-only, and endpoint URLs are often secret links.
  'api_key.created': 'admin',
  'api_key.revoked': 'admin',
  'webhook_endpoint.created': 'admin',
  'webhook_endpoint.updated': 'admin',
  'webhook_endpoint.deleted': 'admin',
  'webhook_endpoint.disabled': 'admin',
  'webhook.test': 'admin',

  // CRM: every record is readable by members (custom field definitions too; only changing them is admin-only).
  'contact.created': 'member',
  'contact.updated': 'member',
  'contact.deleted': 'member',
  'contact.restored': 'member',
  'contact.purged': 'member',
  'contact.imported': 'member',
  'company.created': 'member',
  'company.updated': 'member',
  'company.deleted': 'member',
  'company.imported': 'member',
  'pipeline.created': 'member',
  'pipeline.updated': 'member',
  'pipeline.deleted': 'member',
  'pipeline_stage.created': 'member',
  'pipeline_stage.updated': 'member',
  'pipeline_stage.deleted': 'member',
  'lead.created': 'member',
  'lead.updated': 'member',
  'lead.stage_changed': 'member',
  'lead.deleted': 'member',
  'activity.created': 'member',
  'activity.updated': 'member',
  'activity.deleted': 'member',
  'custom_field.created': 'member',
  'custom_field.updated': 'member',
  'custom_field.deleted': 'member',

  // Campaigns: readable by members, except the gateway settings (`campaigns.gateway.get` is admin-only).
  'campaign.created': 'member',
  'campaign.updated': 'member',
  'campaign.deleted': 'member',
  'campaign.scheduled': 'member',
  'campaign.started': 'member',
  'campaign.paused': 'member',
  'campaign.resumed': 'member',
  'campaign.cancelled': 'member',
  'campaign.completed': 'member',
  'campaign_group.created': 'member',
  'campaign_group.updated': 'member',
  'campaign_group.deleted': 'member',
  'campaign_group.members_added': 'member',
  'campaign_group.members_removed': 'member',
  'campaign_template.created': 'member',
  'campaign_template.updated': 'member',
  'campaign_template.deleted': 'member',
  'campaign_message.status_changed': 'member',
  'campaign_opt_out.created': 'member',
  'campaign_opt_out.deleted': 'member',
  'campaign_gateway.created': 'admin',
  'campaign_gateway.updated': 'admin',
  'campaign_gateway.deleted': 'admin',

  // AI assistant: agents, conversations, widgets and documents are readable by members.
  'agent.created': 'member',
  'agent.updated': 'member',
  'agent.sharing_changed': 'member',
  'agent.deleted': 'member',
  'conversation.created': 'member',
  'conversation.message.created': 'member',
  'conversation.closed': 'member',
  'conversation.deleted': 'member',
  'widget.created': 'member',
  'widget.updated': 'member',
  'widget.deleted': 'member',
  'knowledge_document.created': 'member',
  'knowledge_document.deleted': 'member',

  // AI costs and meetings: the budget and its alerts are readable by members (only setting the budget is admin-only).
  'ai.budget.updated': 'member',
  'ai.budget_alert.raised': 'member',
  'ai.budget_alert.acknowledged': 'member',
  'ai.budget_alert.resolved': 'member',
  'ai.meeting.created': 'member',
  'ai.meeting.updated': 'member',
  'ai.meeting.started': 'member',
  'ai.meeting.ended': 'member',
  'ai.meeting.deleted': 'member',
} as const satisfies Record<string, Role>;

export type EventType = keyof typeof EVENT_CATALOGUE;

export function isCatalogued(type: string): type is EventType {
  return Object.hasOwn(EVENT_CATALOGUE, type);
}

/**
 * The lowest role that receives events of `type` over realtime. A type missing from the catalogue is
 * admin-only: failing closed keeps a forgotten entry from leaking, and admins may see every type anyway.
 */
export function minRoleToSee(type: string): Role {
  return isCatalogued(type) ? EVENT_CATALOGUE[type] : 'admin';
}
