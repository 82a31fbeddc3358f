DROP INDEX "app"."crm_companies_name_prefix_idx";--> statement-breakpoint
DROP INDEX "app"."crm_contacts_name_prefix_idx";--> statement-breakpoint
DROP INDEX "app"."crm_contacts_email_prefix_idx";--> statement-breakpoint
ALTER TABLE "app"."crm_companies" ADD COLUMN "name_key" text GENERATED ALWAYS AS (lower(name)) STORED NOT NULL;--> statement-breakpoint
ALTER TABLE "app"."crm_contacts" ADD COLUMN "name_key" text GENERATED ALWAYS AS (lower(name)) STORED NOT NULL;--> statement-breakpoint
ALTER TABLE "app"."crm_contacts" ADD COLUMN "email_key" text GENERATED ALWAYS AS (lower(email)) STORED;--> statement-breakpoint
CREATE INDEX "crm_companies_name_key_idx" ON "app"."crm_companies" USING btree ("tenant_id","name_key" text_pattern_ops);--> statement-breakpoint
CREATE INDEX "crm_contacts_name_key_idx" ON "app"."crm_contacts" USING btree ("tenant_id","name_key" text_pattern_ops);--> statement-breakpoint
CREATE INDEX "crm_contacts_email_key_idx" ON "app"."crm_contacts" USING btree ("tenant_id","email_key" text_pattern_ops);