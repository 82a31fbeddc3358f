-- Responding to an invitation changes it only while it is still pending. The function read the invitation
-- without a lock and updated it unconditionally, so an accept racing a cancel could answer the admin
-- "cancelled" and still leave the invitee a member, the row marked accepted.
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
  -- Only while still pending: a cancel (or another response) that committed after the read above has
  -- taken the row, and this update, which waits for it, then finds nothing and the response fails whole.
  UPDATE app.invitations i
     SET status = CASE WHEN p_accept THEN 'accepted' ELSE 'declined' END, responded_at = now(), updated_at = now()
   WHERE i.tenant_id = v_inv.tenant_id AND i.id = v_inv.id AND i.status = 'pending';
  IF NOT FOUND THEN
    RAISE EXCEPTION 'invitation not found' USING ERRCODE = 'PT404';
  END IF;
  tenant_id := v_inv.tenant_id;
  role := v_inv.role;
  RETURN NEXT;
END
$$;
