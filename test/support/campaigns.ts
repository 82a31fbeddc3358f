import type postgres from 'postgres';
import { ApiClient, PASSWORD, uniqueEmail, uniqueSlug } from './client.ts';

export interface StartedCampaign {
  client: ApiClient;
  tenantId: string;
  campaignId: string;
}

async function expectStatus<T extends { status: number; body: unknown }>(response: Promise<T>, status: number, what: string) {
  const answered = await response;
  if (answered.status !== status) throw new Error(`${what}: ${answered.status} ${JSON.stringify(answered.body)}`);
  return answered;
}

/**
 * The arrangement of the campaign crash tests, on a server at `baseUrl`: a new user and tenant without a
 * throughput cap (the point is the crash, not the pacing), `recipients` contacts in one group, written in two
 * owner statements, and a started campaign of one template on `channel`. `prepare` runs before the campaign
 * is created, e.g. to configure the gateway a webhook campaign needs.
 */
export async function startCampaignOfContacts(
  baseUrl: string,
  owner: postgres.Sql,
  options: { label: string; recipients: number; channel: 'log' | 'webhook'; prepare?: (client: ApiClient) => Promise<void> },
): Promise<StartedCampaign> {
  const client = new ApiClient(baseUrl);
  const { label, recipients, channel } = options;
  await expectStatus(
    client.post('/api/auth/sign-up/email', { email: uniqueEmail(label), password: PASSWORD, name: label }),
    200,
    'sign-up',
  );
  const tenant = await expectStatus(client.post('/api/v1/tenants', { name: label, slug: uniqueSlug(label) }), 201, 'tenant');
  const tenantId = tenant.body.id as string;
  await expectStatus(
    client.patch('/api/v1/tenants/current', { settings: { campaignMessagesPerSecond: 100000 } }),
    200,
    'settings',
  );
  await options.prepare?.(client);
  const group = await expectStatus(client.post('/api/v1/campaigns/groups', { name: 'Everyone' }), 201, 'group');
  await owner`insert into app.crm_contacts (tenant_id, name, email)
              select ${tenantId}, 'Contact ' || i, 'contact' || i || '@' || ${label} || '.example' from generate_series(1, ${recipients}) i`;
  await owner`insert into app.campaign_group_members (tenant_id, group_id, contact_id)
              select tenant_id, ${group.body.id}, id from app.crm_contacts where tenant_id = ${tenantId}`;
  const template = await expectStatus(
    client.post('/api/v1/campaigns/templates', { name: label, channel, body: 'Hello {{firstName}}' }),
    201,
    'template',
  );
  const campaign = await expectStatus(
    client.post('/api/v1/campaigns', { name: label, templateId: template.body.id, groupIds: [group.body.id] }),
    201,
    'campaign',
  );
  const campaignId = campaign.body.id as string;
  const started = await expectStatus(client.post(`/api/v1/campaigns/${campaignId}/start`, {}), 200, 'start');
  if (started.body.counts.total !== recipients) throw new Error(`snapshot holds ${started.body.counts.total} recipients`);
  return { client, tenantId, campaignId };
}
