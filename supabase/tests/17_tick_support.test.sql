-- =============================================================================
-- What campaign-tick uses besides the claim: the pre-send check (a STOP, a pause or a
-- cancel after the claim), handing claims back, unknown outcomes, pausing a number
-- Twilio refuses, finishing campaigns with a progress broadcast on campaign:<id>, and
-- who may receive that channel.
-- =============================================================================
begin;
set search_path to public, extensions;
select plan(22);
\ir _helpers.sql

create temp table ids (name text primary key, id uuid) on commit drop;
create temp table targets (name text primary key, id bigint, token uuid) on commit drop;
grant all on ids, targets to authenticated;

insert into public.campaigns (org_id, name, template_id, audience)
values (tests.org_id('acme'), 'Tick support', 'a4000000-0000-4000-8000-000000000001',
        '{"tags": ["buyer"]}');
insert into ids select 'campaign', id from public.campaigns where name = 'Tick support';
update public.campaigns set status = 'running' where id = (select id from ids);

with made as (
  insert into public.campaign_targets (org_id, campaign_id, lead_id, phone, status,
    claim_token, lease_expires_at, phone_number_id)
  select tests.org_id('acme'), (select id from ids), l.id, l.phone, 'claimed',
    gen_random_uuid(), now() + interval '1 minute', 'a1000000-0000-4000-8000-000000000001'
  from public.leads l
  where l.id in ('a2000000-0000-4000-8000-000000000001', 'a2000000-0000-4000-8000-000000000002',
                 'a2000000-0000-4000-8000-000000000003')
  returning id, lead_id, claim_token
)
insert into targets
select 't' || right(lead_id::text, 1), id, claim_token from made;

create function pg_temp.sendable(names text[], tokens uuid[] default null) returns text[]
language sql as $$
  select coalesce(array_agg(t.name order by t.name), '{}')
  from private.sendable_claims(
    array(select t.id from targets t where t.name = any (names) order by t.name),
    coalesce(tokens, array(select t.token from targets t where t.name = any (names) order by t.name))
  ) s (id)
  join targets t on t.id = s.id;
$$;

-- The pre-send check.
select is(pg_temp.sendable('{t1,t2,t3}'), '{t1,t2,t3}', 'claims of a running campaign: sendable');
select is(pg_temp.sendable('{t1}', array[gen_random_uuid()]), '{}',
  'a stale claim token: not sendable');
insert into public.suppressions (org_id, phone, source, reason)
values (tests.org_id('acme'), '+12125550102', 'manual', 'asked by phone');
select is(pg_temp.sendable('{t1,t2,t3}'), '{t1,t3}', 'a number suppressed since the claim: not sendable');
update public.campaigns set status = 'paused' where id = (select id from ids);
select is(pg_temp.sendable('{t1,t2,t3}'), '{}', 'a paused campaign: nothing sendable');
update public.campaigns set status = 'running' where id = (select id from ids);

-- Handing back claims never attempted.
select is(private.release_claims(array[(select id from targets where name = 't1')],
  array[(select token from targets where name = 't1')]), 1, 'a claim goes back');
select results_eq(
  $$select status, claim_token, lease_expires_at from public.campaign_targets
    where id = (select id from targets where name = 't1')$$,
  $$values ('pending'::text, null::uuid, null::timestamptz)$$,
  'pending again, without token or lease');
select is(private.release_claims(array[(select id from targets where name = 't1')],
  array[(select token from targets where name = 't1')]), 0, 'a second release changes nothing');

-- Outcomes that cannot be known.
select is(private.record_send_unknown(array[(select id from targets where name = 't3')],
  array[(select token from targets where name = 't3')], array['timeout after 10 s']), 1,
  'a claim whose request may have left');
select results_eq(
  $$select status, status_reason from public.campaign_targets
    where id = (select id from targets where name = 't3')$$,
  $$values ('unknown'::text, 'outcome unknown: timeout after 10 s'::text)$$,
  'is unknown, with the reason');
select is(private.record_send_unknown(array[(select id from targets where name = 't2')],
  array[gen_random_uuid()], array['x']), 0, 'a stale token records nothing');

-- A number Twilio refuses.
select is(private.pause_sending_number('a1000000-0000-4000-8000-000000000001', 'not SMS-capable'),
  true, 'an active number is paused');
select is((select status from public.phone_numbers where id = 'a1000000-0000-4000-8000-000000000001'),
  'paused', 'out of rotation');
select isnt_empty(
  $$select 1 from realtime.messages where topic = 'org:' || tests.org_id('acme')
      and event = 'phone_number.paused' and payload ->> 'reason' = 'not SMS-capable'$$,
  'its organization is told why');
select is(private.pause_sending_number('a1000000-0000-4000-8000-000000000001', 'again'), false,
  'pausing it again changes nothing');

-- Finishing campaigns: progress once per tick, completion when nothing is left.
select private.finish_campaigns(array[(select id from ids)]);
select is((select status from public.campaigns where id = (select id from ids)), 'running',
  'a campaign with targets left keeps running');
select is(
  (select payload -> 'counts' from realtime.messages
   where topic = 'campaign:' || (select id from ids) and event = 'campaign.progress'
   order by inserted_at desc limit 1),
  '{"claimed": 1, "pending": 1, "unknown": 1}'::jsonb,
  'its counters per status are broadcast on campaign:<id>');
update public.campaign_targets set status = 'sent'
where campaign_id = (select id from ids) and status in ('pending', 'claimed');
select private.finish_campaigns(array[(select id from ids)]);
select is((select status from public.campaigns where id = (select id from ids)), 'completed',
  'with nothing left it completes');

-- Who receives campaign:<id>.
select tests.authenticate_as('viewer@acme.test');
select is(private.may_receive_campaign_topic('campaign:' || (select id from ids)), true,
  'a member of the campaign''s organization may');
select set_config('realtime.topic', 'campaign:' || (select id from ids), true);
select isnt_empty($$select 1 from realtime.messages where event = 'campaign.progress'$$,
  'and receives its progress');
reset role;
select tests.authenticate_as('manager@globex.test');
select is(private.may_receive_campaign_topic('campaign:' || (select id from ids)), false,
  'another organization''s member may not');
select is(private.may_receive_campaign_topic('campaign:not-a-uuid'), false,
  'nor anyone a topic that names no campaign');
reset role;

select ok(
  has_function_privilege('sms_system', 'private.sendable_claims(bigint[], uuid[])', 'execute')
  and not has_function_privilege('authenticated', 'private.sendable_claims(bigint[], uuid[])', 'execute')
  and not has_function_privilege('authenticated', 'private.release_claims(bigint[], uuid[])', 'execute')
  and not has_function_privilege('service_role', 'private.finish_campaigns(uuid[])', 'execute'),
  'the sender''s functions are the system''s alone');

select * from finish();
rollback;
