CREATE TABLE "app"."ai_meetings" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"title" text NOT NULL,
	"description" text,
	"scheduled_at" timestamp with time zone,
	"started_at" timestamp with time zone,
	"ended_at" timestamp with time zone,
	"participants" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"attendees" text[] DEFAULT '{}'::text[] NOT NULL,
	"created_by" uuid NOT NULL,
	"created_by_kind" text NOT NULL,
	"livekit_room" text NOT NULL,
	"conversation_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ai_meetings_pkey" PRIMARY KEY("tenant_id","id"),
	CONSTRAINT "ai_meetings_title_check" CHECK (char_length(title) between 1 and 300),
	CONSTRAINT "ai_meetings_description_check" CHECK (char_length(description) <= 5000),
	CONSTRAINT "ai_meetings_creator_kind_check" CHECK (created_by_kind in ('user', 'api_key')),
	CONSTRAINT "ai_meetings_times_check" CHECK (ended_at is null or (started_at is not null and ended_at >= started_at)),
	CONSTRAINT "ai_meetings_participants_check" CHECK (jsonb_typeof(participants) = 'array' and jsonb_array_length(participants) <= 100),
	CONSTRAINT "ai_meetings_attendees_check" CHECK (cardinality(attendees) <= 1000)
);
--> statement-breakpoint
ALTER TABLE "app"."ai_meetings" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "app"."ai_meetings" ADD CONSTRAINT "ai_meetings_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "app"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "ai_meetings_room_key" ON "app"."ai_meetings" USING btree ("tenant_id","livekit_room");--> statement-breakpoint
CREATE INDEX "ai_meetings_tenant_created_idx" ON "app"."ai_meetings" USING btree ("tenant_id","created_at","id");--> statement-breakpoint
CREATE INDEX "ai_meetings_tenant_scheduled_idx" ON "app"."ai_meetings" USING btree ("tenant_id","scheduled_at","id");--> statement-breakpoint
CREATE INDEX "ai_meetings_conversation_idx" ON "app"."ai_meetings" USING btree ("tenant_id","conversation_id");--> statement-breakpoint
CREATE POLICY "ai_meetings_tenant_select" ON "app"."ai_meetings" AS PERMISSIVE FOR SELECT TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_meetings_tenant_insert" ON "app"."ai_meetings" AS PERMISSIVE FOR INSERT TO "palisade_app" WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_meetings_tenant_update" ON "app"."ai_meetings" AS PERMISSIVE FOR UPDATE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_meetings_tenant_delete" ON "app"."ai_meetings" AS PERMISSIVE FOR DELETE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));