-- The caller's role in a tenant, or NULL: one statement, no transaction, for
-- resolving a request's principal. Invoker rights: it sees memberships through
-- the request role's own-memberships policy, for which it sets app.user_id
-- (transaction-local, and the statement is its own transaction).
CREATE OR REPLACE FUNCTION app.member_role(p_tenant uuid, p_user uuid)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
  v_role text;
BEGIN
  PERFORM pg_catalog.set_config('app.user_id', p_user::text, true);
  SELECT m.role INTO v_role
    FROM app.memberships m
    JOIN app.tenants t ON t.id = m.tenant_id
   WHERE m.tenant_id = p_tenant AND m.user_id = p_user AND t.deleted_at IS NULL;
  RETURN v_role;
END
$$;
