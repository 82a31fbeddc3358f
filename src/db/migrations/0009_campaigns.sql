CREATE TABLE "app"."campaign_targets" (
	"tenant_id" uuid NOT NULL,
	"campaign_id" uuid NOT NULL,
	"group_id" uuid NOT NULL,
	CONSTRAINT "campaign_targets_pkey" PRIMARY KEY("tenant_id","campaign_id","group_id")
);
--> statement-breakpoint
ALTER TABLE "app"."campaign_targets" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "app"."campaigns" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"template_id" uuid NOT NULL,
	"status" text DEFAULT 'draft' NOT NULL,
	"scheduled_at" timestamp with time zone,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "campaigns_pkey" PRIMARY KEY("tenant_id","id"),
	CONSTRAINT "campaigns_status_check" CHECK (status in ('draft', 'scheduled', 'running', 'paused', 'completed', 'cancelled', 'failed')),
	CONSTRAINT "campaigns_name_check" CHECK (char_length(name) between 1 and 200)
);
--> statement-breakpoint
ALTER TABLE "app"."campaigns" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "app"."campaign_groups" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "campaign_groups_pkey" PRIMARY KEY("tenant_id","id"),
	CONSTRAINT "campaign_groups_name_check" CHECK (char_length(name) between 1 and 200),
	CONSTRAINT "campaign_groups_description_check" CHECK (char_length(description) <= 2000)
);
--> statement-breakpoint
ALTER TABLE "app"."campaign_groups" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "app"."campaign_group_members" (
	"tenant_id" uuid NOT NULL,
	"group_id" uuid NOT NULL,
	"contact_id" uuid NOT NULL,
	"added_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "campaign_group_members_pkey" PRIMARY KEY("tenant_id","group_id","contact_id")
);
--> statement-breakpoint
ALTER TABLE "app"."campaign_group_members" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "app"."campaign_messages" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"campaign_id" uuid,
	"recipient_id" uuid,
	"contact_id" uuid,
	"direction" text DEFAULT 'outbound' NOT NULL,
	"channel" text NOT NULL,
	"recipient" text NOT NULL,
	"subject" text,
	"content" text NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"provider_message_id" text,
	"error" text,
	"queued_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone,
	"delivered_at" timestamp with time zone,
	"read_at" timestamp with time zone,
	"failed_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "campaign_messages_pkey" PRIMARY KEY("tenant_id","id"),
	CONSTRAINT "campaign_messages_direction_check" CHECK (direction in ('outbound', 'inbound')),
	CONSTRAINT "campaign_messages_channel_check" CHECK (channel in ('email', 'webhook', 'sms', 'whatsapp', 'log')),
	CONSTRAINT "campaign_messages_status_check" CHECK (status in ('queued', 'sent', 'delivered', 'failed', 'read'))
);
--> statement-breakpoint
ALTER TABLE "app"."campaign_messages" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "app"."campaign_opt_outs" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"contact_id" uuid NOT NULL,
	"channel" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "campaign_opt_outs_pkey" PRIMARY KEY("tenant_id","id"),
	CONSTRAINT "campaign_opt_outs_channel_check" CHECK (channel in ('email', 'webhook', 'sms', 'whatsapp', 'log'))
);
--> statement-breakpoint
ALTER TABLE "app"."campaign_opt_outs" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "app"."campaign_recipients" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"campaign_id" uuid NOT NULL,
	"contact_id" uuid NOT NULL,
	"address" text NOT NULL,
	"variables" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"sending_at" timestamp with time zone,
	"sent_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "campaign_recipients_pkey" PRIMARY KEY("tenant_id","id"),
	CONSTRAINT "campaign_recipients_status_check" CHECK (status in ('pending', 'sending', 'sent', 'failed', 'skipped'))
);
--> statement-breakpoint
ALTER TABLE "app"."campaign_recipients" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "app"."campaign_templates" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"channel" text NOT NULL,
	"subject" text,
	"body" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "campaign_templates_pkey" PRIMARY KEY("tenant_id","id"),
	CONSTRAINT "campaign_templates_channel_check" CHECK (channel in ('email', 'webhook', 'sms', 'whatsapp', 'log')),
	CONSTRAINT "campaign_templates_name_check" CHECK (char_length(name) between 1 and 200),
	CONSTRAINT "campaign_templates_subject_check" CHECK (char_length(subject) <= 500),
	CONSTRAINT "campaign_templates_body_check" CHECK (char_length(body) between 1 and 100000)
);
--> statement-breakpoint
ALTER TABLE "app"."campaign_templates" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "app"."campaign_targets" ADD CONSTRAINT "campaign_targets_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "app"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."campaign_targets" ADD CONSTRAINT "campaign_targets_campaign_fk" FOREIGN KEY ("tenant_id","campaign_id") REFERENCES "app"."campaigns"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."campaign_targets" ADD CONSTRAINT "campaign_targets_group_fk" FOREIGN KEY ("tenant_id","group_id") REFERENCES "app"."campaign_groups"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."campaigns" ADD CONSTRAINT "campaigns_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "app"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."campaigns" ADD CONSTRAINT "campaigns_template_fk" FOREIGN KEY ("tenant_id","template_id") REFERENCES "app"."campaign_templates"("tenant_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."campaign_groups" ADD CONSTRAINT "campaign_groups_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "app"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."campaign_group_members" ADD CONSTRAINT "campaign_group_members_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "app"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."campaign_group_members" ADD CONSTRAINT "campaign_group_members_group_fk" FOREIGN KEY ("tenant_id","group_id") REFERENCES "app"."campaign_groups"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."campaign_group_members" ADD CONSTRAINT "campaign_group_members_contact_fk" FOREIGN KEY ("tenant_id","contact_id") REFERENCES "app"."crm_contacts"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."campaign_messages" ADD CONSTRAINT "campaign_messages_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "app"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."campaign_messages" ADD CONSTRAINT "campaign_messages_campaign_fk" FOREIGN KEY ("tenant_id","campaign_id") REFERENCES "app"."campaigns"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."campaign_messages" ADD CONSTRAINT "campaign_messages_recipient_fk" FOREIGN KEY ("tenant_id","recipient_id") REFERENCES "app"."campaign_recipients"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."campaign_messages" ADD CONSTRAINT "campaign_messages_contact_fk" FOREIGN KEY ("tenant_id","contact_id") REFERENCES "app"."crm_contacts"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."campaign_opt_outs" ADD CONSTRAINT "campaign_opt_outs_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "app"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."campaign_opt_outs" ADD CONSTRAINT "campaign_opt_outs_contact_fk" FOREIGN KEY ("tenant_id","contact_id") REFERENCES "app"."crm_contacts"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."campaign_recipients" ADD CONSTRAINT "campaign_recipients_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "app"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."campaign_recipients" ADD CONSTRAINT "campaign_recipients_campaign_fk" FOREIGN KEY ("tenant_id","campaign_id") REFERENCES "app"."campaigns"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."campaign_recipients" ADD CONSTRAINT "campaign_recipients_contact_fk" FOREIGN KEY ("tenant_id","contact_id") REFERENCES "app"."crm_contacts"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."campaign_templates" ADD CONSTRAINT "campaign_templates_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "app"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "campaign_targets_group_idx" ON "app"."campaign_targets" USING btree ("tenant_id","group_id");--> statement-breakpoint
CREATE INDEX "campaigns_tenant_created_idx" ON "app"."campaigns" USING btree ("tenant_id","created_at","id");--> statement-breakpoint
CREATE INDEX "campaigns_tenant_name_idx" ON "app"."campaigns" USING btree ("tenant_id","name","id");--> statement-breakpoint
CREATE INDEX "campaigns_template_idx" ON "app"."campaigns" USING btree ("tenant_id","template_id");--> statement-breakpoint
CREATE INDEX "campaign_groups_tenant_created_idx" ON "app"."campaign_groups" USING btree ("tenant_id","created_at","id");--> statement-breakpoint
CREATE INDEX "campaign_groups_tenant_name_idx" ON "app"."campaign_groups" USING btree ("tenant_id","name","id");--> statement-breakpoint
CREATE INDEX "campaign_group_members_contact_idx" ON "app"."campaign_group_members" USING btree ("tenant_id","contact_id");--> statement-breakpoint
CREATE UNIQUE INDEX "campaign_messages_recipient_key" ON "app"."campaign_messages" USING btree ("tenant_id","recipient_id");--> statement-breakpoint
CREATE INDEX "campaign_messages_tenant_queued_idx" ON "app"."campaign_messages" USING btree ("tenant_id","queued_at","id");--> statement-breakpoint
CREATE INDEX "campaign_messages_campaign_idx" ON "app"."campaign_messages" USING btree ("tenant_id","campaign_id","status");--> statement-breakpoint
CREATE INDEX "campaign_messages_contact_idx" ON "app"."campaign_messages" USING btree ("tenant_id","contact_id");--> statement-breakpoint
CREATE UNIQUE INDEX "campaign_opt_outs_contact_key" ON "app"."campaign_opt_outs" USING btree ("tenant_id","contact_id","channel");--> statement-breakpoint
CREATE INDEX "campaign_opt_outs_tenant_created_idx" ON "app"."campaign_opt_outs" USING btree ("tenant_id","created_at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "campaign_recipients_contact_key" ON "app"."campaign_recipients" USING btree ("tenant_id","campaign_id","contact_id");--> statement-breakpoint
CREATE INDEX "campaign_recipients_status_idx" ON "app"."campaign_recipients" USING btree ("tenant_id","campaign_id","status");--> statement-breakpoint
CREATE INDEX "campaign_recipients_contact_idx" ON "app"."campaign_recipients" USING btree ("tenant_id","contact_id");--> statement-breakpoint
CREATE INDEX "campaign_templates_tenant_created_idx" ON "app"."campaign_templates" USING btree ("tenant_id","created_at","id");--> statement-breakpoint
CREATE INDEX "campaign_templates_tenant_name_idx" ON "app"."campaign_templates" USING btree ("tenant_id","name","id");--> statement-breakpoint
CREATE POLICY "campaign_targets_tenant_select" ON "app"."campaign_targets" AS PERMISSIVE FOR SELECT TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "campaign_targets_tenant_insert" ON "app"."campaign_targets" AS PERMISSIVE FOR INSERT TO "palisade_app" WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "campaign_targets_tenant_update" ON "app"."campaign_targets" AS PERMISSIVE FOR UPDATE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "campaign_targets_tenant_delete" ON "app"."campaign_targets" AS PERMISSIVE FOR DELETE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "campaigns_tenant_select" ON "app"."campaigns" AS PERMISSIVE FOR SELECT TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "campaigns_tenant_insert" ON "app"."campaigns" AS PERMISSIVE FOR INSERT TO "palisade_app" WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "campaigns_tenant_update" ON "app"."campaigns" AS PERMISSIVE FOR UPDATE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "campaigns_tenant_delete" ON "app"."campaigns" AS PERMISSIVE FOR DELETE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "campaign_groups_tenant_select" ON "app"."campaign_groups" AS PERMISSIVE FOR SELECT TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "campaign_groups_tenant_insert" ON "app"."campaign_groups" AS PERMISSIVE FOR INSERT TO "palisade_app" WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "campaign_groups_tenant_update" ON "app"."campaign_groups" AS PERMISSIVE FOR UPDATE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "campaign_groups_tenant_delete" ON "app"."campaign_groups" AS PERMISSIVE FOR DELETE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "campaign_group_members_tenant_select" ON "app"."campaign_group_members" AS PERMISSIVE FOR SELECT TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "campaign_group_members_tenant_insert" ON "app"."campaign_group_members" AS PERMISSIVE FOR INSERT TO "palisade_app" WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "campaign_group_members_tenant_update" ON "app"."campaign_group_members" AS PERMISSIVE FOR UPDATE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "campaign_group_members_tenant_delete" ON "app"."campaign_group_members" AS PERMISSIVE FOR DELETE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "campaign_messages_tenant_select" ON "app"."campaign_messages" AS PERMISSIVE FOR SELECT TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "campaign_messages_tenant_insert" ON "app"."campaign_messages" AS PERMISSIVE FOR INSERT TO "palisade_app" WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "campaign_messages_tenant_update" ON "app"."campaign_messages" AS PERMISSIVE FOR UPDATE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "campaign_messages_tenant_delete" ON "app"."campaign_messages" AS PERMISSIVE FOR DELETE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "campaign_opt_outs_tenant_select" ON "app"."campaign_opt_outs" AS PERMISSIVE FOR SELECT TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "campaign_opt_outs_tenant_insert" ON "app"."campaign_opt_outs" AS PERMISSIVE FOR INSERT TO "palisade_app" WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "campaign_opt_outs_tenant_update" ON "app"."campaign_opt_outs" AS PERMISSIVE FOR UPDATE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "campaign_opt_outs_tenant_delete" ON "app"."campaign_opt_outs" AS PERMISSIVE FOR DELETE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "campaign_recipients_tenant_select" ON "app"."campaign_recipients" AS PERMISSIVE FOR SELECT TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "campaign_recipients_tenant_insert" ON "app"."campaign_recipients" AS PERMISSIVE FOR INSERT TO "palisade_app" WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "campaign_recipients_tenant_update" ON "app"."campaign_recipients" AS PERMISSIVE FOR UPDATE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "campaign_recipients_tenant_delete" ON "app"."campaign_recipients" AS PERMISSIVE FOR DELETE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "campaign_templates_tenant_select" ON "app"."campaign_templates" AS PERMISSIVE FOR SELECT TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "campaign_templates_tenant_insert" ON "app"."campaign_templates" AS PERMISSIVE FOR INSERT TO "palisade_app" WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "campaign_templates_tenant_update" ON "app"."campaign_templates" AS PERMISSIVE FOR UPDATE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "campaign_templates_tenant_delete" ON "app"."campaign_templates" AS PERMISSIVE FOR DELETE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));