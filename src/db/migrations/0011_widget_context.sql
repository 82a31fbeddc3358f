-- Resolves a widget's publishable key (public: it sits in the embedding page)
-- to its tenant and settings, before any tenant is known. Invoker rights: the
-- row is visible only through ai_widgets_presented_select, for which the key
-- is set transaction-locally and cleared again. Widgets of deleted tenants
-- resolve to nothing. Returns one jsonb value so callers can call it in the
-- select list after switching to the request role.
CREATE OR REPLACE FUNCTION app.resolve_widget(p_key text)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
  v_widget record;
  v_plan text;
BEGIN
  PERFORM pg_catalog.set_config('app.widget_key', p_key, true);
  SELECT w.tenant_id, w.id, w.active, w.allowed_domains INTO v_widget
    FROM app.ai_widgets w
   WHERE w.publishable_key = p_key;
  PERFORM pg_catalog.set_config('app.widget_key', '', true);
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  PERFORM pg_catalog.set_config('app.tenant_id', v_widget.tenant_id::text, true);
  SELECT t.plan INTO v_plan FROM app.tenants t WHERE t.id = v_widget.tenant_id AND t.deleted_at IS NULL;
  PERFORM pg_catalog.set_config('app.tenant_id', '', true);
  IF v_plan IS NULL THEN
    RETURN NULL;
  END IF;
  RETURN jsonb_build_object(
    'tenantId', v_widget.tenant_id, 'widgetId', v_widget.id, 'active', v_widget.active,
    'allowedDomains', to_jsonb(v_widget.allowed_domains), 'plan', v_plan
  );
END
$$;
--> statement-breakpoint
-- Opens a tenant transaction for a widget visitor: sets the context and checks,
-- in the same statement, that the widget still exists and is active, so a
-- widget switched off between resolving and entering is refused at once.
CREATE OR REPLACE FUNCTION app.enter_widget(p_tenant uuid, p_widget uuid)
RETURNS text
LANGUAGE plpgsql
AS $$
BEGIN
  PERFORM pg_catalog.set_config('app.tenant_id', p_tenant::text, true);
  PERFORM pg_catalog.set_config('app.user_id', '', true);
  PERFORM pg_catalog.set_config('app.user_email', '', true);
  PERFORM 1
    FROM app.ai_widgets w
    JOIN app.tenants t ON t.id = w.tenant_id
   WHERE w.tenant_id = p_tenant AND w.id = p_widget AND w.active AND t.deleted_at IS NULL;
  IF NOT FOUND THEN
    PERFORM pg_catalog.set_config('app.tenant_id', '', true);
    RAISE EXCEPTION 'widget not available' USING ERRCODE = 'PT401';
  END IF;
  PERFORM pg_catalog.set_config('app.widget_id', p_widget::text, true);
  PERFORM pg_catalog.set_config('app.role', 'widget', true);
  RETURN 'widget';
END
$$;
