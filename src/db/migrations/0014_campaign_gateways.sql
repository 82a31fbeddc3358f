-- The tenant's SMS/WhatsApp/webhook gateway (src/modules/campaigns/schema.ts `gateways`). Written by hand:
-- the table was already in a custom migration's snapshot, so drizzle-kit saw no change to generate.
CREATE TABLE "app"."campaign_gateways" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"url" text NOT NULL,
	"secret" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "campaign_gateways_pkey" PRIMARY KEY("tenant_id","id"),
	CONSTRAINT "campaign_gateways_url_check" CHECK (char_length(url) between 1 and 2000)
);
--> statement-breakpoint
ALTER TABLE "app"."campaign_gateways" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "app"."campaign_gateways" ADD CONSTRAINT "campaign_gateways_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "app"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "campaign_gateways_tenant_key" ON "app"."campaign_gateways" USING btree ("tenant_id");--> statement-breakpoint
CREATE POLICY "campaign_gateways_tenant_select" ON "app"."campaign_gateways" AS PERMISSIVE FOR SELECT TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "campaign_gateways_tenant_insert" ON "app"."campaign_gateways" AS PERMISSIVE FOR INSERT TO "palisade_app" WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "campaign_gateways_tenant_update" ON "app"."campaign_gateways" AS PERMISSIVE FOR UPDATE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "campaign_gateways_tenant_delete" ON "app"."campaign_gateways" AS PERMISSIVE FOR DELETE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));
