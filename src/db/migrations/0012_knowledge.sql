CREATE TABLE "app"."knowledge_chunks" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"document_id" uuid NOT NULL,
	"position" integer NOT NULL,
	"heading" text DEFAULT '' NOT NULL,
	"text" text NOT NULL,
	"token_count" integer NOT NULL,
	"search" "tsvector" GENERATED ALWAYS AS (setweight(to_tsvector('english'::regconfig, heading), 'A') || setweight(to_tsvector('english'::regconfig, text), 'B')) STORED NOT NULL,
	"embedding" real[],
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "knowledge_chunks_pkey" PRIMARY KEY("tenant_id","id"),
	CONSTRAINT "knowledge_chunks_position_check" CHECK (position >= 0),
	CONSTRAINT "knowledge_chunks_token_count_check" CHECK (token_count >= 0)
);
--> statement-breakpoint
ALTER TABLE "app"."knowledge_chunks" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "app"."knowledge_documents" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"title" text NOT NULL,
	"category" text DEFAULT 'general' NOT NULL,
	"source_type" text NOT NULL,
	"status" text DEFAULT 'processing' NOT NULL,
	"error" text,
	"size_bytes" integer NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"content" text NOT NULL,
	"content_hash" text NOT NULL,
	"embedding_model" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "knowledge_documents_pkey" PRIMARY KEY("tenant_id","id"),
	CONSTRAINT "knowledge_documents_source_type_check" CHECK (source_type in ('text', 'markdown', 'html', 'pdf')),
	CONSTRAINT "knowledge_documents_status_check" CHECK (status in ('processing', 'ready', 'failed')),
	CONSTRAINT "knowledge_documents_title_check" CHECK (char_length(title) between 1 and 300),
	CONSTRAINT "knowledge_documents_category_check" CHECK (char_length(category) between 1 and 100),
	CONSTRAINT "knowledge_documents_size_check" CHECK (size_bytes >= 0)
);
--> statement-breakpoint
ALTER TABLE "app"."knowledge_documents" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "app"."knowledge_chunks" ADD CONSTRAINT "knowledge_chunks_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "app"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."knowledge_chunks" ADD CONSTRAINT "knowledge_chunks_document_fk" FOREIGN KEY ("tenant_id","document_id") REFERENCES "app"."knowledge_documents"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."knowledge_documents" ADD CONSTRAINT "knowledge_documents_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "app"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "knowledge_chunks_position_key" ON "app"."knowledge_chunks" USING btree ("tenant_id","document_id","position");--> statement-breakpoint
CREATE INDEX "knowledge_chunks_search_idx" ON "app"."knowledge_chunks" USING gin ("search");--> statement-breakpoint
CREATE INDEX "knowledge_documents_tenant_created_idx" ON "app"."knowledge_documents" USING btree ("tenant_id","created_at","id");--> statement-breakpoint
CREATE INDEX "knowledge_documents_tenant_title_idx" ON "app"."knowledge_documents" USING btree ("tenant_id","title","id");--> statement-breakpoint
CREATE INDEX "knowledge_documents_tenant_category_idx" ON "app"."knowledge_documents" USING btree ("tenant_id","category");--> statement-breakpoint
CREATE POLICY "knowledge_chunks_tenant_select" ON "app"."knowledge_chunks" AS PERMISSIVE FOR SELECT TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "knowledge_chunks_tenant_insert" ON "app"."knowledge_chunks" AS PERMISSIVE FOR INSERT TO "palisade_app" WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "knowledge_chunks_tenant_update" ON "app"."knowledge_chunks" AS PERMISSIVE FOR UPDATE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "knowledge_chunks_tenant_delete" ON "app"."knowledge_chunks" AS PERMISSIVE FOR DELETE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "knowledge_documents_tenant_select" ON "app"."knowledge_documents" AS PERMISSIVE FOR SELECT TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "knowledge_documents_tenant_insert" ON "app"."knowledge_documents" AS PERMISSIVE FOR INSERT TO "palisade_app" WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "knowledge_documents_tenant_update" ON "app"."knowledge_documents" AS PERMISSIVE FOR UPDATE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "knowledge_documents_tenant_delete" ON "app"."knowledge_documents" AS PERMISSIVE FOR DELETE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));