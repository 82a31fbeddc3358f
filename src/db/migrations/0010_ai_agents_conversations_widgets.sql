CREATE TABLE "app"."ai_agent_usage" (
	"tenant_id" uuid NOT NULL,
	"agent_id" uuid NOT NULL,
	"conversations" integer DEFAULT 0 NOT NULL,
	"messages" integer DEFAULT 0 NOT NULL,
	"tokens" bigint DEFAULT 0 NOT NULL,
	"last_used_at" timestamp with time zone,
	CONSTRAINT "ai_agent_usage_pkey" PRIMARY KEY("tenant_id","agent_id")
);
--> statement-breakpoint
ALTER TABLE "app"."ai_agent_usage" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "app"."ai_agents" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"avatar_url" text,
	"system_prompt" text NOT NULL,
	"model" text NOT NULL,
	"temperature" double precision DEFAULT 0.7 NOT NULL,
	"max_tokens" integer DEFAULT 1024 NOT NULL,
	"top_p" double precision DEFAULT 1 NOT NULL,
	"presence_penalty" double precision DEFAULT 0 NOT NULL,
	"frequency_penalty" double precision DEFAULT 0 NOT NULL,
	"knowledge_categories" text[] DEFAULT '{}'::text[] NOT NULL,
	"active" boolean DEFAULT true NOT NULL,
	"sharing" text DEFAULT 'private' NOT NULL,
	"shared_with" uuid[] DEFAULT '{}'::uuid[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ai_agents_pkey" PRIMARY KEY("tenant_id","id"),
	CONSTRAINT "ai_agents_sharing_check" CHECK (sharing in ('private', 'global', 'selective')),
	CONSTRAINT "ai_agents_selective_check" CHECK (sharing = 'selective' or cardinality(shared_with) = 0),
	CONSTRAINT "ai_agents_name_check" CHECK (char_length(name) between 1 and 200),
	CONSTRAINT "ai_agents_prompt_check" CHECK (char_length(system_prompt) between 1 and 20000),
	CONSTRAINT "ai_agents_temperature_check" CHECK (temperature between 0 and 2),
	CONSTRAINT "ai_agents_top_p_check" CHECK (top_p > 0 and top_p <= 1),
	CONSTRAINT "ai_agents_max_tokens_check" CHECK (max_tokens between 1 and 32000),
	CONSTRAINT "ai_agents_penalties_check" CHECK (presence_penalty between -2 and 2 and frequency_penalty between -2 and 2)
);
--> statement-breakpoint
ALTER TABLE "app"."ai_agents" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "app"."ai_messages" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"conversation_id" uuid NOT NULL,
	"role" text NOT NULL,
	"content" text NOT NULL,
	"attachments" jsonb,
	"model" text,
	"tokens_in" integer DEFAULT 0 NOT NULL,
	"tokens_out" integer DEFAULT 0 NOT NULL,
	"cost" numeric(14, 6) DEFAULT 0 NOT NULL,
	"latency_ms" integer,
	"citations" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ai_messages_pkey" PRIMARY KEY("tenant_id","id"),
	CONSTRAINT "ai_messages_role_check" CHECK (role in ('user', 'assistant', 'system')),
	CONSTRAINT "ai_messages_content_check" CHECK (char_length(content) <= 100000)
);
--> statement-breakpoint
ALTER TABLE "app"."ai_messages" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "app"."ai_conversations" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"mode" text DEFAULT 'text' NOT NULL,
	"agent_id" uuid,
	"widget_id" uuid,
	"visitor_id" text,
	"visitor_token_hash" text,
	"contact_id" uuid,
	"title" text,
	"status" text DEFAULT 'open' NOT NULL,
	"message_count" integer DEFAULT 0 NOT NULL,
	"tokens_in" bigint DEFAULT 0 NOT NULL,
	"tokens_out" bigint DEFAULT 0 NOT NULL,
	"cost" numeric(14, 6) DEFAULT 0 NOT NULL,
	"last_message_at" timestamp with time zone,
	"closed_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ai_conversations_pkey" PRIMARY KEY("tenant_id","id"),
	CONSTRAINT "ai_conversations_mode_check" CHECK (mode in ('text', 'meeting')),
	CONSTRAINT "ai_conversations_status_check" CHECK (status in ('open', 'closed')),
	CONSTRAINT "ai_conversations_visitor_check" CHECK (char_length(visitor_id) <= 100),
	CONSTRAINT "ai_conversations_title_check" CHECK (char_length(title) <= 300)
);
--> statement-breakpoint
ALTER TABLE "app"."ai_conversations" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "app"."ai_widgets" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"agent_id" uuid NOT NULL,
	"greeting" text,
	"theme" jsonb NOT NULL,
	"allowed_domains" text[] DEFAULT '{}'::text[] NOT NULL,
	"active" boolean DEFAULT true NOT NULL,
	"publishable_key" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ai_widgets_pkey" PRIMARY KEY("tenant_id","id"),
	CONSTRAINT "ai_widgets_name_check" CHECK (char_length(name) between 1 and 200),
	CONSTRAINT "ai_widgets_greeting_check" CHECK (char_length(greeting) <= 1000),
	CONSTRAINT "ai_widgets_domains_check" CHECK (cardinality(allowed_domains) <= 50)
);
--> statement-breakpoint
ALTER TABLE "app"."ai_widgets" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "app"."ai_agent_usage" ADD CONSTRAINT "ai_agent_usage_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "app"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."ai_agents" ADD CONSTRAINT "ai_agents_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "app"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."ai_messages" ADD CONSTRAINT "ai_messages_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "app"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."ai_messages" ADD CONSTRAINT "ai_messages_conversation_fk" FOREIGN KEY ("tenant_id","conversation_id") REFERENCES "app"."ai_conversations"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."ai_conversations" ADD CONSTRAINT "ai_conversations_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "app"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."ai_conversations" ADD CONSTRAINT "ai_conversations_widget_fk" FOREIGN KEY ("tenant_id","widget_id") REFERENCES "app"."ai_widgets"("tenant_id","id") ON DELETE SET NULL ("widget_id") ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."ai_conversations" ADD CONSTRAINT "ai_conversations_contact_fk" FOREIGN KEY ("tenant_id","contact_id") REFERENCES "app"."crm_contacts"("tenant_id","id") ON DELETE SET NULL ("contact_id") ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."ai_widgets" ADD CONSTRAINT "ai_widgets_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "app"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "ai_agents_tenant_created_idx" ON "app"."ai_agents" USING btree ("tenant_id","created_at","id");--> statement-breakpoint
CREATE INDEX "ai_agents_tenant_name_idx" ON "app"."ai_agents" USING btree ("tenant_id","name","id");--> statement-breakpoint
CREATE INDEX "ai_agents_id_idx" ON "app"."ai_agents" USING btree ("id");--> statement-breakpoint
CREATE INDEX "ai_agents_global_idx" ON "app"."ai_agents" USING btree ("sharing") WHERE sharing <> 'private';--> statement-breakpoint
CREATE INDEX "ai_agents_shared_with_idx" ON "app"."ai_agents" USING gin ("shared_with");--> statement-breakpoint
CREATE INDEX "ai_messages_conversation_idx" ON "app"."ai_messages" USING btree ("tenant_id","conversation_id","created_at","id");--> statement-breakpoint
CREATE INDEX "ai_conversations_tenant_created_idx" ON "app"."ai_conversations" USING btree ("tenant_id","created_at","id");--> statement-breakpoint
CREATE INDEX "ai_conversations_widget_idx" ON "app"."ai_conversations" USING btree ("tenant_id","widget_id");--> statement-breakpoint
CREATE INDEX "ai_conversations_agent_idx" ON "app"."ai_conversations" USING btree ("tenant_id","agent_id");--> statement-breakpoint
CREATE UNIQUE INDEX "ai_widgets_publishable_key_key" ON "app"."ai_widgets" USING btree ("publishable_key");--> statement-breakpoint
CREATE INDEX "ai_widgets_tenant_created_idx" ON "app"."ai_widgets" USING btree ("tenant_id","created_at","id");--> statement-breakpoint
CREATE POLICY "ai_agent_usage_tenant_select" ON "app"."ai_agent_usage" AS PERMISSIVE FOR SELECT TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_agent_usage_tenant_insert" ON "app"."ai_agent_usage" AS PERMISSIVE FOR INSERT TO "palisade_app" WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_agent_usage_tenant_update" ON "app"."ai_agent_usage" AS PERMISSIVE FOR UPDATE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_agent_usage_tenant_delete" ON "app"."ai_agent_usage" AS PERMISSIVE FOR DELETE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_agents_tenant_select" ON "app"."ai_agents" AS PERMISSIVE FOR SELECT TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_agents_tenant_insert" ON "app"."ai_agents" AS PERMISSIVE FOR INSERT TO "palisade_app" WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_agents_tenant_update" ON "app"."ai_agents" AS PERMISSIVE FOR UPDATE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_agents_tenant_delete" ON "app"."ai_agents" AS PERMISSIVE FOR DELETE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_agents_shared_select" ON "app"."ai_agents" AS PERMISSIVE FOR SELECT TO "palisade_app" USING (sharing = 'global' or (sharing = 'selective' and (select nullif(current_setting('app.tenant_id', true), '')::uuid) = any(shared_with)));--> statement-breakpoint
CREATE POLICY "ai_messages_tenant_select" ON "app"."ai_messages" AS PERMISSIVE FOR SELECT TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_messages_tenant_insert" ON "app"."ai_messages" AS PERMISSIVE FOR INSERT TO "palisade_app" WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_messages_tenant_update" ON "app"."ai_messages" AS PERMISSIVE FOR UPDATE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_messages_tenant_delete" ON "app"."ai_messages" AS PERMISSIVE FOR DELETE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_conversations_tenant_select" ON "app"."ai_conversations" AS PERMISSIVE FOR SELECT TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_conversations_tenant_insert" ON "app"."ai_conversations" AS PERMISSIVE FOR INSERT TO "palisade_app" WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_conversations_tenant_update" ON "app"."ai_conversations" AS PERMISSIVE FOR UPDATE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_conversations_tenant_delete" ON "app"."ai_conversations" AS PERMISSIVE FOR DELETE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_widgets_tenant_select" ON "app"."ai_widgets" AS PERMISSIVE FOR SELECT TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_widgets_tenant_insert" ON "app"."ai_widgets" AS PERMISSIVE FOR INSERT TO "palisade_app" WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_widgets_tenant_update" ON "app"."ai_widgets" AS PERMISSIVE FOR UPDATE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_widgets_tenant_delete" ON "app"."ai_widgets" AS PERMISSIVE FOR DELETE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_widgets_presented_select" ON "app"."ai_widgets" AS PERMISSIVE FOR SELECT TO "palisade_app" USING (publishable_key = nullif(current_setting('app.widget_key', true), ''));