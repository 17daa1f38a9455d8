-- =============================================================================
-- Privacy requests (20261127110000_privacy): an admin exports everything held about a
-- number, or erases a lead; nothing of the erased number is left anywhere but a keyed
-- hash, the counts stay, an opt-out outlives the erasure (the number is suppressed again
-- when it comes back), and each request is recorded and audited. Nobody else may do either.
-- =============================================================================
begin;
set search_path to public, extensions;
select plan(30);
\ir _helpers.sql

\ir _sender_helpers.sql

select tests.org('pv') as pv_org \gset
select tests.number('pv:415', 'pv', '+14155690100');
select tests.lead('pv:stop', 'pv', '+14155590101') as stop_lead \gset
select tests.lead('pv:plain', 'pv', '+14155590102');
insert into public.memberships (org_id, user_id, role)
select :'pv_org'::uuid, u.id, r.role::public.member_role
from (values ('admin@acme.test', 'admin'), ('manager@acme.test', 'campaign_manager'))
  r (email, role)
join auth.users u on u.email = r.email;
-- What is held about +14155590101: a message each way, the STOP, its suppression.
select tests.message('pv:stop', 'pv:415', '2026-11-20 18:00:00+00');
insert into public.messages (org_id, direction, lead_id, phone_number_id, from_phone, to_phone,
  body, status, created_at)
values (:'pv_org'::uuid, 'inbound', :'stop_lead'::uuid, tests.id('pv:415'), '+14155590101',
  '+14155690100', 'STOP texting me, Pat here', 'received', '2026-11-20 18:05:00+00');
insert into public.consent_events (org_id, lead_id, phone, kind, channel, raw_text, source)
values (:'pv_org'::uuid, :'stop_lead'::uuid, '+14155590101', 'revoked', 'sms',
  'STOP texting me, Pat here', 'SM' || md5('pv'));
insert into public.suppressions (org_id, phone, source, reason)
values (:'pv_org'::uuid, '+14155590101', 'recipient_stop', 'replied STOP');
select tests.campaign('pv:c', 'pv');
select tests.target('pv:stop', 'pv:c', 'pv:stop');
select tests.done('pv');
select private.fold_metrics();
create temporary table counts_before as
  select sum(sent) as sent, sum(inbound) as inbound from public.metric_rollups
  where org_id = :'pv_org'::uuid and dimension = 'org_hour';

create temporary table answers (name text primary key, answer jsonb);
grant all on answers to authenticated;

-- Who may ask.
select tests.authenticate_as('manager@acme.test');
select throws_ok(format($$select public.export_phone_data('+14155590101', %L)$$, :'pv_org'),
  '42501', null, 'a campaign manager cannot export a person''s data');
select throws_ok(format($$select public.erase_lead(%L)$$, :'stop_lead'::uuid),
  '42501', null, 'nor erase a lead');
reset role;
select tests.authenticate_as('admin@globex.test');
select throws_ok(format($$select public.export_phone_data('+14155590101', %L)$$, :'pv_org'),
  '42501', null, 'an admin of another organization cannot export');
select throws_ok(format($$select public.erase_lead(%L)$$, :'stop_lead'::uuid),
  'P0002', null, 'nor erase, nor learn that the lead exists');
reset role;

-- Export.
select tests.authenticate_as('admin@acme.test');
select throws_ok(format($$select public.export_phone_data('call me', %L)$$, :'pv_org'),
  '22023', null, 'a number that is not one is refused');
insert into answers select 'export', public.export_phone_data('(415) 559-0101', :'pv_org'::uuid);
reset role;
select is((select answer ->> 'phone' from answers where name = 'export'), '+14155590101',
  'the export is of the number in E.164');
select is((select array[jsonb_array_length(answer -> 'leads'),
    jsonb_array_length(answer -> 'messages'), jsonb_array_length(answer -> 'consent_events'),
    jsonb_array_length(answer -> 'suppressions'), jsonb_array_length(answer -> 'campaign_targets')]
  from answers where name = 'export'), array[1, 2, 1, 1, 1],
  'with its lead, both messages, the consent event, the suppression and the campaign target');
select ok((select answer -> 'messages' @> '[{"body": "STOP texting me, Pat here"}]'
    and answer -> 'leads' @> '[{"first_name": "Pat"}]'
  from answers where name = 'export'), 'whole rows: the texts and the lead''s fields');
select ok((select jsonb_array_length(answer -> 'audit_log') >= 2 from answers where name = 'export'),
  'and the audit entries of its lead and suppression');
select is((select kind || ' ' || (summary ->> 'messages') from public.privacy_requests
  where org_id = :'pv_org'::uuid), 'export 2', 'the export is recorded');

-- Erasure.
select tests.authenticate_as('admin@acme.test');
insert into answers select 'erase', public.erase_lead(tests_lead.id, 'asked by email 2026-11-26')
from (select id from public.leads where org_id = :'pv_org'::uuid and phone = '+14155590101')
  tests_lead;
reset role;
select is((select answer - 'lead_id' from answers where name = 'erase'),
  '{"messages": 2, "consent_events": 1, "suppressions": 1, "audit_entries": 5,
    "opt_out_kept": true}'::jsonb,
  'the erasure says what it erased, and that the opt-out is kept');
select is((select count(*) from public.leads where id = :'stop_lead'::uuid), 0::bigint,
  'the lead is gone');
select is((select count(*) from public.campaign_targets where lead_id = :'stop_lead'::uuid),
  0::bigint, 'with its campaign target');
select ok((select count(*) = 2 and bool_and(m.body is null and m.erased_at is not null
    and m.lead_id is null and coalesce(m.to_phone, '') <> '+14155590101'
    and coalesce(m.from_phone, '') <> '+14155590101')
  from public.messages m where m.org_id = :'pv_org'::uuid and m.phone_number_id = tests.id('pv:415')),
  'its messages stay, without their text or its number');
select is((select count(*) from public.consent_events where org_id = :'pv_org'::uuid), 0::bigint,
  'its consent events are gone');
select is((select count(*) from public.suppressions where org_id = :'pv_org'::uuid), 0::bigint,
  'and its suppression');
select ok((select bool_and(coalesce(a.before, '{"erased": true}') = '{"erased": true}'
    and coalesce(a.after, '{"erased": true}') = '{"erased": true}') and count(*) >= 3
  from public.audit_log a
  where a.org_id = :'pv_org'::uuid and a.table_name in ('leads', 'suppressions')
    and a.row_id in (:'stop_lead'::uuid::text)),
  'its audit entries stay, without what the rows held');
select is((select count(*) from (
    select to_jsonb(l)::text as t from public.leads l where l.org_id = :'pv_org'::uuid
    union all select to_jsonb(m)::text from public.messages m where m.org_id = :'pv_org'::uuid
    union all select to_jsonb(a)::text from public.audit_log a where a.org_id = :'pv_org'::uuid
    union all select to_jsonb(r)::text from public.privacy_requests r
      where r.org_id = :'pv_org'::uuid
    union all select to_jsonb(c)::text from public.conversations c
      where c.org_id = :'pv_org'::uuid
  ) x where x.t like '%4155590101%' or x.t like '%STOP texting me%'), 0::bigint,
  'no row of the organization holds the number or the texts any more');
select is((select sent::text || ' ' || inbound::text from counts_before),
  (select sum(sent)::text || ' ' || sum(inbound)::text from public.metric_rollups
   where org_id = :'pv_org'::uuid and dimension = 'org_hour'),
  'the counts are as they were');
select is((select kind || ' ' || reason from public.privacy_requests
  where org_id = :'pv_org'::uuid and kind = 'erase'), 'erase asked by email 2026-11-26',
  'the erasure is recorded, with its reason');
select is((select count(*) from public.audit_log where org_id = :'pv_org'::uuid
  and table_name = 'privacy_requests' and action = 'insert'), 2::bigint,
  'both requests are audited');
select is((select sources from private.erased_opt_outs where org_id = :'pv_org'::uuid),
  '{recipient_stop}'::public.suppression_source[], 'the opt-out is kept as a keyed hash');

-- The number comes back (a new import, an inbound text): suppressed at once, as before.
insert into public.leads (org_id, phone, first_name) values (:'pv_org'::uuid, '415-559-0101', 'P.');
select ok((select l.suppressed from public.leads l
  where l.org_id = :'pv_org'::uuid and l.phone = '+14155590101'),
  'a lead written later with the erased number is suppressed as it is written');
select is((select source::text || ': ' || left(reason, 49) from public.suppressions
  where org_id = :'pv_org'::uuid and phone = '+14155590101' and lifted_at is null),
  'recipient_stop: suppressed (recipient_stop) before their data was',
  'by the opt-out it had (only the recipient''s START lifts it)');
select is((select count(*) from public.leads l where l.org_id = :'pv_org'::uuid
  and l.phone = '+14155590102' and l.suppressed), 0::bigint,
  'another number of the organization is not touched');

-- A lead that never opted out leaves nothing behind.
select tests.authenticate_as('admin@acme.test');
insert into answers select 'erase plain', public.erase_lead(tests_lead.id)
from (select id from public.leads where org_id = :'pv_org'::uuid and phone = '+14155590102')
  tests_lead;
reset role;
select is((select answer ->> 'opt_out_kept' from answers where name = 'erase plain'), 'false',
  'a lead that never opted out keeps no hash');
insert into public.leads (org_id, phone) values (:'pv_org'::uuid, '+14155590102');
select is((select l.suppressed from public.leads l
  where l.org_id = :'pv_org'::uuid and l.phone = '+14155590102'), false,
  'and may be written again like anyone');

-- Requests are read by admins only; erasure alone may touch the append-only records.
select tests.authenticate_as('manager@acme.test');
select is((select count(*) from public.privacy_requests where org_id = :'pv_org'::uuid),
  0::bigint, 'a campaign manager reads no privacy request');
reset role;
select tests.authenticate_as('admin@acme.test');
select is((select count(*) from public.privacy_requests where org_id = :'pv_org'::uuid),
  3::bigint, 'an admin reads them');
reset role;
select throws_ok(format($$update public.audit_log set after = null where org_id = %L$$,
    :'pv_org'), '42501', null, 'the audit log stays append-only outside an erasure');

select * from finish();
rollback;
