CREATE TABLE "app"."ai_budget_alerts" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"period" date NOT NULL,
	"threshold" integer NOT NULL,
	"severity" text NOT NULL,
	"status" text DEFAULT 'open' NOT NULL,
	"spent" numeric(22, 10) NOT NULL,
	"monthly_limit" numeric(14, 2) NOT NULL,
	"acknowledged_at" timestamp with time zone,
	"acknowledged_by" uuid,
	"resolved_at" timestamp with time zone,
	"resolved_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ai_budget_alerts_pkey" PRIMARY KEY("tenant_id","id"),
	CONSTRAINT "ai_budget_alerts_severity_check" CHECK (severity in ('info', 'warning', 'critical')),
	CONSTRAINT "ai_budget_alerts_status_check" CHECK (status in ('open', 'acknowledged', 'resolved')),
	CONSTRAINT "ai_budget_alerts_threshold_check" CHECK (threshold between 1 and 1000)
);
--> statement-breakpoint
ALTER TABLE "app"."ai_budget_alerts" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "app"."ai_budget_reservations" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"period" date NOT NULL,
	"amount" numeric(22, 10) NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ai_budget_reservations_pkey" PRIMARY KEY("tenant_id","id"),
	CONSTRAINT "ai_budget_reservations_amount_check" CHECK (amount >= 0)
);
--> statement-breakpoint
ALTER TABLE "app"."ai_budget_reservations" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "app"."ai_budget_usage" (
	"tenant_id" uuid NOT NULL,
	"period" date NOT NULL,
	"spent" numeric(22, 10) DEFAULT 0 NOT NULL,
	"reserved" numeric(22, 10) DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ai_budget_usage_pkey" PRIMARY KEY("tenant_id","period"),
	CONSTRAINT "ai_budget_usage_amounts_check" CHECK (spent >= 0 and reserved >= 0)
);
--> statement-breakpoint
ALTER TABLE "app"."ai_budget_usage" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "app"."ai_budgets" (
	"tenant_id" uuid NOT NULL,
	"monthly_limit" numeric(14, 2),
	"alert_thresholds" integer[] DEFAULT '{50,80,100}'::integer[] NOT NULL,
	"hard_limit" boolean DEFAULT false NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ai_budgets_pkey" PRIMARY KEY("tenant_id"),
	CONSTRAINT "ai_budgets_limit_check" CHECK (monthly_limit is null or monthly_limit >= 0),
	CONSTRAINT "ai_budgets_thresholds_check" CHECK (cardinality(alert_thresholds) <= 10)
);
--> statement-breakpoint
ALTER TABLE "app"."ai_budgets" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "app"."ai_cost_events" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"service" text NOT NULL,
	"model" text,
	"units" numeric(20, 6) NOT NULL,
	"unit" text NOT NULL,
	"unit_price" numeric(20, 12) NOT NULL,
	"amount" numeric(22, 10) NOT NULL,
	"session_id" uuid,
	"agent_id" uuid,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ai_cost_events_pkey" PRIMARY KEY("tenant_id","id"),
	CONSTRAINT "ai_cost_events_service_check" CHECK (service in ('llm', 'embedding', 'vision', 'voice', 'livekit')),
	CONSTRAINT "ai_cost_events_units_check" CHECK (units >= 0),
	CONSTRAINT "ai_cost_events_amount_check" CHECK (amount >= 0 and unit_price >= 0),
	CONSTRAINT "ai_cost_events_unit_check" CHECK (char_length(unit) between 1 and 40),
	CONSTRAINT "ai_cost_events_model_check" CHECK (char_length(model) <= 200)
);
--> statement-breakpoint
ALTER TABLE "app"."ai_cost_events" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "app"."ai_budget_alerts" ADD CONSTRAINT "ai_budget_alerts_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "app"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."ai_budget_reservations" ADD CONSTRAINT "ai_budget_reservations_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "app"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."ai_budget_usage" ADD CONSTRAINT "ai_budget_usage_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "app"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."ai_budgets" ADD CONSTRAINT "ai_budgets_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "app"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."ai_cost_events" ADD CONSTRAINT "ai_cost_events_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "app"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "ai_budget_alerts_once_key" ON "app"."ai_budget_alerts" USING btree ("tenant_id","period","threshold");--> statement-breakpoint
CREATE INDEX "ai_budget_alerts_tenant_created_idx" ON "app"."ai_budget_alerts" USING btree ("tenant_id","created_at","id");--> statement-breakpoint
CREATE INDEX "ai_budget_reservations_expiry_idx" ON "app"."ai_budget_reservations" USING btree ("tenant_id","expires_at");--> statement-breakpoint
CREATE INDEX "ai_cost_events_tenant_created_idx" ON "app"."ai_cost_events" USING btree ("tenant_id","created_at","id");--> statement-breakpoint
CREATE INDEX "ai_cost_events_tenant_service_created_idx" ON "app"."ai_cost_events" USING btree ("tenant_id","service","created_at");--> statement-breakpoint
CREATE INDEX "ai_cost_events_session_idx" ON "app"."ai_cost_events" USING btree ("tenant_id","session_id");--> statement-breakpoint
CREATE INDEX "ai_cost_events_agent_idx" ON "app"."ai_cost_events" USING btree ("tenant_id","agent_id","created_at");--> statement-breakpoint
CREATE POLICY "ai_budget_alerts_tenant_select" ON "app"."ai_budget_alerts" AS PERMISSIVE FOR SELECT TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_budget_alerts_tenant_insert" ON "app"."ai_budget_alerts" AS PERMISSIVE FOR INSERT TO "palisade_app" WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_budget_alerts_tenant_update" ON "app"."ai_budget_alerts" AS PERMISSIVE FOR UPDATE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_budget_alerts_tenant_delete" ON "app"."ai_budget_alerts" AS PERMISSIVE FOR DELETE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_budget_reservations_tenant_select" ON "app"."ai_budget_reservations" AS PERMISSIVE FOR SELECT TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_budget_reservations_tenant_insert" ON "app"."ai_budget_reservations" AS PERMISSIVE FOR INSERT TO "palisade_app" WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_budget_reservations_tenant_update" ON "app"."ai_budget_reservations" AS PERMISSIVE FOR UPDATE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_budget_reservations_tenant_delete" ON "app"."ai_budget_reservations" AS PERMISSIVE FOR DELETE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_budget_usage_tenant_select" ON "app"."ai_budget_usage" AS PERMISSIVE FOR SELECT TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_budget_usage_tenant_insert" ON "app"."ai_budget_usage" AS PERMISSIVE FOR INSERT TO "palisade_app" WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_budget_usage_tenant_update" ON "app"."ai_budget_usage" AS PERMISSIVE FOR UPDATE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_budget_usage_tenant_delete" ON "app"."ai_budget_usage" AS PERMISSIVE FOR DELETE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_budgets_tenant_select" ON "app"."ai_budgets" AS PERMISSIVE FOR SELECT TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_budgets_tenant_insert" ON "app"."ai_budgets" AS PERMISSIVE FOR INSERT TO "palisade_app" WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_budgets_tenant_update" ON "app"."ai_budgets" AS PERMISSIVE FOR UPDATE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_budgets_tenant_delete" ON "app"."ai_budgets" AS PERMISSIVE FOR DELETE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_cost_events_tenant_select" ON "app"."ai_cost_events" AS PERMISSIVE FOR SELECT TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_cost_events_tenant_insert" ON "app"."ai_cost_events" AS PERMISSIVE FOR INSERT TO "palisade_app" WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_cost_events_tenant_update" ON "app"."ai_cost_events" AS PERMISSIVE FOR UPDATE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "ai_cost_events_tenant_delete" ON "app"."ai_cost_events" AS PERMISSIVE FOR DELETE TO "palisade_app" USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));