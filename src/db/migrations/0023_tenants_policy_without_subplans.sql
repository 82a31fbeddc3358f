-- Whether the caller may see a tenant besides the current one: they belong to it, or it invites their
-- verified email. The tenants select policy calls it only for rows its cheaper conditions did not admit
-- (the current tenant, a platform admin's transaction). Written inline as two IN sub-selects, the policy
-- made PostgreSQL plan and start both sub-plans (index scans on memberships and invitations, a hash table
-- each) for every statement that read app.tenants, including each request's membership check, whose
-- first condition always decides. A PL/pgSQL function is never inlined, so its queries stay out of the
-- calling plan. Invoker rights: it sees memberships and invitations through the request role's policies.
CREATE OR REPLACE FUNCTION app.tenant_visible_to_user(p_tenant uuid)
RETURNS boolean
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
  RETURN EXISTS (
      SELECT 1 FROM app.memberships m
       WHERE m.tenant_id = p_tenant AND m.user_id = nullif(current_setting('app.user_id', true), '')::uuid)
    OR EXISTS (
      SELECT 1 FROM app.invitations i
       WHERE i.tenant_id = p_tenant AND i.status = 'pending'
         AND lower(i.email) = lower(nullif(current_setting('app.user_email', true), '')));
END
$$;
--> statement-breakpoint
ALTER POLICY "tenants_select" ON "app"."tenants" TO palisade_app USING (id = (select nullif(current_setting('app.tenant_id', true), '')::uuid) or (select coalesce(current_setting('app.platform_admin', true), '') = 'on') or app.tenant_visible_to_user(id));
--> statement-breakpoint
-- The functions every request runs, with set_config as assignments: PL/pgSQL evaluates an assignment of a
-- plain expression directly, where PERFORM starts the executor for a SELECT each time. Same logic as in
-- 0004, 0005 and 0007.
CREATE OR REPLACE FUNCTION app.member_role(p_tenant uuid, p_user uuid)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
  v_role text;
  v_set text;
BEGIN
  v_set := pg_catalog.set_config('app.user_id', p_user::text, true);
  SELECT m.role INTO v_role
    FROM app.memberships m
    JOIN app.tenants t ON t.id = m.tenant_id
   WHERE m.tenant_id = p_tenant AND m.user_id = p_user AND t.deleted_at IS NULL;
  RETURN v_role;
END
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION app.enter_tenant(p_tenant uuid, p_user uuid, p_email text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
  v_role text;
  v_set text;
BEGIN
  v_set := pg_catalog.set_config('app.tenant_id', p_tenant::text, true);
  v_set := pg_catalog.set_config('app.user_email', coalesce(p_email, ''), true);
  v_role := app.member_role(p_tenant, p_user);
  IF v_role IS NULL THEN
    v_set := pg_catalog.set_config('app.tenant_id', '', true);
    RAISE EXCEPTION 'not a member of this tenant' USING ERRCODE = 'PT403';
  END IF;
  v_set := pg_catalog.set_config('app.role', v_role, true);
  RETURN v_role;
END
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION app.enter_api_key(p_tenant uuid, p_key uuid)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
  v_role text;
  v_set text;
BEGIN
  v_set := pg_catalog.set_config('app.tenant_id', p_tenant::text, true);
  v_set := pg_catalog.set_config('app.user_id', '', true);
  v_set := pg_catalog.set_config('app.user_email', '', true);
  SELECT k.role INTO v_role
    FROM app.api_keys k
    JOIN app.tenants t ON t.id = k.tenant_id
   WHERE k.tenant_id = p_tenant AND k.id = p_key AND k.revoked_at IS NULL
     AND (k.expires_at IS NULL OR k.expires_at > now()) AND t.deleted_at IS NULL;
  IF v_role IS NULL THEN
    v_set := pg_catalog.set_config('app.tenant_id', '', true);
    RAISE EXCEPTION 'api key not valid' USING ERRCODE = 'PT401';
  END IF;
  v_set := pg_catalog.set_config('app.api_key_id', p_key::text, true);
  v_set := pg_catalog.set_config('app.role', v_role, true);
  RETURN v_role;
END
$$;
