-- The policies of the tables every request reads by key in its enter statement (tenants, memberships,
-- API keys) compare with the setting itself instead of a sub-select of it: a sub-select is an InitPlan,
-- which the executor sets up, expression compilation included, on every statement, and these lookups
-- read one or two rows (src/db/tenant-table.ts, readOnEveryRequest). Same conditions as before.
ALTER POLICY "tenants_select" ON "app"."tenants" TO palisade_app USING (id = nullif(current_setting('app.tenant_id', true), '')::uuid or coalesce(current_setting('app.platform_admin', true), '') = 'on' or app.tenant_visible_to_user(id));--> statement-breakpoint
ALTER POLICY "tenants_insert" ON "app"."tenants" TO palisade_app WITH CHECK (id = nullif(current_setting('app.tenant_id', true), '')::uuid);--> statement-breakpoint
ALTER POLICY "tenants_update" ON "app"."tenants" TO palisade_app USING (id = nullif(current_setting('app.tenant_id', true), '')::uuid) WITH CHECK (id = nullif(current_setting('app.tenant_id', true), '')::uuid);--> statement-breakpoint
ALTER POLICY "tenants_delete" ON "app"."tenants" TO palisade_app USING (id = nullif(current_setting('app.tenant_id', true), '')::uuid);--> statement-breakpoint
ALTER POLICY "api_keys_tenant_select" ON "app"."api_keys" TO palisade_app USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);--> statement-breakpoint
ALTER POLICY "api_keys_tenant_insert" ON "app"."api_keys" TO palisade_app WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);--> statement-breakpoint
ALTER POLICY "api_keys_tenant_update" ON "app"."api_keys" TO palisade_app USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid) WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);--> statement-breakpoint
ALTER POLICY "api_keys_tenant_delete" ON "app"."api_keys" TO palisade_app USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);--> statement-breakpoint
ALTER POLICY "memberships_tenant_select" ON "app"."memberships" TO palisade_app USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);--> statement-breakpoint
ALTER POLICY "memberships_tenant_insert" ON "app"."memberships" TO palisade_app WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);--> statement-breakpoint
ALTER POLICY "memberships_tenant_update" ON "app"."memberships" TO palisade_app USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid) WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);--> statement-breakpoint
ALTER POLICY "memberships_tenant_delete" ON "app"."memberships" TO palisade_app USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);--> statement-breakpoint
ALTER POLICY "memberships_own_select" ON "app"."memberships" TO palisade_app USING (user_id = nullif(current_setting('app.user_id', true), '')::uuid or coalesce(current_setting('app.platform_admin', true), '') = 'on');