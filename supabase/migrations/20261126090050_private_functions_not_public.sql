-- =============================================================================
-- Functions are not executable by PUBLIC. Postgres grants EXECUTE to PUBLIC on every
-- new function, and a per-schema default privilege can only add, never remove, so
-- the earlier `alter default privileges … in schema private` had no effect: revoke
-- what exists, and change postgres's global default so future functions start closed.
-- Each function is then granted to the roles that call it.
-- =============================================================================

revoke execute on all functions in schema private from public;

alter default privileges for role postgres revoke execute on functions from public;
