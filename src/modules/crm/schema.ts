// Every table of the CRM module, gathered for src/db/schema.ts.
export * from './activities/schema.ts';
export * from './companies/schema.ts';
export * from './contacts/schema.ts';
export * from './custom-fields/schema.ts';
export * from './leads/schema.ts';
export * from './pipelines/schema.ts';
