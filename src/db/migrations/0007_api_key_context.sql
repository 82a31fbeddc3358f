-- Resolves a presented API key (by the SHA-256 of its secret) to its tenant,
-- role ceiling, scopes and the tenant's plan: one statement, for building a
-- request's principal. Invoker rights: the key is visible only through the
-- api_keys_presented_select policy, for which the hash is set
-- transaction-locally and cleared again. Revoked and expired keys, and keys of
-- deleted tenants, resolve to nothing. last_used_at is written at most once a
-- minute so a busy key does not turn every read into a write. It returns one
-- jsonb value (not a row set) so that callers can call it in the select list
-- after switching to the request role, never in FROM, which runs first.
CREATE OR REPLACE FUNCTION app.resolve_api_key(p_hash text)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
  v_key record;
  v_plan text;
BEGIN
  PERFORM pg_catalog.set_config('app.api_key_hash', p_hash, true);
  SELECT k.tenant_id, k.id, k.role, k.scopes, k.last_used_at INTO v_key
    FROM app.api_keys k
   WHERE k.secret_hash = p_hash AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now());
  PERFORM pg_catalog.set_config('app.api_key_hash', '', true);
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  PERFORM pg_catalog.set_config('app.tenant_id', v_key.tenant_id::text, true);
  SELECT t.plan INTO v_plan FROM app.tenants t WHERE t.id = v_key.tenant_id AND t.deleted_at IS NULL;
  IF NOT FOUND THEN
    PERFORM pg_catalog.set_config('app.tenant_id', '', true);
    RETURN NULL;
  END IF;
  IF v_key.last_used_at IS NULL OR v_key.last_used_at < now() - interval '1 minute' THEN
    UPDATE app.api_keys k SET last_used_at = now() WHERE k.tenant_id = v_key.tenant_id AND k.id = v_key.id;
  END IF;
  PERFORM pg_catalog.set_config('app.tenant_id', '', true);
  RETURN jsonb_build_object(
    'tenantId', v_key.tenant_id, 'apiKeyId', v_key.id, 'role', v_key.role, 'scopes', to_jsonb(v_key.scopes), 'plan', v_plan
  );
END
$$;
--> statement-breakpoint
-- Opens a tenant transaction for an API key: sets the context and checks, in
-- the same statement, that the key is still live. A key revoked between
-- resolving and entering raises, which aborts the transaction.
CREATE OR REPLACE FUNCTION app.enter_api_key(p_tenant uuid, p_key uuid)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
  v_role text;
BEGIN
  PERFORM pg_catalog.set_config('app.tenant_id', p_tenant::text, true);
  PERFORM pg_catalog.set_config('app.user_id', '', true);
  PERFORM pg_catalog.set_config('app.user_email', '', true);
  SELECT k.role INTO v_role
    FROM app.api_keys k
    JOIN app.tenants t ON t.id = k.tenant_id
   WHERE k.tenant_id = p_tenant AND k.id = p_key AND k.revoked_at IS NULL
     AND (k.expires_at IS NULL OR k.expires_at > now()) AND t.deleted_at IS NULL;
  IF v_role IS NULL THEN
    PERFORM pg_catalog.set_config('app.tenant_id', '', true);
    RAISE EXCEPTION 'api key not valid' USING ERRCODE = 'PT401';
  END IF;
  PERFORM pg_catalog.set_config('app.api_key_id', p_key::text, true);
  PERFORM pg_catalog.set_config('app.role', v_role, true);
  RETURN v_role;
END
$$;
