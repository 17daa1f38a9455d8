-- pgTAP helpers, included by each test file (`\ir _helpers.sql`) inside its own
-- transaction, so they vanish with its rollback and never stay in a database.
create schema tests;
grant usage on schema tests to authenticated, service_role;

-- Acts as a user for the rest of the transaction, exactly as PostgREST would for their
-- token: role authenticated, claims in request.jwt.claims. Call as postgres (it reads
-- auth.users); go back with `reset role`.
create function tests.authenticate_as(user_email text) returns void
language plpgsql as $$
declare
  uid uuid;
begin
  select id into uid from auth.users where email = user_email;
  if uid is null then
    raise exception 'no user %', user_email;
  end if;
  perform set_config('request.jwt.claims',
    json_build_object('sub', uid, 'role', 'authenticated', 'email', user_email)::text, true);
  perform set_config('role', 'authenticated', true);
end;
$$;

-- Lookups usable while acting as a user (who cannot read auth.users).
create function tests.org_id(org_slug text) returns uuid
language sql security definer set search_path = '' as $$
  select id from public.organizations where slug = org_slug
$$;

create function tests.user_id(user_email text) returns uuid
language sql security definer set search_path = '' as $$
  select id from auth.users where email = user_email
$$;

-- Ids a test remembers across actors.
create table tests.ids (name text primary key, id uuid not null);
grant select, insert on tests.ids to authenticated, service_role;
grant execute on all functions in schema tests to authenticated, service_role;
