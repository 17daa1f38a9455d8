-- =============================================================================
-- The `private` schema and the system role.
--
-- `private` holds helpers, internals and security-definer functions. PostgREST
-- exposes only `public`, so nothing here is reachable as an endpoint; the API roles
-- get USAGE only so that RLS policies may call the helpers.
--
-- `sms_system` is the role Edge Functions use for system work (campaign ticks,
-- Twilio webhooks, health): no login, no RLS bypass, and only the grants that work
-- needs, given by the migrations that need them.
-- =============================================================================

create schema if not exists private;
comment on schema private is
  'Helpers, internals and security-definer functions; never exposed through PostgREST.';

revoke all on schema private from public;
grant usage on schema private to authenticated, service_role;

-- Functions created here are not executable by PUBLIC unless granted explicitly.
alter default privileges for role postgres in schema private revoke execute on functions from public;

do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'sms_system') then
    create role sms_system nologin noinherit;
  end if;
end
$$;
comment on role sms_system is
  'System work of Edge Functions (ticks, webhooks, health): explicit grants only, subject to RLS.';

-- The functions connect as postgres and `set local role sms_system` per transaction.
grant sms_system to postgres;
grant usage on schema private to sms_system;
