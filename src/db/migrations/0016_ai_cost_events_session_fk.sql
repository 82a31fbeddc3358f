-- A cost event outlives the conversation it belonged to: deleting the
-- conversation clears session_id only. The column list of SET NULL
-- (PostgreSQL 15+) keeps tenant_id, which a plain SET NULL would try to clear;
-- the schema builder cannot express it, hence this hand-written key.
ALTER TABLE "app"."ai_cost_events" ADD CONSTRAINT "ai_cost_events_session_fk" FOREIGN KEY ("tenant_id", "session_id") REFERENCES "app"."ai_conversations"("tenant_id", "id") ON DELETE SET NULL ("session_id") ON UPDATE no action;
