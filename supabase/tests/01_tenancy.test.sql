-- Tenancy: organizations, profiles and memberships, allowed and denied per role and org.
begin;
set search_path to public, extensions;
select plan(57);

\ir _helpers.sql

-- ---------------------------------------------------------------------------
-- Structure
-- ---------------------------------------------------------------------------
select has_table('public', 'organizations', 'organizations exists');
select has_table('public', 'profiles', 'profiles exists');
select has_table('public', 'memberships', 'memberships exists');
select enum_has_labels('public', 'member_role',
  array['admin', 'campaign_manager', 'operator', 'viewer'], 'member_role has the four roles');
select is(
  (select count(*)::int from public.profiles p join auth.users u on u.id = p.id),
  (select count(*)::int from auth.users), 'every auth user has a profile');

-- ---------------------------------------------------------------------------
-- As postgres: a new auth user gets a profile; memberships are pinned.
-- ---------------------------------------------------------------------------
insert into auth.users (id, email, raw_user_meta_data)
values ('c0000000-0000-4000-8000-000000000001', 'new@initech.test', '{"full_name": "New Person"}');
select is((select full_name from public.profiles where id = 'c0000000-0000-4000-8000-000000000001'),
  'New Person', 'a profile is created for a new auth user');
update auth.users set email = 'renamed@initech.test' where id = 'c0000000-0000-4000-8000-000000000001';
select is((select email from public.profiles where id = 'c0000000-0000-4000-8000-000000000001'),
  'renamed@initech.test', 'a changed email reaches the profile');
select is((select admin_count from public.organizations where slug = 'acme'), 1,
  'admin_count counts the seeded admin');
select throws_ok(
  $$ update public.memberships set org_id = tests.org_id('globex')
     where user_id = tests.user_id('viewer@acme.test') $$,
  '23514', 'a membership cannot move to another organization or user',
  'a membership cannot move to another organization');

-- ---------------------------------------------------------------------------
-- Acme admin
-- ---------------------------------------------------------------------------
select tests.authenticate_as('admin@acme.test');
select results_eq($$ select slug from public.organizations $$, array['acme'],
  'admin sees only their organization');
select is((select count(*)::int from public.memberships), 4, 'admin sees the 4 Acme memberships');
select is((select count(*)::int from public.profiles), 4, 'admin sees the 4 Acme profiles');
select lives_ok($$ update public.organizations set name = 'Acme Corp' where slug = 'acme' $$,
  'admin may rename the organization');
select is((select name from public.organizations where slug = 'acme'), 'Acme Corp',
  'the rename took effect');
select throws_ok($$ update public.organizations set slug = 'acme2' $$, '42501', null,
  'nobody may change a slug through the API (column grant)');
select throws_ok($$ update public.organizations set admin_count = 0 $$, '42501', null,
  'admin_count is kept by the database alone');
select throws_ok($$ insert into public.organizations (name, slug) values ('X', 'x') $$, '42501',
  null, 'organizations are created only through create_organization');
select throws_ok($$ delete from public.organizations where slug = 'acme' $$, '42501', null,
  'organizations cannot be deleted through the API');
select throws_ok(
  $$ insert into public.memberships (org_id, user_id, role)
     values (tests.org_id('acme'), 'c0000000-0000-4000-8000-000000000001', 'viewer') $$,
  '42501', null, 'not even an admin may add a member directly: people join by invitation');
select throws_ok(
  $$ delete from public.memberships where user_id = tests.user_id('admin@acme.test') $$,
  '23514', null, 'the last admin cannot leave');
select throws_ok(
  $$ update public.memberships set role = 'viewer' where user_id = tests.user_id('admin@acme.test') $$,
  '23514', null, 'the last admin cannot be demoted');
select is_empty(
  $$ update public.memberships set role = 'viewer'
     where user_id = tests.user_id('admin@globex.test') returning 1 $$,
  'admin cannot touch another organization''s memberships');
reset role;

-- ---------------------------------------------------------------------------
-- Acme campaign manager: reads, but does not administer the organization
-- ---------------------------------------------------------------------------
select tests.authenticate_as('manager@acme.test');
select results_eq($$ select slug from public.organizations $$, array['acme'],
  'manager sees only their organization');
select is_empty($$ update public.organizations set name = 'Hijacked' returning 1 $$,
  'manager cannot rename the organization');
select is_empty(
  $$ update public.memberships set role = 'admin' where user_id = tests.user_id('manager@acme.test')
     returning 1 $$,
  'manager cannot promote themselves');
select is_empty(
  $$ delete from public.memberships where user_id = tests.user_id('operator@acme.test') returning 1 $$,
  'manager cannot remove another member');
reset role;

-- ---------------------------------------------------------------------------
-- Acme operator: the same limits
-- ---------------------------------------------------------------------------
select tests.authenticate_as('operator@acme.test');
select is((select count(*)::int from public.memberships), 4, 'operator sees the Acme members');
select is_empty(
  $$ update public.memberships set role = 'viewer' where user_id = tests.user_id('manager@acme.test')
     returning 1 $$,
  'operator cannot change another member''s role');
select is_empty(
  $$ delete from public.memberships where user_id = tests.user_id('viewer@acme.test') returning 1 $$,
  'operator cannot remove another member');
reset role;

-- ---------------------------------------------------------------------------
-- Acme admin administers members
-- ---------------------------------------------------------------------------
select tests.authenticate_as('admin@acme.test');
select lives_ok(
  $$ update public.memberships set role = 'admin' where user_id = tests.user_id('manager@acme.test') $$,
  'admin may change a member''s role');
select lives_ok(
  $$ delete from public.memberships where user_id = tests.user_id('operator@acme.test') $$,
  'admin may remove another member');
select lives_ok(
  $$ update public.memberships set role = 'campaign_manager'
     where user_id = tests.user_id('admin@acme.test') $$,
  'an admin may step down while another admin remains');
select is((select admin_count from public.organizations where slug = 'acme'), 1,
  'admin_count followed the promotion and the step-down');
reset role;

-- ---------------------------------------------------------------------------
-- Acme viewer: reads, edits only their own profile, may leave
-- ---------------------------------------------------------------------------
select tests.authenticate_as('viewer@acme.test');
select results_eq($$ select slug from public.organizations $$, array['acme'],
  'viewer sees only their organization');
select is_empty($$ update public.organizations set name = 'Hijacked' returning 1 $$,
  'viewer cannot rename the organization');
select throws_ok(
  $$ insert into public.memberships (org_id, user_id, role)
     values (tests.org_id('acme'), tests.user_id('viewer@globex.test'), 'admin') $$,
  '42501', null, 'viewer cannot add members');
select is_empty(
  $$ update public.memberships set role = 'admin' where user_id = tests.user_id('viewer@acme.test')
     returning 1 $$,
  'viewer cannot promote themselves');
select lives_ok($$ update public.profiles set full_name = 'Victoria Viewer'
  where id = tests.user_id('viewer@acme.test') $$, 'a user may edit their own profile');
select is_empty(
  $$ update public.profiles set full_name = 'Renamed' where id = tests.user_id('admin@acme.test')
     returning 1 $$,
  'a user cannot edit another member''s profile');
select throws_ok($$ update public.profiles set email = 'x@y.test' where id = tests.user_id('viewer@acme.test') $$,
  '42501', null, 'email is not editable through the API');
select lives_ok(
  $$ delete from public.memberships where user_id = tests.user_id('viewer@acme.test') $$,
  'a member may leave an organization');
select is_empty($$ select 1 from public.organizations $$,
  'after leaving, the organization is no longer visible');
reset role;

-- ---------------------------------------------------------------------------
-- Globex admin: nothing of Acme leaks
-- ---------------------------------------------------------------------------
select tests.authenticate_as('admin@globex.test');
select results_eq($$ select slug from public.organizations $$, array['globex'],
  'Globex admin sees only Globex');
select is((select count(*)::int from public.memberships where org_id = tests.org_id('acme')), 0,
  'Globex admin sees no Acme memberships');
select is((select count(*)::int from public.profiles where email like '%@acme.test'), 0,
  'Globex admin sees no Acme profiles');
select is_empty($$ delete from public.memberships where org_id = tests.org_id('acme') returning 1 $$,
  'Globex admin cannot remove Acme members');
reset role;

-- ---------------------------------------------------------------------------
-- create_organization
-- ---------------------------------------------------------------------------
select tests.authenticate_as('operator@acme.test');
select is((select slug from public.create_organization('Initech', ' Initech ')), 'initech',
  'any user may create an organization (slug normalised)');
select is(
  (select role::text from public.memberships where org_id = tests.org_id('initech')
     and user_id = tests.user_id('operator@acme.test')),
  'admin', 'its creator becomes its admin');
select throws_ok($$ select public.create_organization('Again', 'initech') $$, '23505',
  'an organization with slug "initech" already exists', 'slugs are unique, with a clear message');
select throws_ok($$ select public.create_organization('Bad', 'Not A Slug!') $$, '23514', null,
  'a malformed slug is refused');
reset role;

-- ---------------------------------------------------------------------------
-- anon: nothing
-- ---------------------------------------------------------------------------
set local role anon;
select throws_ok($$ select * from public.organizations $$, '42501', null,
  'anon cannot read organizations');
select throws_ok($$ select * from public.memberships $$, '42501', null,
  'anon cannot read memberships');
select throws_ok($$ select * from public.profiles $$, '42501', null,
  'anon cannot read profiles');
select throws_ok($$ select public.create_organization('Anon', 'anon-org') $$, '42501', null,
  'anon cannot create organizations');
reset role;

-- ---------------------------------------------------------------------------
-- service_role: the platform's own key sees across organizations
-- ---------------------------------------------------------------------------
set local role service_role;
select ok((select count(*) from public.organizations where slug in ('acme', 'globex')) = 2,
  'service_role reads every organization');
select ok((select count(distinct org_id) from public.memberships
           where org_id in (tests.org_id('acme'), tests.org_id('globex'))) = 2,
  'service_role reads the memberships of every organization');
select ok((select count(*) from public.profiles) >= 8, 'service_role reads every profile');
reset role;

select * from finish();
rollback;
