-- Invitations: the only way into an organization, with the invitee's consent.
begin;
set search_path to public, extensions;
select plan(27);

\ir _helpers.sql

-- People with accounts and no organization yet (confirmed emails, as Auth records them).
insert into auth.users (id, email, email_confirmed_at) values
  ('d0000000-0000-4000-8000-000000000001', 'newbie@example.test', now()),
  ('d0000000-0000-4000-8000-000000000002', 'late@example.test', now()),
  ('d0000000-0000-4000-8000-000000000003', 'alt@example.test', now()),
  ('d0000000-0000-4000-8000-000000000004', 'pending@example.test', null);
insert into public.invitations (org_id, email, role, invited_by, expires_at)
values (tests.org_id('acme'), 'late@example.test', 'viewer', tests.user_id('admin@acme.test'),
        now() - interval '1 day');

-- ---------------------------------------------------------------------------
-- Acme admin invites
-- ---------------------------------------------------------------------------
select tests.authenticate_as('admin@acme.test');
select lives_ok(
  $$ insert into tests.ids select 'newbie', id
     from public.invite_member(tests.org_id('acme'), '  NewBie@Example.test ', 'operator') $$,
  'an admin may invite an email address');
select is((select email from public.invitations where id = (select id from tests.ids where name = 'newbie')),
  'newbie@example.test', 'the address is stored trimmed and lowercased');
select lives_ok(
  $$ select public.invite_member(tests.org_id('acme'), 'newbie@example.test', 'campaign_manager') $$,
  'inviting again renews the open invitation');
select results_eq(
  $$ select role::text from public.invitations
     where org_id = tests.org_id('acme') and email = 'newbie@example.test' $$,
  array['campaign_manager'], 'one open invitation per address, with the latest role');
select throws_ok(
  $$ select public.invite_member(tests.org_id('acme'), 'viewer@acme.test', 'admin') $$,
  '23505', 'viewer@acme.test is already a member of this organization',
  'members are not invited again');
select throws_ok(
  $$ insert into public.invitations (org_id, email, role)
     values (tests.org_id('acme'), 'direct@example.test', 'admin') $$,
  '42501', null, 'invitations are created only through invite_member');
select lives_ok(
  $$ insert into tests.ids select 'pending', id
     from public.invite_member(tests.org_id('acme'), 'pending@example.test', 'viewer') $$,
  'an address whose owner has not confirmed it can be invited');
reset role;

-- ---------------------------------------------------------------------------
-- Others may not invite, nor accept someone else's invitation
-- ---------------------------------------------------------------------------
select tests.authenticate_as('manager@acme.test');
select throws_ok(
  $$ select public.invite_member(tests.org_id('acme'), 'friend@example.test', 'viewer') $$,
  '42501', null, 'a campaign manager cannot invite');
select is_empty($$ select 1 from public.invitations $$,
  'a campaign manager does not see the organization''s invitations');
reset role;
select tests.authenticate_as('admin@globex.test');
select throws_ok(
  $$ select public.invite_member(tests.org_id('acme'), 'friend@example.test', 'viewer') $$,
  '42501', null, 'an admin of another organization cannot invite into Acme');
select throws_ok(
  $$ select public.accept_invitation((select id from tests.ids where name = 'newbie')) $$,
  'PT404', null, 'someone else''s invitation reads as missing (PostgREST answers 404)');
reset role;
-- A token claiming the invitee's email does not make its bearer the invitee.
select set_config('request.jwt.claims', json_build_object('sub', tests.user_id('viewer@globex.test'),
  'role', 'authenticated', 'email', 'newbie@example.test')::text, true);
set local role authenticated;
select throws_ok(
  $$ select public.accept_invitation((select id from tests.ids where name = 'newbie')) $$,
  'PT404', null, 'the email claim of a token is not trusted: the confirmed email decides');
reset role;
select tests.authenticate_as('pending@example.test');
select throws_ok(
  $$ select public.accept_invitation((select id from tests.ids where name = 'pending')) $$,
  'PT404', null, 'an unconfirmed email cannot accept');
reset role;

-- ---------------------------------------------------------------------------
-- The invitee accepts
-- ---------------------------------------------------------------------------
select tests.authenticate_as('newbie@example.test');
select is((select count(*)::int from public.invitations), 1, 'the invitee sees their invitation');
select is_empty($$ select 1 from public.organizations $$, 'before accepting, nothing of Acme');
select is(
  (select role::text from public.accept_invitation((select id from tests.ids where name = 'newbie'))),
  'campaign_manager', 'accepting makes the invitee a member with the invited role');
select results_eq($$ select slug from public.organizations $$, array['acme'],
  'the new member sees the organization');
select throws_ok(
  $$ select public.accept_invitation((select id from tests.ids where name = 'newbie')) $$,
  '23505', null, 'an invitation is accepted once');
reset role;

select tests.authenticate_as('late@example.test');
select throws_ok(
  $$ select public.accept_invitation(id) from public.invitations where email = 'late@example.test' $$,
  '22023', null, 'an expired invitation is refused');
reset role;

-- ---------------------------------------------------------------------------
-- A former admin's invitations die with their admin role
-- ---------------------------------------------------------------------------
update public.memberships set role = 'admin' where user_id = tests.user_id('manager@acme.test');
select tests.authenticate_as('manager@acme.test');
select lives_ok(
  $$ insert into tests.ids select 'alt', id
     from public.invite_member(tests.org_id('acme'), 'alt@example.test', 'admin') $$,
  'a second admin invites someone as admin');
reset role;
select tests.authenticate_as('admin@acme.test');
select lives_ok(
  $$ update public.memberships set role = 'viewer' where user_id = tests.user_id('manager@acme.test') $$,
  'the first admin demotes the second');
select is_empty($$ select 1 from public.invitations where email = 'alt@example.test' $$,
  'the demoted admin''s open invitations are gone');
reset role;
select tests.authenticate_as('alt@example.test');
select throws_ok(
  $$ select public.accept_invitation((select id from tests.ids where name = 'alt')) $$,
  'PT404', null, 'so nobody gets in through them');
reset role;

-- ---------------------------------------------------------------------------
-- Revoking; deleting accounts
-- ---------------------------------------------------------------------------
select tests.authenticate_as('viewer@acme.test');
select is_empty($$ delete from public.invitations returning 1 $$, 'a viewer cannot revoke invitations');
reset role;
select tests.authenticate_as('admin@acme.test');
select results_eq(
  $$ delete from public.invitations where email = 'late@example.test' returning email $$,
  array['late@example.test'], 'an admin may revoke an invitation');
reset role;
select lives_ok($$ delete from auth.users where email = 'newbie@example.test' $$,
  'the account of someone who accepted an invitation can still be deleted');

set local role anon;
select throws_ok(
  $$ select public.invite_member('a0000000-0000-4000-8000-000000000000', 'anon@example.test', 'admin') $$,
  '42501', null, 'anon cannot invite');
reset role;

select * from finish();
rollback;
