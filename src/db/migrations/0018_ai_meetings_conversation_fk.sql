-- A meeting keeps its room and times if its conversation is deleted: only
-- conversation_id is cleared (SET NULL with a column list, PostgreSQL 15+,
-- keeps tenant_id). Hand-written because the schema builder cannot express it.
ALTER TABLE "app"."ai_meetings" ADD CONSTRAINT "ai_meetings_conversation_fk" FOREIGN KEY ("tenant_id", "conversation_id") REFERENCES "app"."ai_conversations"("tenant_id", "id") ON DELETE SET NULL ("conversation_id") ON UPDATE no action;
