// Every table of the application, for drizzle-kit and the migration hardening step.
export * from '../audit/schema.ts';
export * from '../auth/schema.ts';
export * from '../events/schema.ts';
export * from '../jobs/schema.ts';
export * from '../modules/ai/agents/schema.ts';
export * from '../modules/ai/conversations/schema.ts';
export * from '../modules/ai/costs/schema.ts';
export * from '../modules/ai/knowledge/schema.ts';
export * from '../modules/ai/meetings/schema.ts';
export * from '../modules/ai/widgets/schema.ts';
export * from '../modules/api-keys/schema.ts';
export * from '../modules/campaigns/schema.ts';
export * from '../modules/crm/schema.ts';
export * from '../modules/invitations/schema.ts';
export * from '../modules/qr-sign-in/schema.ts';
export * from '../modules/webhooks/schema.ts';
export * from './core-schema.ts';
export { tenants } from './tenant-table.ts';
