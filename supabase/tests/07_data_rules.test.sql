-- =============================================================================
-- The rules the database keeps whoever writes: the audit log and the consent ledger
-- are append-only; a recipient's opt-out is lifted only by their opt-in; suppressed
-- numbers are flagged on leads; operators edit only notes, status and tags; replies
-- fill themselves in; references never cross organizations; message status moves
-- forward; started campaigns keep their content.
-- =============================================================================
begin;
set search_path to public, extensions;
select plan(63);
\ir _helpers.sql

-- ---------------------------------------------------------------------------
-- Audit log: written by triggers, append-only for everyone
-- ---------------------------------------------------------------------------
select tests.authenticate_as('manager@acme.test');
update public.leads set status = 'interested', notes = 'Wants a 3-bed'
where id = 'a2000000-0000-4000-8000-000000000001';
reset role;

select results_eq(
  $$select actor_id, actor_role, action, before, after from public.audit_log
    where table_name = 'leads' and row_id = 'a2000000-0000-4000-8000-000000000001'
      and action = 'update' order by id desc limit 1$$,
  $$values ('a0000000-0000-4000-8000-000000000002'::uuid, 'authenticated', 'update',
            '{"notes": null, "status": "new"}'::jsonb,
            '{"notes": "Wants a 3-bed", "status": "interested"}'::jsonb)$$,
  'an update is audited with who did it and only the changed columns before and after');

select tests.authenticate_as('admin@acme.test');
insert into public.templates (org_id, name) values (tests.org_id('acme'), 'Audit me');
delete from public.templates where name = 'Audit me';
reset role;
select results_eq(
  $$select action, (coalesce(after, before) ->> 'name') from public.audit_log
    where table_name = 'templates' and coalesce(after, before) ->> 'name' = 'Audit me'
    order by id$$,
  $$values ('insert', 'Audit me'), ('delete', 'Audit me')$$,
  'inserts and deletes are audited with the whole row');

select tests.authenticate_as('admin@acme.test');
select isnt_empty($$select 1 from public.audit_log where table_name = 'memberships'$$,
  'an admin reads the organization''s audit log, memberships included');
select throws_ok($$update public.audit_log set after = null$$, '42501', null,
  'an admin cannot update the audit log');
select throws_ok($$delete from public.audit_log$$, '42501', null,
  'an admin cannot delete from the audit log');
reset role;
select throws_ok($$update public.audit_log set after = null$$, '42501',
  'the audit log is append-only: update is not allowed',
  'not even the owner can update the audit log');
select throws_ok($$delete from public.audit_log$$, '42501',
  'the audit log is append-only: delete is not allowed',
  'not even the owner can delete from the audit log');
select throws_ok($$truncate public.audit_log$$, '42501',
  'the audit log is append-only: truncate is not allowed',
  'not even the owner can truncate the audit log');
set local role service_role;
select throws_ok($$delete from public.audit_log$$, '42501', null,
  'service_role cannot delete from the audit log');
reset role;
select is(
  array(select distinct table_name from public.audit_log order by 1),
  '{campaigns,leads,memberships,organizations,phone_numbers,suppressions,template_variants,templates}',
  'the seed left a trail in every audited table');

-- ---------------------------------------------------------------------------
-- Suppressions: flagged on leads; recipient_stop lifted only by the recipient
-- ---------------------------------------------------------------------------
select is((select suppressed from public.leads where id = 'a2000000-0000-4000-8000-000000000004'),
  true, 'a lead whose number has a recipient_stop is flagged');

select tests.authenticate_as('manager@acme.test');
insert into public.leads (org_id, phone) values (tests.org_id('acme'), '202-555-0199');
select is((select suppressed from public.leads where phone = '+12025550199'), true,
  'a lead inserted with an already suppressed number (DNC) is marked on insert');
reset role;

select tests.authenticate_as('operator@acme.test');
insert into public.suppressions (org_id, phone, source, reason)
values (tests.org_id('acme'), '(212) 555-0102', 'manual', 'Asked us to stop on a call');
select is((select suppressed from public.leads where id = 'a2000000-0000-4000-8000-000000000002'),
  true, 'a new suppression flags the existing lead at once');
select throws_ok(
  $$insert into public.suppressions (org_id, phone, source) values (tests.org_id('acme'), '(212) 555-0102', 'manual')$$,
  '23505', null, 'one active suppression per number and source');
select throws_ok(
  $$insert into public.suppressions (org_id, phone, source) values (tests.org_id('acme'), '(415) 555-0101', 'recipient_stop')$$,
  '42501', null, 'members cannot forge a recipient''s opt-out');
reset role;

select tests.authenticate_as('admin@acme.test');
select throws_ok(
  $$select public.lift_suppression('a3000000-0000-4000-8000-000000000001', 'Customer asked by email')$$,
  'PT404', null, 'an admin cannot lift a recipient_stop through the RPC');
select is_empty(
  $$update public.suppressions set lifted_at = now(), lift_reason = 'Customer asked'
    where id = 'a3000000-0000-4000-8000-000000000001' returning id$$,
  'nor by updating it');
select throws_ok(
  $$delete from public.suppressions where id = 'a3000000-0000-4000-8000-000000000001'$$,
  '42501', null, 'nor by deleting it');
select throws_ok(
  $$select public.lift_suppression('a3000000-0000-4000-8000-000000000002', ' ')$$,
  '22023', 'suppressions.lift_reason: say why the suppression is lifted',
  'lifting a manual suppression needs a reason');
select is(
  (public.lift_suppression('a3000000-0000-4000-8000-000000000002', 'Opted back in on a call')).lift_reason,
  'Opted back in on a call', 'an admin lifts a manual suppression with a reason');
select is((select suppressed from public.leads where id = 'a2000000-0000-4000-8000-000000000005'),
  false, 'lifting it unflags the lead');
select is((select lifted_by from public.suppressions where id = 'a3000000-0000-4000-8000-000000000002'),
  tests.user_id('admin@acme.test'), 'who lifted it is recorded');
select throws_ok(
  $$update public.suppressions set lifted_at = null where id = 'a3000000-0000-4000-8000-000000000002'$$,
  '42501', null, 'a lifted suppression cannot be un-lifted or lifted again');
reset role;
select results_eq(
  $$select action, after ->> 'lift_reason' from public.audit_log
    where table_name = 'suppressions' and row_id = 'a3000000-0000-4000-8000-000000000002'
      and action = 'update'$$,
  $$values ('update', 'Opted back in on a call')$$,
  'the lift is audited');

select throws_ok(
  $$delete from public.suppressions where id = 'a3000000-0000-4000-8000-000000000001'$$,
  '42501', 'suppressions are lifted, never deleted', 'not even the owner deletes a suppression');
set local role service_role;
select throws_ok(
  $$update public.suppressions set lifted_at = now(), lift_reason = 'service key'
    where id = 'a3000000-0000-4000-8000-000000000001'$$,
  '42501', 'an opt-out by the recipient can only be lifted by the recipient''s opt-in',
  'service_role cannot lift a recipient_stop either');
reset role;
-- The opt-in path (system work, here the owner as the webhook's functions will be).
update public.suppressions set lifted_at = now(), lift_reason = 'Recipient texted START'
where id = 'a3000000-0000-4000-8000-000000000001';
select is((select suppressed from public.leads where id = 'a2000000-0000-4000-8000-000000000004'),
  false, 'the system lifts a recipient_stop on the recipient''s opt-in, and the lead is unflagged');

-- ---------------------------------------------------------------------------
-- Consent ledger: captured with leads, append-only
-- ---------------------------------------------------------------------------
select results_eq(
  $$select kind::text, channel::text, source from public.consent_events
    where lead_id = 'a2000000-0000-4000-8000-000000000001'$$,
  $$values ('captured', 'manual', 'https://acme.test/open-house')$$,
  'a lead inserted with consent gets a captured entry in the ledger');
select tests.authenticate_as('admin@acme.test');
select throws_ok($$update public.consent_events set raw_text = 'x'$$, '42501', null,
  'an admin cannot edit the consent ledger');
reset role;
select throws_ok($$delete from public.consent_events$$, '42501',
  'the consent ledger is append-only: delete is not allowed',
  'not even the owner deletes from the consent ledger');
delete from public.leads where id = 'a2000000-0000-4000-8000-000000000001';
select results_eq(
  $$select lead_id, phone from public.consent_events where phone = '+14155550101'
    and org_id = 'a0000000-0000-4000-8000-000000000000'$$,
  $$values (null::uuid, '+14155550101')$$,
  'deleting a lead keeps its consent history, by number');

-- ---------------------------------------------------------------------------
-- Leads: normalisation and derived columns
-- ---------------------------------------------------------------------------
select tests.authenticate_as('manager@acme.test');
insert into public.leads (org_id, phone, first_name, email, state, zip, tags)
values (tests.org_id('acme'), '(602) 555-0150', '  Pat ', ' pat@example.com ', 'arizona',
        '850011234', '{" Buyer", "HOT", "hot", "", null}');
select results_eq(
  $$select first_name, email, state, zip, tags from public.leads where phone = '+16025550150'$$,
  $$values ('Pat', 'pat@example.com', 'AZ', '85001-1234', '{buyer,hot}'::text[])$$,
  'names and emails are trimmed, state names become codes, ZIP+4 gets its dash, tags are tidied');
select results_eq(
  $$select time_zone, zip_time_zone, phone_time_zone from public.leads where phone = '+16025550150'$$,
  $$values ('America/Phoenix', 'America/Phoenix', 'America/Phoenix')$$,
  'time zones come from ZIP and area code');
insert into public.leads (org_id, phone, zip) values (tests.org_id('acme'), '(212) 555-0151', '94105');
select results_eq(
  $$select time_zone, zip_time_zone, phone_time_zone from public.leads where phone = '+12125550151'$$,
  $$values ('America/Los_Angeles', 'America/Los_Angeles', 'America/New_York')$$,
  'when ZIP and area code disagree both zones are kept, the ZIP''s first');
insert into public.leads (org_id, phone) values (tests.org_id('acme'), '(212) 555-0152');
select results_eq(
  $$select time_zone, zip_time_zone from public.leads where phone = '+12125550152'$$,
  $$values ('America/New_York', null::text)$$,
  'without a ZIP the area code''s zone is used');
select throws_ok(
  $$insert into public.leads (org_id, phone, state) values (tests.org_id('acme'), '(212) 555-0153', 'Cascadia')$$,
  '22023', 'leads.state: "Cascadia" is not a US state, territory or military code',
  'an unknown state is refused naming leads.state');
select throws_ok(
  $$insert into public.leads (org_id, phone, zip) values (tests.org_id('acme'), '(212) 555-0153', '1234')$$,
  '22023', 'leads.zip: "1234" is not a ZIP code', 'a bad ZIP is refused naming leads.zip');
select throws_ok(
  $$insert into public.leads (org_id, phone, email) values (tests.org_id('acme'), '(212) 555-0153', 'pat@')$$,
  '22023', 'leads.email: "pat@" is not an email address', 'a bad email is refused naming leads.email');
select throws_ok(
  $$insert into public.leads (org_id, phone, custom_fields) values (tests.org_id('acme'), '(212) 555-0153', '[1]')$$,
  '23514', null, 'custom fields must be a JSON object');
reset role;

-- ---------------------------------------------------------------------------
-- Operators: notes, status and tags only
-- ---------------------------------------------------------------------------
select tests.authenticate_as('operator@acme.test');
update public.leads set status = 'interested', tags = '{buyer,warm}', notes = 'Call Tuesday'
where id = 'a2000000-0000-4000-8000-000000000003';
select results_eq(
  $$select status::text, tags, notes from public.leads where id = 'a2000000-0000-4000-8000-000000000003'$$,
  $$values ('interested', '{buyer,warm}'::text[], 'Call Tuesday')$$,
  'an operator updates status, tags and notes');
select throws_ok(
  $$update public.leads set first_name = 'Carly' where id = 'a2000000-0000-4000-8000-000000000003'$$,
  '42501', 'operators may change only notes, status and tags of a lead, not first_name',
  'an operator cannot change a lead''s name');
select throws_ok(
  $$update public.leads set phone = '(602) 555-0199' where id = 'a2000000-0000-4000-8000-000000000003'$$,
  '42501', null, 'nor its phone');
select throws_ok(
  $$update public.leads set suppressed = false where id = 'a2000000-0000-4000-8000-000000000004'$$,
  '42501', null, 'nobody sets the suppression flag by hand');
reset role;

-- ---------------------------------------------------------------------------
-- Replies, conversations, message status
-- ---------------------------------------------------------------------------
select tests.authenticate_as('operator@acme.test');
insert into public.messages (org_id, conversation_id, body)
values (tests.org_id('acme'), 'a7000000-0000-4000-8000-000000000001', '  Saturday 1-4pm!  ');
select results_eq(
  $$select direction::text, status::text, from_phone, to_phone, body, sent_by
    from public.messages where body = 'Saturday 1-4pm!'$$,
  $$values ('outbound', 'queued', '+14155550100', '+16025550103', 'Saturday 1-4pm!',
            tests.user_id('operator@acme.test'))$$,
  'a reply is completed from its conversation');
reset role;
insert into public.conversations (org_id, lead_id, phone_number_id)
values (tests.org_id('acme'), 'a2000000-0000-4000-8000-000000000004', 'a1000000-0000-4000-8000-000000000001');
insert into public.suppressions (org_id, phone, source) values (tests.org_id('acme'), '+13055550104', 'recipient_stop');
select tests.authenticate_as('operator@acme.test');
select throws_ok(
  format($$insert into public.messages (org_id, conversation_id, body) values (%L, %L, 'Still there?')$$,
    tests.org_id('acme'),
    (select id from public.conversations where lead_id = 'a2000000-0000-4000-8000-000000000004')),
  'PT409', 'this recipient opted out or is suppressed: no message can be sent',
  'a reply to a number that opted out is refused');
select throws_ok(
  $$update public.conversations set unread_count = 5 where id = 'a7000000-0000-4000-8000-000000000001'$$,
  '42501', null, 'members cannot invent unread messages');
update public.conversations set unread_count = 0, assignee_id = tests.user_id('operator@acme.test')
where id = 'a7000000-0000-4000-8000-000000000001';
select results_eq(
  $$select unread_count, assignee_id from public.conversations where id = 'a7000000-0000-4000-8000-000000000001'$$,
  $$values (0, tests.user_id('operator@acme.test'))$$,
  'a member marks a thread read and takes it');
select throws_ok(
  $$update public.conversations set assignee_id = tests.user_id('operator@globex.test') where id = 'a7000000-0000-4000-8000-000000000001'$$,
  '23503', null, 'a thread can only be assigned to a member of its organization');
reset role;

update public.messages set status = 'sent' where body = 'Saturday 1-4pm!';
update public.messages set status = 'delivered' where body = 'Saturday 1-4pm!';
select throws_ok(
  $$update public.messages set status = 'sent' where body = 'Saturday 1-4pm!'$$,
  '23514', null, 'a late "sent" never overwrites "delivered"');
select results_eq(
  $$select sent_at is not null, delivered_at is not null from public.messages where body = 'Saturday 1-4pm!'$$,
  $$values (true, true)$$, 'each status records when it was reached');

-- ---------------------------------------------------------------------------
-- No reference crosses organizations; started campaigns keep their content
-- ---------------------------------------------------------------------------
select tests.authenticate_as('manager@acme.test');
select throws_ok(
  $$insert into public.campaigns (org_id, name, template_id) values (tests.org_id('acme'), 'Stolen', 'b4000000-0000-4000-8000-000000000001')$$,
  '23503', null, 'a campaign cannot use another organization''s template');
select throws_ok(
  $$update public.leads set phone_number_id = 'b1000000-0000-4000-8000-000000000001' where id = 'a2000000-0000-4000-8000-000000000003'$$,
  '23503', null, 'a lead cannot stick to another organization''s number');
select throws_ok(
  $$update public.campaigns set status = 'running' where id = 'a6000000-0000-4000-8000-000000000001'$$,
  '42501', null, 'campaign status is not updated directly');
reset role;
update public.campaigns set status = 'running' where id = 'a6000000-0000-4000-8000-000000000001';
select tests.authenticate_as('manager@acme.test');
select throws_ok(
  $$update public.campaigns set audience = '{"tags": ["seller"]}' where id = 'a6000000-0000-4000-8000-000000000001'$$,
  'PT409', null, 'a running campaign''s audience is fixed');
select throws_ok(
  $$delete from public.campaigns where id = 'a6000000-0000-4000-8000-000000000001'$$,
  'PT409', 'campaign "Saturday open house" is running: cancel it before deleting it',
  'a running campaign cannot be deleted');

-- ---------------------------------------------------------------------------
-- Server key and cascades: the rules hold without getting in the way
-- ---------------------------------------------------------------------------
set local role service_role;
update public.leads set notes = 'Updated with the server key'
where id = 'a2000000-0000-4000-8000-000000000003';
select is((select notes from public.leads where id = 'a2000000-0000-4000-8000-000000000003'),
  'Updated with the server key', 'service_role updates leads (the operator guard is for users)');
update public.leads set suppressed = false where id = 'a2000000-0000-4000-8000-000000000004';
select is((select suppressed from public.leads where id = 'a2000000-0000-4000-8000-000000000004'),
  true, 'even with a grant, the suppression flag cannot be cleared while the suppression stands');
update public.suppressions set lift_reason = 'pre-filled' where id = 'a3000000-0000-4000-8000-000000000003';
select is((select lift_reason from public.suppressions where id = 'a3000000-0000-4000-8000-000000000003'),
  null, 'a lift reason is only written together with the lift');
reset role;

-- One user in two organizations: an update of both memberships audits each in its own org.
insert into public.memberships (org_id, user_id, role)
values (tests.org_id('globex'), tests.user_id('operator@acme.test'), 'operator');
update public.memberships set role = 'viewer' where user_id = tests.user_id('operator@acme.test');
select results_eq(
  $$select org_id, before ->> 'role', after ->> 'role', after ? 'org_id' from public.audit_log
    where table_name = 'memberships' and action = 'update' and transaction_id = txid_current()
    order by org_id$$,
  $$values ('a0000000-0000-4000-8000-000000000000'::uuid, 'operator', 'viewer', false),
           ('b0000000-0000-4000-8000-000000000000'::uuid, 'operator', 'viewer', false)$$,
  'a user''s memberships in two organizations are audited apart, one row each');

-- A member who recorded consent and suppressions can still delete their account.
select tests.authenticate_as('manager@acme.test');
insert into public.consent_events (org_id, phone, kind, channel, raw_text)
values (tests.org_id('acme'), '+16025550103', 'captured', 'phone_call', 'Yes, text me');
insert into public.suppressions (org_id, phone, source) values (tests.org_id('acme'), '+16025550177', 'manual');
reset role;
select lives_ok($$delete from auth.users where email = 'manager@acme.test'$$,
  'deleting a user keeps the ledger and suppressions they recorded');
select results_eq(
  $$select (select count(*) from public.consent_events where raw_text = 'Yes, text me' and recorded_by is null),
           (select count(*) from public.suppressions where phone = '+16025550177' and created_by is null)$$,
  $$values (1::bigint, 1::bigint)$$,
  'their entries stay, without the deleted user''s id');

-- Deleting an organization takes everything of it (the audit trail stays).
select lives_ok($$delete from public.organizations where slug = 'acme'$$,
  'an organization with conversations, campaigns and suppressions can be deleted');
select results_eq(
  $$select (select count(*) from public.leads where org_id = 'a0000000-0000-4000-8000-000000000000'),
           (select count(*) from public.messages where org_id = 'a0000000-0000-4000-8000-000000000000'),
           (select count(*) > 0 from public.audit_log where org_id = 'a0000000-0000-4000-8000-000000000000')$$,
  $$values (0::bigint, 0::bigint, true)$$,
  'its rows are gone, its audit trail is kept');

select * from finish();
rollback;
