-- Run after every migration, idempotently, as the owner. It derives the
-- request role's rights from the schema instead of per-table grants that a
-- migration could forget.
DO $$
DECLARE
  r record;
BEGIN
  FOR r IN
    SELECT c.oid::regclass AS tbl
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'app' AND c.relkind IN ('r', 'p')
  LOOP
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', r.tbl);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', r.tbl);
  END LOOP;
END $$;
GRANT USAGE ON SCHEMA app TO palisade_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA app TO palisade_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA app TO palisade_app;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA app TO palisade_app;
-- The auth library's tables: a few profile columns of visible users, nothing else.
GRANT USAGE ON SCHEMA auth TO palisade_app;
REVOKE ALL ON ALL TABLES IN SCHEMA auth FROM palisade_app;
GRANT SELECT (id, name, email, image, email_verified, created_at) ON auth.users TO palisade_app;
-- The audit log is append-only for requests.
REVOKE UPDATE, DELETE, TRUNCATE ON app.audit_log FROM palisade_app;
