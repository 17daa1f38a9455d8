-- Helpers every pgTAP file uses, installed once and committed (the pattern of
-- basejump's supabase-test-helpers): files run in name order, this one first. They live
-- in schema `tests`, which only test databases have.
begin;
set search_path to public, extensions;
select plan(4);

create schema if not exists tests;
comment on schema tests is 'pgTAP helpers; present only in databases the tests ran against.';
grant usage on schema tests to anon, authenticated, service_role;

-- Acts as a seeded user for the rest of the transaction, exactly as PostgREST would for
-- their token: role authenticated, claims in request.jwt.claims. Call as postgres (it
-- reads auth.users); go back with `reset role`.
create or replace function tests.authenticate_as(user_email text) returns void
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

create or replace function tests.org_id(org_slug text) returns uuid
language sql security definer set search_path = '' as $$
  select id from public.organizations where slug = org_slug
$$;

create or replace function tests.user_id(user_email text) returns uuid
language sql security definer set search_path = '' as $$
  select id from auth.users where email = user_email
$$;

-- Ids a test remembers across actors (rows vanish with each test file's rollback).
create table if not exists tests.ids (name text primary key, id uuid not null);
grant select, insert on tests.ids to authenticated, service_role;
grant execute on all functions in schema tests to anon, authenticated, service_role;

select has_function('tests', 'authenticate_as', array['text'], 'tests.authenticate_as exists');
select has_function('tests', 'org_id', array['text'], 'tests.org_id exists');
select has_function('tests', 'user_id', array['text'], 'tests.user_id exists');
select is(tests.org_id('acme'), 'a0000000-0000-4000-8000-000000000000'::uuid,
  'the seed contract holds: Acme has its fixed id');

select * from finish();
commit;
