-- =============================================================================
-- Platform extensions the schema relies on: pg_cron (the sender's clock) and
-- pg_net (HTTP from SQL). On hosted Supabase these statements enable them; the
-- local platform (local/platform.sql) provides both already, so they are no-ops
-- there. pg_net puts its objects in schema `net` whichever schema it is given.
-- =============================================================================

create extension if not exists pg_cron with schema pg_catalog;

do $$
begin
  if to_regnamespace('net') is null then
    create extension if not exists pg_net with schema extensions;
  end if;
end
$$;
