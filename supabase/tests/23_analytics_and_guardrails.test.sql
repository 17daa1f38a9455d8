-- =============================================================================
-- Dashboards and guardrails (20261126150100_analytics_rpcs.sql,
-- 20261126150200_guardrails.sql): dashboard_metrics and campaign_analytics for every role
-- of the organization, refused to another organization's members and to anon, equal to a
-- recount; number health grading, its broadcast and its effect on the rotation, kept poor
-- until an admin restores it; auto-pause over the threshold, not below the minimum sample,
-- and a person's resume as a fresh start.
--
-- Seed data: Acme (a0…) with its number +14155550100 (a1…01), variants a5…01/a5…02,
-- campaign a6…01 (draft), Carla (a2…03); Globex (b0…).
-- =============================================================================
begin;
set search_path to public, extensions;
select plan(38);
\ir _helpers.sql

-- A campaign running since now, a second number, and leads with campaign messages.
update public.campaigns set status = 'running', started_at = now()
where id = 'a6000000-0000-4000-8000-000000000001';
insert into public.phone_numbers (id, org_id, phone, twilio_sid, status, messages_per_second)
values ('a1000000-0000-4000-8000-0000000000f1', 'a0000000-0000-4000-8000-000000000000',
  '+14155550177', 'PN' || md5('number f1'), 'active', 1);

-- Each test lead's phone, by tag and number.
create table tests.phones (tag text, i integer, phone text, primary key (tag, i));
create sequence tests.phone_seq start 100000;

-- n messages of the campaign from a number, created `at`, with the given status and error,
-- each to a new lead with its target.
create function tests.campaign_messages(n integer, number uuid, status text, error integer,
  at timestamptz, tag text) returns void
language plpgsql as $$
declare
  i integer;
  lead uuid;
  lead_phone text;
  target bigint;
  variant uuid;
begin
  for i in 1..n loop
    lead_phone := '+16025' || nextval('tests.phone_seq');
    insert into tests.phones values (tag, i, lead_phone);
    insert into public.leads (org_id, phone)
    values ('a0000000-0000-4000-8000-000000000000', lead_phone)
    returning id into lead;
    variant := case when i % 3 = 0 then 'a5000000-0000-4000-8000-000000000002'
      else 'a5000000-0000-4000-8000-000000000001' end::uuid;
    insert into public.campaign_targets (org_id, campaign_id, lead_id, phone, status,
      template_variant_id, phone_number_id, sent_at)
    values ('a0000000-0000-4000-8000-000000000000', 'a6000000-0000-4000-8000-000000000001',
      lead, lead_phone, 'sent', variant, number, at)
    returning id into target;
    insert into public.messages (org_id, direction, lead_id, phone_number_id, from_phone,
      to_phone, body, segments, twilio_sid, status, error_code, campaign_id,
      campaign_target_id, template_variant_id, created_at, price)
    select p.org_id, 'outbound', lead, number, p.phone, lead_phone, 'Hello', 1,
      'SM' || md5(tag || '/' || i), campaign_messages.status::public.message_status, error,
      'a6000000-0000-4000-8000-000000000001', target, variant, at, -0.0079
    from public.phone_numbers p where p.id = number;
  end loop;
end;
$$;

-- STOP from the leads of the first n messages of a tag, `at`.
create function tests.opt_outs(n integer, tag text, to_phone text, at timestamptz) returns void
language plpgsql as $$
declare
  k integer;
  outcome text;
begin
  for k in 1..n loop
    select r.outcome into outcome from private.receive_inbound('SM' || md5('stop ' || opt_outs.tag || '/' || k),
      (select p.phone from tests.phones p where p.tag = opt_outs.tag and p.i = k),
      to_phone, 'STOP', at) r;
    if outcome is distinct from 'received' then
      raise exception 'STOP % of %: %', k, opt_outs.tag, outcome;
    end if;
  end loop;
end;
$$;

-- ---------------------------------------------------------------------------
-- Dashboards
-- ---------------------------------------------------------------------------
select tests.campaign_messages(40, 'a1000000-0000-4000-8000-000000000001', 'delivered', null,
  now() - interval '2 hours', 'dash');
select tests.campaign_messages(4, 'a1000000-0000-4000-8000-000000000001', 'undelivered', 30007,
  now() - interval '3 days', 'dash-old');
select tests.opt_outs(2, 'dash', '+14155550100', now() - interval '1 hour');
select private.fold_metrics();
select tests.campaign_messages(6, 'a1000000-0000-4000-8000-000000000001', 'delivered', null,
  now() - interval '30 minutes', 'dash-new');

select tests.authenticate_as('viewer@acme.test');
select results_eq(
  $$select (d -> 'totals' ->> 'sent')::int, (d -> 'totals' ->> 'delivered')::int,
      (d -> 'totals' ->> 'undelivered')::int, (d -> 'totals' ->> 'filtered')::int,
      (d -> 'totals' ->> 'opt_outs')::int, d ->> 'granularity',
      jsonb_array_length(d -> 'series'), (d ->> 'active_campaigns')::int
    from public.dashboard_metrics(now() - interval '7 days', now()) d$$,
  $$values (50, 46, 4, 4, 2, 'day', 8, 1)$$,
  'a viewer''s dashboard: folded and unfolded sends, filtering, opt-outs, a series by day');
select is(
  (select sum((p ->> 'sent')::int) from jsonb_array_elements(
    public.dashboard_metrics(now() - interval '7 days', now()) -> 'series') p),
  50::bigint, 'the series adds up to the totals');
select results_eq(
  $$select (d -> 'totals' ->> 'sent')::int, d ->> 'granularity',
      jsonb_array_length(d -> 'series'), (d -> 'totals' ->> 'delivery_rate')::numeric,
      (d -> 'totals' ->> 'opt_out_rate')::numeric
    from public.dashboard_metrics(now() - interval '1 day', now()) d$$,
  $$values (46, 'hour', 25, 1.0000, 0.0435)$$,
  'the last day by hour: rates over what it sent');
select is(
  (select d -> 'top_campaigns' -> 0 ->> 'name'
   from public.dashboard_metrics(now() - interval '7 days', now()) d),
  (select name from public.campaigns where id = 'a6000000-0000-4000-8000-000000000001'),
  'the top campaign is named');
reset role;

select tests.authenticate_as('operator@acme.test');
select lives_ok($$select public.dashboard_metrics(now() - interval '1 day', now())$$,
  'an operator may read the dashboard');
reset role;
select tests.authenticate_as('manager@acme.test');
select lives_ok(
  $$select public.dashboard_metrics(now() - interval '1 day', now(),
      'a0000000-0000-4000-8000-000000000000')$$,
  'a campaign manager may, naming the organization');
select throws_ok($$select public.dashboard_metrics(now(), now() - interval '1 day')$$,
  '22023', null, 'from after to is refused');
reset role;
select tests.authenticate_as('admin@acme.test');
select lives_ok($$select public.campaign_analytics('a6000000-0000-4000-8000-000000000001')$$,
  'an admin may read a campaign''s analytics');
reset role;

select tests.authenticate_as('admin@globex.test');
select throws_ok(
  $$select public.dashboard_metrics(now() - interval '1 day', now(),
      'a0000000-0000-4000-8000-000000000000')$$,
  '42501', null, 'a member of Globex cannot read Acme''s dashboard');
select is(
  (select (public.dashboard_metrics(now() - interval '7 days', now()) -> 'totals' ->> 'sent')::int),
  0, 'and their own shows none of Acme''s messages');
select throws_ok($$select public.campaign_analytics('a6000000-0000-4000-8000-000000000001')$$,
  'PT404', null, 'nor Acme''s campaign analytics');
reset role;
set local role anon;
select throws_ok($$select public.dashboard_metrics(now() - interval '1 day', now())$$,
  '42501', null, 'anon may not call the dashboard');
reset role;

select tests.authenticate_as('viewer@acme.test');
select results_eq(
  $$select (a -> 'totals' ->> 'sent')::int, (a -> 'totals' ->> 'opt_outs')::int,
      jsonb_array_length(a -> 'variants'), jsonb_array_length(a -> 'numbers'),
      (a -> 'progress' ->> 'targets')::int, (a -> 'progress' ->> 'sent')::int
    from public.campaign_analytics('a6000000-0000-4000-8000-000000000001') a$$,
  $$values (50, 2, 2, 1, 50, 50)$$,
  'campaign analytics: totals, two variants, one number, progress from its targets');
select is(
  (select sum((v ->> 'sent')::int) from jsonb_array_elements(
    public.campaign_analytics('a6000000-0000-4000-8000-000000000001') -> 'variants') v),
  50::bigint, 'the variants add up to the campaign');
select results_eq(
  $$select count(*) filter (where (v ->> 'control')::boolean),
      count(*) filter (where v ->> 'reply_p_value' is null and (v ->> 'control')::boolean),
      bool_and((v ->> 'opt_out_p_value')::numeric between 0 and 1)
        filter (where not (v ->> 'control')::boolean)
    from jsonb_array_elements(
      public.campaign_analytics('a6000000-0000-4000-8000-000000000001') -> 'variants') v$$,
  $$values (1::bigint, 1::bigint, true)$$,
  'one variant is the control; the other has a p-value against it');
reset role;

select is(private.two_proportion_p(50, 1000, 50, 1000), 1.0000,
  'a two-proportion test of equal rates gives p = 1');
select is(private.two_proportion_p(30, 1000, 60, 1000), 0.0012,
  'and of 3% against 6% over 1,000 each, p ≈ 0.001');
select is(private.two_proportion_p(0, 48000, 4000, 48000), 0.0000,
  'an overwhelming difference gives p = 0, not an underflow error');

-- The completion estimate walks through the campaign's windows in the zone.
select is(private.window_completion(1000, 10, '09:00', '20:00', '{1,2,3,4,5}',
    'America/New_York', '2026-11-27 23:00:00+00'),
  '2026-11-28 00:40:00+00'::timestamptz,
  '1,000 at 10 a minute from 18:00 in New York: done at 19:40, inside the window');
select is(private.window_completion(10000, 10, '09:00', '20:00', '{1,2,3,4,5,6,7}',
    'America/Los_Angeles', '2026-11-27 15:00:00+00'),
  '2026-11-28 22:40:00+00'::timestamptz,
  'from 07:00 in Los Angeles: the day''s 6,600 from 09:00, the rest the next day by 14:40');
select is(private.window_completion(1000, 10, '09:00', '20:00', '{1,2,3,4,5}',
    'America/New_York', '2026-11-28 14:00:00+00'),
  '2026-11-30 15:40:00+00'::timestamptz,
  'on a Saturday with weekdays only: Monday 09:00 plus 100 minutes');

-- ---------------------------------------------------------------------------
-- Number health
-- ---------------------------------------------------------------------------
select tests.campaign_messages(95, 'a1000000-0000-4000-8000-0000000000f1', 'delivered', null,
  now() - interval '3 hours', 'nh-good');
select tests.campaign_messages(4, 'a1000000-0000-4000-8000-0000000000f1', 'undelivered', 30003,
  now() - interval '3 hours', 'nh-lost');
select cmp_ok(private.refresh_number_health(), '>=', 1, 'grading changes the new number');
select results_eq(
  $$select health::text, health_score from public.phone_numbers
    where id = 'a1000000-0000-4000-8000-0000000000f1'$$,
  $$values ('good', 95.96::numeric(5, 2))$$,
  '96% delivered, nothing filtered or opted out: good');
select tests.campaign_messages(10, 'a1000000-0000-4000-8000-0000000000f1', 'undelivered', 30007,
  now() - interval '2 hours', 'nh-filtered');
select private.refresh_number_health();
select is((select health::text from public.phone_numbers
  where id = 'a1000000-0000-4000-8000-0000000000f1'), 'poor',
  '10 of 109 carrier-filtered: poor');
select isnt_empty(
  $$select 1 from realtime.messages
    where topic = 'org:a0000000-0000-4000-8000-000000000000' and event = 'phone_number.health'
      and payload ->> 'phone_number_id' = 'a1000000-0000-4000-8000-0000000000f1'
      and payload ->> 'health' = 'poor' and payload ->> 'previous_health' = 'good'
      and payload ->> 'in_rotation' = 'false'$$,
  'the organization is told on org:<id>');
select ok(
  not exists (
    select 1 from private.claim_targets(1000, '30 seconds', now()) c
    where c.phone_number_id = 'a1000000-0000-4000-8000-0000000000f1'),
  'the sender gives a poor number no message');
select tests.campaign_messages(200, 'a1000000-0000-4000-8000-0000000000f1', 'delivered', null,
  now() - interval '1 hour', 'nh-better');
select private.refresh_number_health();
select is((select health::text from public.phone_numbers
  where id = 'a1000000-0000-4000-8000-0000000000f1'), 'poor',
  'better numbers later do not put it back by themselves');

select tests.authenticate_as('manager@acme.test');
select throws_ok(
  $$select public.restore_number_health('a1000000-0000-4000-8000-0000000000f1')$$,
  '42501', null, 'a campaign manager cannot restore a number');
reset role;
select tests.authenticate_as('admin@acme.test');
select is(
  (select health::text from public.restore_number_health('a1000000-0000-4000-8000-0000000000f1')),
  'unknown', 'an admin restores it');
reset role;
select private.refresh_number_health();
select is((select health::text from public.phone_numbers
  where id = 'a1000000-0000-4000-8000-0000000000f1'), 'unknown',
  'its past does not take it out again: it is graded afresh from the next hour');

-- ---------------------------------------------------------------------------
-- Auto-pause
-- ---------------------------------------------------------------------------
-- Guarded since 50 minutes ago (as if started then): what it sent since counts (the 6
-- dashboard messages of 30 minutes ago too). Acme's minimum sample is 200 by default.
update public.campaigns set guarded_since = now() - interval '50 minutes'
where id = 'a6000000-0000-4000-8000-000000000001';
update public.organizations set auto_pause_min_sample = 100
where id = 'a0000000-0000-4000-8000-000000000000';
select tests.campaign_messages(80, 'a1000000-0000-4000-8000-000000000001', 'delivered', null,
  now() - interval '40 minutes', 'ap');
select tests.opt_outs(8, 'ap', '+14155550100', now() - interval '35 minutes');
select is(private.auto_pause_campaigns(now()), 0,
  '8 opt-outs of 86 sent: over 9%, but under the minimum sample of 100: still running');
select tests.campaign_messages(120, 'a1000000-0000-4000-8000-000000000001', 'delivered', null,
  now() - interval '40 minutes', 'ap2');
select is(private.auto_pause_campaigns(now()), 1,
  '8 of 206 (3.9%) over the 2% threshold: paused');
select results_eq(
  $$select status, status_reason like 'auto-paused: 8 opt-outs of 206 sent since %',
      auto_paused_at is not null
    from public.campaigns where id = 'a6000000-0000-4000-8000-000000000001'$$,
  $$values ('paused', true, true)$$,
  'with the reason recorded');
select isnt_empty(
  $$select 1 from realtime.messages
    where topic = 'campaign:a6000000-0000-4000-8000-000000000001'
      and event = 'campaign.auto_paused'$$,
  'and broadcast on campaign:<id>');
select is(private.auto_pause_campaigns(now() + interval '10 minutes'), 0,
  'a paused campaign stays paused: nothing resumes it but a person');

-- A person resumes: what it sent before does not count again.
select tests.authenticate_as('manager@acme.test');
select is((select status from public.resume_campaign('a6000000-0000-4000-8000-000000000001')),
  'running', 'a campaign manager resumes it');
reset role;
select is(private.auto_pause_campaigns(now()), 0,
  'the messages before the resume do not pause it again');
select results_eq(
  $$select guarded_since = now(), auto_paused_at is null
    from public.campaigns where id = 'a6000000-0000-4000-8000-000000000001'$$,
  $$values (true, true)$$,
  'the resume restarted the guard and cleared the auto-pause');

select * from finish();
rollback;
