CREATE TABLE "app"."api_keys" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"display_prefix" text NOT NULL,
	"secret_hash" text NOT NULL,
	"role" text DEFAULT 'member' NOT NULL,
	"scopes" text[] DEFAULT '{}'::text[] NOT NULL,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone,
	"last_used_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "api_keys_pkey" PRIMARY KEY("tenant_id","id"),
	CONSTRAINT "api_keys_role_check" CHECK (role in ('member', 'admin')),
	CONSTRAINT "api_keys_name_check" CHECK (char_length(name) between 1 and 100)
);
--> statement-breakpoint
ALTER TABLE "app"."api_keys" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "app"."audit_log" ADD COLUMN "before" jsonb;--> statement-breakpoint
ALTER TABLE "app"."audit_log" ADD COLUMN "after" jsonb;--> statement-breakpoint
ALTER TABLE "app"."audit_log" ADD COLUMN "ip" text;--> statement-breakpoint
ALTER TABLE "app"."audit_log" ADD COLUMN "user_agent" text;--> statement-breakpoint
ALTER TABLE "app"."api_keys" ADD CONSTRAINT "api_keys_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "app"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "api_keys_secret_hash_key" ON "app"."api_keys" USING btree ("secret_hash");--> statement-breakpoint
CREATE INDEX "api_keys_tenant_created_idx" ON "app"."api_keys" USING btree ("tenant_id","created_at","id");--> statement-breakpoint
CREATE POLICY "api_keys_tenant_select" ON "app"."api_keys" AS PERMISSIVE FOR SELECT TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "api_keys_tenant_insert" ON "app"."api_keys" AS PERMISSIVE FOR INSERT TO "palisade_app" WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "api_keys_tenant_update" ON "app"."api_keys" AS PERMISSIVE FOR UPDATE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "api_keys_tenant_delete" ON "app"."api_keys" AS PERMISSIVE FOR DELETE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "api_keys_presented_select" ON "app"."api_keys" AS PERMISSIVE FOR SELECT TO "palisade_app" USING (secret_hash = nullif(current_setting('app.api_key_hash', true), ''));