CREATE TABLE "app"."crm_activities" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"type" text NOT NULL,
	"subject" text NOT NULL,
	"body" text DEFAULT '' NOT NULL,
	"due_at" timestamp with time zone,
	"done" boolean DEFAULT false NOT NULL,
	"author_user_id" uuid,
	"author_api_key_id" uuid,
	"contact_id" uuid,
	"company_id" uuid,
	"lead_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "crm_activities_pkey" PRIMARY KEY("tenant_id","id"),
	CONSTRAINT "crm_activities_type_check" CHECK (type in ('note', 'call', 'email', 'meeting', 'task')),
	CONSTRAINT "crm_activities_subject_check" CHECK (char_length(subject) between 1 and 300),
	CONSTRAINT "crm_activities_body_check" CHECK (char_length(body) <= 50000),
	CONSTRAINT "crm_activities_link_check" CHECK (num_nonnulls(contact_id, company_id, lead_id) > 0)
);
--> statement-breakpoint
ALTER TABLE "app"."crm_activities" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "app"."crm_companies" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"domain" text,
	"industry" text,
	"size" text,
	"address" jsonb,
	"tags" text[] DEFAULT '{}'::text[] NOT NULL,
	"custom_fields" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "crm_companies_pkey" PRIMARY KEY("tenant_id","id"),
	CONSTRAINT "crm_companies_name_check" CHECK (char_length(name) between 1 and 200),
	CONSTRAINT "crm_companies_domain_check" CHECK (domain = lower(domain) and domain ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$' and char_length(domain) <= 253),
	CONSTRAINT "crm_companies_industry_check" CHECK (char_length(industry) <= 100),
	CONSTRAINT "crm_companies_size_check" CHECK (size in ('1-10', '11-50', '51-200', '201-500', '501-1000', '1001-5000', '5001-10000', '10001+')),
	CONSTRAINT "crm_companies_custom_fields_check" CHECK (jsonb_typeof(custom_fields) = 'object')
);
--> statement-breakpoint
ALTER TABLE "app"."crm_companies" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "app"."crm_contacts" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"email" text,
	"other_emails" text[] DEFAULT '{}'::text[] NOT NULL,
	"phones" text[] DEFAULT '{}'::text[] NOT NULL,
	"company_id" uuid,
	"title" text,
	"tags" text[] DEFAULT '{}'::text[] NOT NULL,
	"custom_fields" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"owner_user_id" uuid,
	"source" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone,
	CONSTRAINT "crm_contacts_pkey" PRIMARY KEY("tenant_id","id"),
	CONSTRAINT "crm_contacts_name_check" CHECK (char_length(name) between 1 and 200),
	CONSTRAINT "crm_contacts_email_check" CHECK (char_length(email) <= 320 and email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
	CONSTRAINT "crm_contacts_lists_check" CHECK (cardinality(other_emails) <= 20 and cardinality(phones) <= 20 and cardinality(tags) <= 50),
	CONSTRAINT "crm_contacts_title_check" CHECK (char_length(title) <= 200),
	CONSTRAINT "crm_contacts_source_check" CHECK (char_length(source) <= 100),
	CONSTRAINT "crm_contacts_custom_fields_check" CHECK (jsonb_typeof(custom_fields) = 'object')
);
--> statement-breakpoint
ALTER TABLE "app"."crm_contacts" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "app"."crm_custom_field_definitions" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"entity" text NOT NULL,
	"key" text NOT NULL,
	"label" text NOT NULL,
	"type" text NOT NULL,
	"options" text[] DEFAULT '{}'::text[] NOT NULL,
	"required" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "crm_custom_field_definitions_pkey" PRIMARY KEY("tenant_id","id"),
	CONSTRAINT "crm_custom_field_definitions_entity_check" CHECK (entity in ('contacts', 'companies')),
	CONSTRAINT "crm_custom_field_definitions_type_check" CHECK (type in ('text', 'number', 'date', 'select', 'boolean')),
	CONSTRAINT "crm_custom_field_definitions_key_check" CHECK (key ~ '^[a-z][a-z0-9_]{0,39}$'),
	CONSTRAINT "crm_custom_field_definitions_label_check" CHECK (char_length(label) between 1 and 100),
	CONSTRAINT "crm_custom_field_definitions_options_check" CHECK ((type = 'select') = (cardinality(options) > 0))
);
--> statement-breakpoint
ALTER TABLE "app"."crm_custom_field_definitions" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "app"."crm_lead_stage_history" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"lead_id" uuid NOT NULL,
	"pipeline_id" uuid NOT NULL,
	"from_stage_id" uuid,
	"from_stage_name" text,
	"to_stage_id" uuid NOT NULL,
	"to_stage_name" text NOT NULL,
	"actor_user_id" uuid,
	"actor_api_key_id" uuid,
	"moved_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "crm_lead_stage_history_pkey" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
ALTER TABLE "app"."crm_lead_stage_history" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "app"."crm_leads" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"title" text NOT NULL,
	"contact_id" uuid,
	"company_id" uuid,
	"pipeline_id" uuid NOT NULL,
	"stage_id" uuid NOT NULL,
	"value" numeric(14, 2),
	"currency" text,
	"status" text DEFAULT 'open' NOT NULL,
	"expected_close_date" date,
	"owner_user_id" uuid,
	"closed_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "crm_leads_pkey" PRIMARY KEY("tenant_id","id"),
	CONSTRAINT "crm_leads_title_check" CHECK (char_length(title) between 1 and 200),
	CONSTRAINT "crm_leads_status_check" CHECK (status in ('open', 'won', 'lost')),
	CONSTRAINT "crm_leads_currency_check" CHECK (currency ~ '^[A-Z]{3}$'),
	CONSTRAINT "crm_leads_value_check" CHECK (value is null or (value >= 0 and currency is not null))
);
--> statement-breakpoint
ALTER TABLE "app"."crm_leads" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "app"."crm_pipelines" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "crm_pipelines_pkey" PRIMARY KEY("tenant_id","id"),
	CONSTRAINT "crm_pipelines_name_check" CHECK (char_length(name) between 1 and 100)
);
--> statement-breakpoint
ALTER TABLE "app"."crm_pipelines" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "app"."crm_pipeline_stages" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"pipeline_id" uuid NOT NULL,
	"name" text NOT NULL,
	"position" integer NOT NULL,
	"win_probability" integer DEFAULT 0 NOT NULL,
	"is_won" boolean DEFAULT false NOT NULL,
	"is_lost" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "crm_pipeline_stages_pkey" PRIMARY KEY("tenant_id","id"),
	CONSTRAINT "crm_pipeline_stages_pipeline_stage_key" UNIQUE("tenant_id","pipeline_id","id"),
	CONSTRAINT "crm_pipeline_stages_name_check" CHECK (char_length(name) between 1 and 100),
	CONSTRAINT "crm_pipeline_stages_position_check" CHECK (position >= 0),
	CONSTRAINT "crm_pipeline_stages_probability_check" CHECK (win_probability between 0 and 100),
	CONSTRAINT "crm_pipeline_stages_outcome_check" CHECK (not (is_won and is_lost))
);
--> statement-breakpoint
ALTER TABLE "app"."crm_pipeline_stages" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "app"."crm_activities" ADD CONSTRAINT "crm_activities_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "app"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."crm_activities" ADD CONSTRAINT "crm_activities_author_user_id_users_id_fk" FOREIGN KEY ("author_user_id") REFERENCES "auth"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."crm_activities" ADD CONSTRAINT "crm_activities_contact_fk" FOREIGN KEY ("tenant_id","contact_id") REFERENCES "app"."crm_contacts"("tenant_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."crm_activities" ADD CONSTRAINT "crm_activities_company_fk" FOREIGN KEY ("tenant_id","company_id") REFERENCES "app"."crm_companies"("tenant_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."crm_activities" ADD CONSTRAINT "crm_activities_lead_fk" FOREIGN KEY ("tenant_id","lead_id") REFERENCES "app"."crm_leads"("tenant_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."crm_companies" ADD CONSTRAINT "crm_companies_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "app"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."crm_contacts" ADD CONSTRAINT "crm_contacts_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "app"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."crm_contacts" ADD CONSTRAINT "crm_contacts_owner_user_id_users_id_fk" FOREIGN KEY ("owner_user_id") REFERENCES "auth"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."crm_contacts" ADD CONSTRAINT "crm_contacts_company_fk" FOREIGN KEY ("tenant_id","company_id") REFERENCES "app"."crm_companies"("tenant_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."crm_custom_field_definitions" ADD CONSTRAINT "crm_custom_field_definitions_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "app"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."crm_lead_stage_history" ADD CONSTRAINT "crm_lead_stage_history_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "app"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."crm_lead_stage_history" ADD CONSTRAINT "crm_lead_stage_history_lead_fk" FOREIGN KEY ("tenant_id","lead_id") REFERENCES "app"."crm_leads"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."crm_leads" ADD CONSTRAINT "crm_leads_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "app"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."crm_leads" ADD CONSTRAINT "crm_leads_owner_user_id_users_id_fk" FOREIGN KEY ("owner_user_id") REFERENCES "auth"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."crm_leads" ADD CONSTRAINT "crm_leads_contact_fk" FOREIGN KEY ("tenant_id","contact_id") REFERENCES "app"."crm_contacts"("tenant_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."crm_leads" ADD CONSTRAINT "crm_leads_company_fk" FOREIGN KEY ("tenant_id","company_id") REFERENCES "app"."crm_companies"("tenant_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."crm_leads" ADD CONSTRAINT "crm_leads_pipeline_fk" FOREIGN KEY ("tenant_id","pipeline_id") REFERENCES "app"."crm_pipelines"("tenant_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."crm_leads" ADD CONSTRAINT "crm_leads_stage_fk" FOREIGN KEY ("tenant_id","pipeline_id","stage_id") REFERENCES "app"."crm_pipeline_stages"("tenant_id","pipeline_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."crm_pipelines" ADD CONSTRAINT "crm_pipelines_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "app"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."crm_pipeline_stages" ADD CONSTRAINT "crm_pipeline_stages_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "app"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."crm_pipeline_stages" ADD CONSTRAINT "crm_pipeline_stages_pipeline_fk" FOREIGN KEY ("tenant_id","pipeline_id") REFERENCES "app"."crm_pipelines"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "crm_activities_tenant_created_idx" ON "app"."crm_activities" USING btree ("tenant_id","created_at","id");--> statement-breakpoint
CREATE INDEX "crm_activities_contact_idx" ON "app"."crm_activities" USING btree ("tenant_id","contact_id","created_at");--> statement-breakpoint
CREATE INDEX "crm_activities_company_idx" ON "app"."crm_activities" USING btree ("tenant_id","company_id","created_at");--> statement-breakpoint
CREATE INDEX "crm_activities_lead_idx" ON "app"."crm_activities" USING btree ("tenant_id","lead_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "crm_companies_domain_key" ON "app"."crm_companies" USING btree ("tenant_id","domain");--> statement-breakpoint
CREATE INDEX "crm_companies_tenant_created_idx" ON "app"."crm_companies" USING btree ("tenant_id","created_at","id");--> statement-breakpoint
CREATE INDEX "crm_companies_tenant_updated_idx" ON "app"."crm_companies" USING btree ("tenant_id","updated_at","id");--> statement-breakpoint
CREATE INDEX "crm_companies_tenant_name_idx" ON "app"."crm_companies" USING btree ("tenant_id","name","id");--> statement-breakpoint
CREATE INDEX "crm_companies_name_prefix_idx" ON "app"."crm_companies" USING btree ("tenant_id",lower("name") text_pattern_ops);--> statement-breakpoint
CREATE INDEX "crm_companies_domain_prefix_idx" ON "app"."crm_companies" USING btree ("tenant_id","domain" text_pattern_ops);--> statement-breakpoint
CREATE INDEX "crm_companies_search_idx" ON "app"."crm_companies" USING gin (to_tsvector('simple', "name" || ' ' || coalesce("domain", '') || ' ' || translate(coalesce("domain", ''), '.-', '  ') || ' ' || coalesce("industry", '')));--> statement-breakpoint
CREATE INDEX "crm_companies_tags_idx" ON "app"."crm_companies" USING gin ("tags");--> statement-breakpoint
CREATE UNIQUE INDEX "crm_contacts_email_key" ON "app"."crm_contacts" USING btree ("tenant_id",lower("email")) WHERE deleted_at is null;--> statement-breakpoint
CREATE INDEX "crm_contacts_tenant_created_idx" ON "app"."crm_contacts" USING btree ("tenant_id","created_at","id");--> statement-breakpoint
CREATE INDEX "crm_contacts_tenant_updated_idx" ON "app"."crm_contacts" USING btree ("tenant_id","updated_at","id");--> statement-breakpoint
CREATE INDEX "crm_contacts_tenant_name_idx" ON "app"."crm_contacts" USING btree ("tenant_id","name","id");--> statement-breakpoint
CREATE INDEX "crm_contacts_name_prefix_idx" ON "app"."crm_contacts" USING btree ("tenant_id",lower("name") text_pattern_ops);--> statement-breakpoint
CREATE INDEX "crm_contacts_email_prefix_idx" ON "app"."crm_contacts" USING btree ("tenant_id",lower("email") text_pattern_ops);--> statement-breakpoint
CREATE INDEX "crm_contacts_company_idx" ON "app"."crm_contacts" USING btree ("tenant_id","company_id");--> statement-breakpoint
CREATE INDEX "crm_contacts_owner_idx" ON "app"."crm_contacts" USING btree ("tenant_id","owner_user_id");--> statement-breakpoint
CREATE INDEX "crm_contacts_search_idx" ON "app"."crm_contacts" USING gin (to_tsvector('simple', "name" || ' ' || coalesce("email", '') || ' ' || translate(coalesce("email", ''), '@.+_-', '     ') || ' ' || coalesce("title", '')));--> statement-breakpoint
CREATE INDEX "crm_contacts_tags_idx" ON "app"."crm_contacts" USING gin ("tags");--> statement-breakpoint
CREATE UNIQUE INDEX "crm_custom_field_definitions_key" ON "app"."crm_custom_field_definitions" USING btree ("tenant_id","entity","key");--> statement-breakpoint
CREATE INDEX "crm_lead_stage_history_lead_idx" ON "app"."crm_lead_stage_history" USING btree ("tenant_id","lead_id","moved_at","id");--> statement-breakpoint
CREATE INDEX "crm_leads_tenant_created_idx" ON "app"."crm_leads" USING btree ("tenant_id","created_at","id");--> statement-breakpoint
CREATE INDEX "crm_leads_tenant_updated_idx" ON "app"."crm_leads" USING btree ("tenant_id","updated_at","id");--> statement-breakpoint
CREATE INDEX "crm_leads_tenant_title_idx" ON "app"."crm_leads" USING btree ("tenant_id","title","id");--> statement-breakpoint
CREATE INDEX "crm_leads_stage_idx" ON "app"."crm_leads" USING btree ("tenant_id","pipeline_id","stage_id");--> statement-breakpoint
CREATE INDEX "crm_leads_contact_idx" ON "app"."crm_leads" USING btree ("tenant_id","contact_id");--> statement-breakpoint
CREATE INDEX "crm_leads_company_idx" ON "app"."crm_leads" USING btree ("tenant_id","company_id");--> statement-breakpoint
CREATE INDEX "crm_leads_owner_idx" ON "app"."crm_leads" USING btree ("tenant_id","owner_user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "crm_pipelines_name_key" ON "app"."crm_pipelines" USING btree ("tenant_id","name");--> statement-breakpoint
CREATE INDEX "crm_pipeline_stages_position_idx" ON "app"."crm_pipeline_stages" USING btree ("tenant_id","pipeline_id","position");--> statement-breakpoint
CREATE POLICY "crm_activities_tenant_select" ON "app"."crm_activities" AS PERMISSIVE FOR SELECT TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "crm_activities_tenant_insert" ON "app"."crm_activities" AS PERMISSIVE FOR INSERT TO "palisade_app" WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "crm_activities_tenant_update" ON "app"."crm_activities" AS PERMISSIVE FOR UPDATE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "crm_activities_tenant_delete" ON "app"."crm_activities" AS PERMISSIVE FOR DELETE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "crm_companies_tenant_select" ON "app"."crm_companies" AS PERMISSIVE FOR SELECT TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "crm_companies_tenant_insert" ON "app"."crm_companies" AS PERMISSIVE FOR INSERT TO "palisade_app" WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "crm_companies_tenant_update" ON "app"."crm_companies" AS PERMISSIVE FOR UPDATE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "crm_companies_tenant_delete" ON "app"."crm_companies" AS PERMISSIVE FOR DELETE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "crm_contacts_tenant_select" ON "app"."crm_contacts" AS PERMISSIVE FOR SELECT TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "crm_contacts_tenant_insert" ON "app"."crm_contacts" AS PERMISSIVE FOR INSERT TO "palisade_app" WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "crm_contacts_tenant_update" ON "app"."crm_contacts" AS PERMISSIVE FOR UPDATE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "crm_contacts_tenant_delete" ON "app"."crm_contacts" AS PERMISSIVE FOR DELETE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "crm_custom_field_definitions_tenant_select" ON "app"."crm_custom_field_definitions" AS PERMISSIVE FOR SELECT TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "crm_custom_field_definitions_tenant_insert" ON "app"."crm_custom_field_definitions" AS PERMISSIVE FOR INSERT TO "palisade_app" WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "crm_custom_field_definitions_tenant_update" ON "app"."crm_custom_field_definitions" AS PERMISSIVE FOR UPDATE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "crm_custom_field_definitions_tenant_delete" ON "app"."crm_custom_field_definitions" AS PERMISSIVE FOR DELETE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "crm_lead_stage_history_tenant_select" ON "app"."crm_lead_stage_history" AS PERMISSIVE FOR SELECT TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "crm_lead_stage_history_tenant_insert" ON "app"."crm_lead_stage_history" AS PERMISSIVE FOR INSERT TO "palisade_app" WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "crm_lead_stage_history_tenant_update" ON "app"."crm_lead_stage_history" AS PERMISSIVE FOR UPDATE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "crm_lead_stage_history_tenant_delete" ON "app"."crm_lead_stage_history" AS PERMISSIVE FOR DELETE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "crm_leads_tenant_select" ON "app"."crm_leads" AS PERMISSIVE FOR SELECT TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "crm_leads_tenant_insert" ON "app"."crm_leads" AS PERMISSIVE FOR INSERT TO "palisade_app" WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "crm_leads_tenant_update" ON "app"."crm_leads" AS PERMISSIVE FOR UPDATE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "crm_leads_tenant_delete" ON "app"."crm_leads" AS PERMISSIVE FOR DELETE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "crm_pipelines_tenant_select" ON "app"."crm_pipelines" AS PERMISSIVE FOR SELECT TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "crm_pipelines_tenant_insert" ON "app"."crm_pipelines" AS PERMISSIVE FOR INSERT TO "palisade_app" WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "crm_pipelines_tenant_update" ON "app"."crm_pipelines" AS PERMISSIVE FOR UPDATE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "crm_pipelines_tenant_delete" ON "app"."crm_pipelines" AS PERMISSIVE FOR DELETE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "crm_pipeline_stages_tenant_select" ON "app"."crm_pipeline_stages" AS PERMISSIVE FOR SELECT TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "crm_pipeline_stages_tenant_insert" ON "app"."crm_pipeline_stages" AS PERMISSIVE FOR INSERT TO "palisade_app" WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "crm_pipeline_stages_tenant_update" ON "app"."crm_pipeline_stages" AS PERMISSIVE FOR UPDATE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "crm_pipeline_stages_tenant_delete" ON "app"."crm_pipeline_stages" AS PERMISSIVE FOR DELETE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));