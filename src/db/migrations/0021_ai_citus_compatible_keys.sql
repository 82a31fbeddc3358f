ALTER TABLE "app"."ai_conversations" DROP CONSTRAINT "ai_conversations_widget_fk";
--> statement-breakpoint
ALTER TABLE "app"."ai_conversations" DROP CONSTRAINT "ai_conversations_contact_fk";
--> statement-breakpoint
ALTER TABLE "app"."ai_conversations" ADD CONSTRAINT "ai_conversations_widget_fk" FOREIGN KEY ("tenant_id","widget_id") REFERENCES "app"."ai_widgets"("tenant_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."ai_conversations" ADD CONSTRAINT "ai_conversations_contact_fk" FOREIGN KEY ("tenant_id","contact_id") REFERENCES "app"."crm_contacts"("tenant_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER POLICY "ai_agents_shared_select" ON "app"."ai_agents" TO palisade_app USING (exists (select 1 from app.tenants t where t.id = (select nullif(current_setting('app.tenant_id', true), '')::uuid) and t.deleted_at is null) and (sharing = 'global' or (sharing = 'selective' and (select nullif(current_setting('app.tenant_id', true), '')::uuid) = any(shared_with))));--> statement-breakpoint
-- The hand-written keys of 0016 and 0018 too: Citus refuses SET NULL on a key
-- that holds the distribution column, even with a column list. Deleting a
-- conversation detaches its cost events and meeting first, in the same
-- transaction (src/modules/ai/conversations/detach.ts).
ALTER TABLE "app"."ai_cost_events" DROP CONSTRAINT "ai_cost_events_session_fk";--> statement-breakpoint
ALTER TABLE "app"."ai_cost_events" ADD CONSTRAINT "ai_cost_events_session_fk" FOREIGN KEY ("tenant_id", "session_id") REFERENCES "app"."ai_conversations"("tenant_id", "id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."ai_meetings" DROP CONSTRAINT "ai_meetings_conversation_fk";--> statement-breakpoint
ALTER TABLE "app"."ai_meetings" ADD CONSTRAINT "ai_meetings_conversation_fk" FOREIGN KEY ("tenant_id", "conversation_id") REFERENCES "app"."ai_conversations"("tenant_id", "id") ON DELETE no action ON UPDATE no action;
