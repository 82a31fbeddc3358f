-- One definition of "the caller's role in a live tenant": app.enter_tenant now
-- asks app.member_role (0004) instead of repeating its lookup.
CREATE OR REPLACE FUNCTION app.enter_tenant(p_tenant uuid, p_user uuid, p_email text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
  v_role text;
BEGIN
  PERFORM pg_catalog.set_config('app.tenant_id', p_tenant::text, true);
  PERFORM pg_catalog.set_config('app.user_email', coalesce(p_email, ''), true);
  v_role := app.member_role(p_tenant, p_user);
  IF v_role IS NULL THEN
    PERFORM pg_catalog.set_config('app.tenant_id', '', true);
    RAISE EXCEPTION 'not a member of this tenant' USING ERRCODE = 'PT403';
  END IF;
  PERFORM pg_catalog.set_config('app.role', v_role, true);
  RETURN v_role;
END
$$;
