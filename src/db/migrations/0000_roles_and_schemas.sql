-- Roles are cluster-wide; several databases (and concurrent test runs) may
-- create them at once, so a duplicate is not an error.
DO $$
BEGIN
  CREATE ROLE palisade_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;
--> statement-breakpoint
CREATE SCHEMA IF NOT EXISTS app;
