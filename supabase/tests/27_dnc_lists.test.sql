-- =============================================================================
-- Do-not-call lists (20261127100000_dnc_lists): public.load_dnc_list loads a list as
-- suppressions that name it, re-scrubs the organization (leads flagged, pending targets
-- skipped) and says what it did; a list with an entry that is not a number loads nothing;
-- only admins and campaign managers load one, members read their organization's lists, the
-- lists are never changed, and a number on a list is never texted, whenever its lead comes.
-- =============================================================================
begin;
set search_path to public, extensions;
select plan(21);
\ir _helpers.sql

\ir _sender_helpers.sql

select tests.org('dnc') as dnc_org \gset
select tests.number('dnc:415', 'dnc', '+14155680100');
select tests.lead('dnc:listed', 'dnc', '+14155580101');
select tests.lead('dnc:also', 'dnc', '+14155580102');
select tests.lead('dnc:free', 'dnc', '+14155580103');
select tests.campaign('dnc:c', 'dnc');
select tests.target('dnc:listed', 'dnc:c', 'dnc:listed');
select tests.target('dnc:also', 'dnc:c', 'dnc:also');
select tests.target('dnc:free', 'dnc:c', 'dnc:free');
-- One number is suppressed already (the recipient said STOP long ago).
insert into public.suppressions (org_id, phone, source, reason)
values (:'dnc_org'::uuid, '+14155580102', 'manual', 'asked on the phone');
-- A campaign manager and a viewer of the organization, and a member of another.
insert into public.memberships (org_id, user_id, role)
select :'dnc_org'::uuid, u.id, r.role::public.member_role
from (values ('manager@acme.test', 'campaign_manager'), ('viewer@acme.test', 'viewer'),
    ('admin@acme.test', 'admin'))
  r (email, role)
join auth.users u on u.email = r.email;

create temporary table loaded (result jsonb);
grant all on loaded to authenticated;

-- Who may load.
select tests.authenticate_as('viewer@acme.test');
select throws_ok(format($$select public.load_dnc_list(%L, 'Registry', 'national_registry',
    array['+14155580101'])$$, :'dnc_org'::uuid),
  '42501', null, 'a viewer cannot load a do-not-call list');
reset role;
select tests.authenticate_as('admin@globex.test');
select throws_ok(format($$select public.load_dnc_list(%L, 'Registry', 'national_registry',
    array['+14155580101'])$$, :'dnc_org'::uuid),
  '42501', null, 'nor a member of another organization');
reset role;

-- A list with entries that are not numbers loads nothing, and says which.
select tests.authenticate_as('manager@acme.test');
select throws_like(format($$select public.load_dnc_list(%L, 'Registry', 'national_registry',
    array['+14155580101', 'call me maybe', '(415) 555-0199', ''])$$, :'dnc_org'::uuid),
  'phones: 2 entries are not phone numbers, nothing was loaded',
  'a list with two entries that are not numbers is refused');
reset role;
select is((select count(*) from public.dnc_lists where org_id = :'dnc_org'::uuid), 0::bigint,
  'and nothing of it is kept');
select is((select count(*) from public.suppressions where org_id = :'dnc_org'::uuid
  and source = 'dnc'), 0::bigint, 'no suppression either');
select tests.authenticate_as('manager@acme.test');
select throws_ok(format($$select public.load_dnc_list(%L, ' ', 'internal', array['+14155580101'])$$,
    :'dnc_org'::uuid), '22023', null, 'a list needs a name');
select throws_ok(format($$select public.load_dnc_list(%L, 'Empty', 'internal', '{}')$$,
    :'dnc_org'::uuid), '22023', null, 'and numbers');

-- The load: formats normalised, duplicates once, the organization re-scrubbed.
insert into loaded select public.load_dnc_list(:'dnc_org'::uuid, 'Litigators 2026-11',
  'litigator', array['(415) 558-0101', '+14155580101', '415.558.0102', '+14155580199'],
  'vendor file litigators-2026-11.csv');
reset role;
select is((select result - 'id' from loaded),
  '{"name": "Litigators 2026-11", "kind": "litigator", "numbers": 3, "added": 3,
    "already_suppressed": 0, "leads_flagged": 1, "targets_skipped": 2}'::jsonb,
  'three numbers, three suppressions added, one lead newly flagged, two pending targets skipped');
select ok((select d.loaded_by = (select id from auth.users where email = 'manager@acme.test')
    and d.source = 'vendor file litigators-2026-11.csv' and d.numbers = 3
  from public.dnc_lists d where d.id = (select (result ->> 'id')::uuid from loaded)),
  'the list keeps who loaded it, from where, and what it did');
select is((select array_agg(s.phone order by s.phone) from public.suppressions s
  where s.dnc_list_id = (select (result ->> 'id')::uuid from loaded)),
  '{+14155580101,+14155580102,+14155580199}'::text[],
  'each number is a dnc suppression naming the list');
select ok((select l.suppressed from public.leads l where l.id = tests.id('dnc:listed')),
  'the listed lead is flagged');
select is((tests.target_row('dnc:listed')).status || ': ' || (tests.target_row('dnc:listed')).status_reason,
  'skipped: suppressed: on the do-not-call list "Litigators 2026-11"',
  'its pending target is skipped, naming the list');
select is((tests.target_row('dnc:free')).status, 'pending', 'a target not on the list waits');

-- The same number on a second list: it keeps the first.
select tests.authenticate_as('admin@acme.test');
select is(public.load_dnc_list(:'dnc_org'::uuid, 'Internal', 'internal',
    array['+14155580101', '+14155580103']) - 'id' - 'name' - 'kind',
  '{"numbers": 2, "added": 1, "already_suppressed": 1, "leads_flagged": 1,
    "targets_skipped": 1}'::jsonb,
  'a second list adds only the number not on a list yet');
reset role;

-- Never texted: a lead that comes later with a listed number is flagged as it is written,
-- and the claim skips its target.
select tests.lead('dnc:later', 'dnc', '+14155580199');
select ok((select l.suppressed from public.leads l where l.id = tests.id('dnc:later')),
  'a lead added later with a listed number is flagged as it is written');
select tests.target('dnc:later', 'dnc:c', 'dnc:later');
select tests.as_system();
create temporary table claimed as
  select c.* from private.claim_targets(10, '30 seconds', '2026-11-24 18:00:00+00') c;
reset role;
select is((select count(*) from claimed c join public.campaign_targets t on t.id = c.target_id
  where t.org_id = :'dnc_org'::uuid), 0::bigint, 'the claim sends to no number on a list');
select is((tests.target_row('dnc:later')).status, 'skipped', 'it skips the later lead''s target');

-- Read by members of the organization only; never changed.
select tests.authenticate_as('viewer@acme.test');
select is((select count(*) from public.dnc_lists where org_id = :'dnc_org'::uuid), 2::bigint,
  'a member reads the organization''s lists');
reset role;
select tests.authenticate_as('admin@globex.test');
select is((select count(*) from public.dnc_lists where org_id = :'dnc_org'::uuid), 0::bigint,
  'another organization''s member reads none');
reset role;
select throws_ok(format($$update public.dnc_lists set name = 'x' where id = %L$$,
    (select (result ->> 'id')::uuid from loaded)),
  '42501', null, 'a loaded list is never changed');
select is((select count(*) from public.audit_log where table_name = 'dnc_lists'
  and org_id = :'dnc_org'::uuid and action = 'insert'), 2::bigint, 'each load is audited');

select * from finish();
rollback;
