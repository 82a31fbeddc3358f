-- Whether a tenant exists and is not deleted, for a policy that asks about a tenant other than the current one:
-- a shared agent is visible to other tenants only while its owner is live. The tenants policy shows another
-- tenant's row only to that tenant's members, and the request role must read nothing more of it, so the
-- function reads the row as that tenant (as app.resolve_widget does for its widget's tenant), puts the caller's
-- context back and returns only yes or no. Invoker rights like the other app functions: with FORCE row level
-- security a definer (the table owner) would see no tenant at all.
CREATE OR REPLACE FUNCTION app.tenant_is_live(p_tenant uuid)
RETURNS boolean
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
  v_caller text := current_setting('app.tenant_id', true);
  v_live boolean;
  v_set text;
BEGIN
  IF p_tenant IS NULL THEN
    RETURN false;
  END IF;
  v_set := pg_catalog.set_config('app.tenant_id', p_tenant::text, true);
  v_live := EXISTS (SELECT 1 FROM app.tenants t WHERE t.id = p_tenant AND t.deleted_at IS NULL);
  v_set := pg_catalog.set_config('app.tenant_id', coalesce(v_caller, ''), true);
  RETURN v_live;
END
$$;
--> statement-breakpoint
ALTER POLICY "ai_agents_shared_select" ON "app"."ai_agents" TO palisade_app USING (exists (select 1 from app.tenants t where t.id = (select nullif(current_setting('app.tenant_id', true), '')::uuid) and t.deleted_at is null) and (sharing = 'global' or (sharing = 'selective' and (select nullif(current_setting('app.tenant_id', true), '')::uuid) = any(shared_with))) and app.tenant_is_live(tenant_id));
