-- Opens a tenant transaction: sets the transaction-local context and checks
-- membership in the same statement. A non-member raises, which aborts the
-- transaction, so statements pipelined behind it never run. Invoker rights (no
-- SECURITY DEFINER): it sees memberships only through the request role's policies.
CREATE OR REPLACE FUNCTION app.enter_tenant(p_tenant uuid, p_user uuid, p_email text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
  v_role text;
BEGIN
  PERFORM pg_catalog.set_config('app.tenant_id', p_tenant::text, true);
  PERFORM pg_catalog.set_config('app.user_id', p_user::text, true);
  PERFORM pg_catalog.set_config('app.user_email', coalesce(p_email, ''), true);
  SELECT m.role INTO v_role
    FROM app.memberships m
    JOIN app.tenants t ON t.id = m.tenant_id
   WHERE m.tenant_id = p_tenant AND m.user_id = p_user AND t.deleted_at IS NULL;
  IF v_role IS NULL THEN
    PERFORM pg_catalog.set_config('app.tenant_id', '', true);
    RAISE EXCEPTION 'not a member of this tenant' USING ERRCODE = 'PT403';
  END IF;
  PERFORM pg_catalog.set_config('app.role', v_role, true);
  RETURN v_role;
END
$$;
--> statement-breakpoint
-- A user context without a tenant: the user's own memberships and invitations.
CREATE OR REPLACE FUNCTION app.enter_user(p_user uuid, p_email text)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
  PERFORM pg_catalog.set_config('app.tenant_id', '', true);
  PERFORM pg_catalog.set_config('app.user_id', p_user::text, true);
  PERFORM pg_catalog.set_config('app.user_email', coalesce(p_email, ''), true);
END
$$;
--> statement-breakpoint
-- Platform administration: only an owner or admin of the platform tenant may
-- read across tenants, and only inside this transaction.
CREATE OR REPLACE FUNCTION app.enter_platform_admin(p_user uuid)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
  v_role text;
BEGIN
  v_role := app.enter_tenant('00000000-0000-0000-0000-000000000001'::uuid, p_user, NULL);
  IF v_role NOT IN ('owner', 'admin') THEN
    RAISE EXCEPTION 'not a platform admin' USING ERRCODE = 'PT403';
  END IF;
  PERFORM pg_catalog.set_config('app.platform_admin', 'on', true);
  RETURN v_role;
END
$$;
--> statement-breakpoint
-- Creates a tenant with the caller as its owner. The new id becomes the
-- transaction's tenant, which is what lets the insert policies accept both
-- rows; it cannot be pointed at an existing tenant.
CREATE OR REPLACE FUNCTION app.create_tenant(p_name text, p_slug text, p_user uuid)
RETURNS uuid
LANGUAGE plpgsql
AS $$
DECLARE
  v_id uuid := gen_random_uuid();
BEGIN
  IF p_user IS DISTINCT FROM nullif(current_setting('app.user_id', true), '')::uuid THEN
    RAISE EXCEPTION 'user context mismatch' USING ERRCODE = 'PT403';
  END IF;
  PERFORM pg_catalog.set_config('app.tenant_id', v_id::text, true);
  INSERT INTO app.tenants (id, name, slug) VALUES (v_id, p_name, p_slug);
  INSERT INTO app.memberships (tenant_id, user_id, role) VALUES (v_id, p_user, 'owner');
  PERFORM pg_catalog.set_config('app.role', 'owner', true);
  RETURN v_id;
END
$$;
--> statement-breakpoint
-- Accepts or declines an invitation presented by its token. The token hash is
-- the only way to see an invitation outside its tenant; the invitation's email
-- must be the caller's. On success the invitation's tenant becomes the context
-- so the membership and the audit entry are written under its policies.
CREATE OR REPLACE FUNCTION app.respond_to_invitation(p_token_hash text, p_user uuid, p_email text, p_accept boolean)
RETURNS TABLE (tenant_id uuid, role text)
LANGUAGE plpgsql
AS $$
DECLARE
  v_inv record;
BEGIN
  IF p_user IS DISTINCT FROM nullif(current_setting('app.user_id', true), '')::uuid THEN
    RAISE EXCEPTION 'user context mismatch' USING ERRCODE = 'PT403';
  END IF;
  PERFORM pg_catalog.set_config('app.invitation_token', p_token_hash, true);
  SELECT i.tenant_id, i.id, i.email, i.role, i.status, i.expires_at INTO v_inv
    FROM app.invitations i WHERE i.token_hash = p_token_hash;
  IF NOT FOUND OR v_inv.status <> 'pending' OR lower(v_inv.email) <> lower(p_email) THEN
    RAISE EXCEPTION 'invitation not found' USING ERRCODE = 'PT404';
  END IF;
  PERFORM pg_catalog.set_config('app.tenant_id', v_inv.tenant_id::text, true);
  PERFORM pg_catalog.set_config('app.invitation_token', '', true);
  -- A deleted tenant's invitations are dead: its membership could never be
  -- entered (app.enter_tenant skips deleted tenants). Any raise below aborts
  -- the transaction, so the tenant context set above never outlives it.
  IF NOT EXISTS (SELECT 1 FROM app.tenants t WHERE t.id = v_inv.tenant_id AND t.deleted_at IS NULL) THEN
    RAISE EXCEPTION 'invitation not found' USING ERRCODE = 'PT404';
  END IF;
  IF v_inv.expires_at <= now() THEN
    RAISE EXCEPTION 'invitation expired' USING ERRCODE = 'PT410';
  END IF;
  IF p_accept THEN
    IF EXISTS (SELECT 1 FROM app.memberships m WHERE m.tenant_id = v_inv.tenant_id AND m.user_id = p_user) THEN
      RAISE EXCEPTION 'already a member' USING ERRCODE = 'PT409';
    END IF;
    INSERT INTO app.memberships (tenant_id, user_id, role) VALUES (v_inv.tenant_id, p_user, v_inv.role);
  END IF;
  UPDATE app.invitations i
     SET status = CASE WHEN p_accept THEN 'accepted' ELSE 'declined' END, responded_at = now(), updated_at = now()
   WHERE i.tenant_id = v_inv.tenant_id AND i.id = v_inv.id;
  tenant_id := v_inv.tenant_id;
  role := v_inv.role;
  RETURN NEXT;
END
$$;
--> statement-breakpoint
-- The platform tenant, whose owners and admins are the platform admins. Inserted
-- before RLS is forced on the table (harden.sql runs after the migrations).
INSERT INTO app.tenants (id, name, slug, plan)
VALUES ('00000000-0000-0000-0000-000000000001', 'Platform', 'platform', 'enterprise')
ON CONFLICT (id) DO NOTHING;
