-- =============================================================================
-- Message metrics (20261126150000_message_metrics.sql): after a randomised workload of
-- campaign sends, status callbacks (out of order, duplicated, with error codes and prices),
-- replies and opt-outs through the webhook functions, operator messages and deletes, the
-- rollups plus the deltas not folded yet equal a full recount of public.messages under
-- every key, before a fold, after it, and with new work after it. Replies and opt-outs are
-- credited to the campaign message they answer, once per target. The rollups are readable
-- by members of their organization only.
--
-- Seed data: Acme (a0…) with its number +14155550100 (a1…01), variants a5…01 and a5…02,
-- campaign a6…01; Globex (b0…).
-- =============================================================================
begin;
set search_path to public, extensions;
select plan(23);
\ir _helpers.sql

select setseed(0.42);

-- The recount the rollups must equal: every message of Acme through the one definition
-- (private.message_counts) under every key (private.metric_keys); keys whose counters are
-- all zero left out on both sides.
create function tests.recount() returns table (
  dimension text, bucket timestamptz, campaign_id uuid,
  template_variant_id uuid, phone_number_id uuid, sent bigint, delivered bigint,
  undelivered bigint, failed bigint, segments bigint, cost numeric, inbound bigint,
  replies bigint, opt_outs bigint, filtered bigint)
language sql as $$
  select k.dimension, k.bucket, k.campaign_id, k.template_variant_id, k.phone_number_id,
    sum(c.sent), sum(c.delivered), sum(c.undelivered), sum(c.failed), sum(c.segments),
    sum(c.cost), sum(c.inbound), sum(c.replies), sum(c.opt_outs), sum(c.filtered)
  from public.messages m
  cross join lateral private.message_counts(m) c
  cross join lateral private.metric_keys(m.org_id, m.created_at, m.campaign_id,
    m.template_variant_id, m.phone_number_id) k
  where m.org_id = 'a0000000-0000-4000-8000-000000000000'
  group by 1, 2, 3, 4, 5
  having (sum(c.sent), sum(c.delivered), sum(c.undelivered), sum(c.failed), sum(c.segments),
    sum(c.cost), sum(c.inbound), sum(c.replies), sum(c.opt_outs), sum(c.filtered))
    <> (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
$$;

create function tests.counted() returns table (
  dimension text, bucket timestamptz, campaign_id uuid,
  template_variant_id uuid, phone_number_id uuid, sent bigint, delivered bigint,
  undelivered bigint, failed bigint, segments bigint, cost numeric, inbound bigint,
  replies bigint, opt_outs bigint, filtered bigint)
language sql as $$
  select r.dimension, r.bucket, r.campaign_id, r.template_variant_id, r.phone_number_id,
    sum(r.sent)::bigint, sum(r.delivered)::bigint, sum(r.undelivered)::bigint,
    sum(r.failed)::bigint, sum(r.segments)::bigint, sum(r.cost), sum(r.inbound)::bigint,
    sum(r.replies)::bigint, sum(r.opt_outs)::bigint, sum(r.filtered)::bigint
  from private.org_metric_rows('a0000000-0000-4000-8000-000000000000') r
  group by 1, 2, 3, 4, 5
  having (sum(r.sent), sum(r.delivered), sum(r.undelivered), sum(r.failed), sum(r.segments),
    sum(r.cost), sum(r.inbound), sum(r.replies), sum(r.opt_outs), sum(r.filtered))
    <> (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
$$;

-- A second campaign with its own targets, so keys differ by campaign too.
insert into public.campaigns (id, org_id, name, template_id, status)
select 'a6000000-0000-4000-8000-0000000000f2', org_id, 'Metrics B', template_id, 'running'
from public.campaigns where id = 'a6000000-0000-4000-8000-000000000001';

-- Sends: 60 leads, one target and one campaign message each, over the last 3 days.
create function tests.send_batch(first integer, last integer) returns void
language plpgsql as $$
declare
  i integer;
  lead uuid;
  target bigint;
  campaign uuid;
  variant uuid;
begin
  for i in first..last loop
    insert into public.leads (org_id, phone, first_name)
    values ('a0000000-0000-4000-8000-000000000000', '+1602556' || lpad(i::text, 4, '0'),
      'Lead ' || i)
    returning id into lead;
    campaign := case when random() < 0.5 then 'a6000000-0000-4000-8000-000000000001'
      else 'a6000000-0000-4000-8000-0000000000f2' end::uuid;
    variant := case when random() < 0.5 then 'a5000000-0000-4000-8000-000000000001'
      else 'a5000000-0000-4000-8000-000000000002' end::uuid;
    insert into public.campaign_targets (org_id, campaign_id, lead_id, phone, status,
      template_variant_id, phone_number_id, sent_at)
    values ('a0000000-0000-4000-8000-000000000000', campaign, lead,
      '+1602556' || lpad(i::text, 4, '0'), 'sent', variant,
      'a1000000-0000-4000-8000-000000000001', now())
    returning id into target;
    insert into public.messages (org_id, direction, lead_id, phone_number_id, from_phone,
      to_phone, body, segments, encoding, twilio_sid, status, campaign_id, campaign_target_id,
      template_variant_id, created_at, sent_at)
    values ('a0000000-0000-4000-8000-000000000000', 'outbound', lead,
      'a1000000-0000-4000-8000-000000000001', '+14155550100',
      '+1602556' || lpad(i::text, 4, '0'), 'Hi there', 1 + floor(random() * 3)::integer,
      'gsm7', 'SM' || md5('metrics ' || i), 'sent', campaign, target, variant,
      now() - random() * interval '3 days', now());
  end loop;
end;
$$;

-- Status callbacks for each message of the batch: 1 to 4 of them in random order, with
-- duplicates; undelivered with 30003, failed with 30007, some with a price.
create function tests.callbacks(first integer, last integer) returns void
language plpgsql as $$
declare
  i integer;
  k integer;
  pick text;
begin
  for i in first..last loop
    for k in 1..(1 + floor(random() * 4))::integer loop
      pick := (array['sent', 'delivered', 'delivered', 'undelivered', 'failed', 'queued'])
        [1 + floor(random() * 6)::integer];
      perform private.record_message_status('SM' || md5('metrics ' || i), pick,
        case pick when 'undelivered' then 30003 when 'failed' then 30007 end, null,
        now() + k * interval '1 second',
        case when random() < 0.5 then -0.0079 end, case when random() < 0.5 then 'USD' end);
    end loop;
  end loop;
end;
$$;

-- Replies: a third answer, some twice; some STOP (and STOP again); some START.
create function tests.replies(first integer, last integer) returns void
language plpgsql as $$
declare
  i integer;
  word text;
begin
  for i in first..last loop
    continue when random() > 0.34;
    word := (array['Sounds good', 'STOP', 'Who is this?', 'stop texting me'])
      [1 + floor(random() * 4)::integer];
    perform private.receive_inbound('SM' || md5('reply ' || i), '+1602556' || lpad(i::text, 4, '0'),
      '+14155550100', word);
    if random() < 0.4 then
      perform private.receive_inbound('SM' || md5('reply again ' || i),
        '+1602556' || lpad(i::text, 4, '0'), '+14155550100',
        case when random() < 0.5 then 'STOP' else 'ok thanks' end);
    end if;
  end loop;
end;
$$;

select tests.send_batch(1, 60);
select tests.callbacks(1, 60);
select tests.replies(1, 60);
-- An operator's reply in the seeded conversation, and a message deleted.
insert into public.messages (org_id, direction, lead_id, phone_number_id, from_phone, to_phone,
  body, segments, twilio_sid, status, created_at)
values ('a0000000-0000-4000-8000-000000000000', 'outbound',
  'a2000000-0000-4000-8000-000000000003', 'a1000000-0000-4000-8000-000000000001',
  '+14155550100', '+16025550103', 'Happy to help', 1, 'SM' || md5('operator'), 'sent', now());
delete from public.messages where twilio_sid = 'SM' || md5('metrics 7');

select ok((select count(*) from private.metric_deltas) > 0,
  'the workload left deltas to fold');
select set_eq('select * from tests.counted()', 'select * from tests.recount()',
  'before a fold, rollups and deltas equal a recount of the messages under every key');
select ok((select sum(sent) from tests.recount() where dimension = 'org_hour') = 60,
  'the recount has the 60 campaign sends and the operator''s reply, less the deleted one');

select cmp_ok(private.fold_metrics(), '>', 0::bigint, 'the fold takes the deltas');
select is((select count(*) from private.metric_deltas), 0::bigint, 'and leaves none');
select set_eq('select * from tests.counted()', 'select * from tests.recount()',
  'after the fold, the rollups alone equal the recount');

select tests.send_batch(61, 90);
select tests.callbacks(1, 90);
select tests.replies(45, 90);
update public.messages set campaign_id = null, campaign_target_id = null,
  template_variant_id = null
where twilio_sid = 'SM' || md5('metrics 12');
select set_eq('select * from tests.counted()', 'select * from tests.recount()',
  'with more work after the fold (rollups and new deltas), still equal');
select private.fold_metrics();
select set_eq('select * from tests.counted()', 'select * from tests.recount()',
  'and after the next fold');

-- Counting the stored messages from scratch (the migration's backfill, bulk loads) gives the
-- same rollups.
delete from public.metric_rollups where org_id = 'a0000000-0000-4000-8000-000000000000';
select private.count_stored_messages('a0000000-0000-4000-8000-000000000000');
select private.fold_metrics();
select set_eq('select * from tests.counted()', 'select * from tests.recount()',
  'count_stored_messages and a fold rebuild the same rollups');

-- A deleted campaign keeps its history: its foreign keys null the messages' campaign, and
-- the counts stay where they were counted.
create table tests.campaign_b_before as
  select dimension, bucket, phone_number_id, template_variant_id, sent, delivered, replies
  from public.metric_rollups where campaign_id = 'a6000000-0000-4000-8000-0000000000f2';
select ok((select count(*) from tests.campaign_b_before) > 0, 'campaign B has rollups');
update public.campaigns set status = 'canceled' where id = 'a6000000-0000-4000-8000-0000000000f2';
delete from public.campaigns where id = 'a6000000-0000-4000-8000-0000000000f2';
select private.fold_metrics();
select set_eq(
  $$select dimension, bucket, phone_number_id, template_variant_id, sent, delivered, replies
    from public.metric_rollups where campaign_id = 'a6000000-0000-4000-8000-0000000000f2'$$,
  'select * from tests.campaign_b_before',
  'after the campaign is deleted, its rollups are as they were');
select set_eq(
  $$select * from tests.counted() where dimension = 'org_hour'$$,
  $$select * from tests.recount() where dimension = 'org_hour'$$,
  'and the organization''s totals still equal the recount');

-- A reply that never reached Twilio (refused before it was sent) is no delivery failure.
insert into public.messages (org_id, direction, lead_id, phone_number_id, from_phone, to_phone,
  body, status, error_code, created_at)
values ('a0000000-0000-4000-8000-000000000000', 'outbound',
  'a2000000-0000-4000-8000-000000000003', 'a1000000-0000-4000-8000-000000000001',
  '+14155550100', '+16025550103', 'Never sent', 'failed', 21211, now());
select results_eq(
  $$select c.sent, c.failed from public.messages m cross join private.message_counts(m) c
    where m.body = 'Never sent'$$,
  $$values (0, 0)$$,
  'a message Twilio never took counts neither as sent nor as failed');

-- ---------------------------------------------------------------------------
-- Attribution of replies and opt-outs
-- ---------------------------------------------------------------------------
select results_eq(
  $$select count(*) filter (where m.counts_as_reply), count(distinct m.campaign_target_id)
    filter (where m.counts_as_reply)
    from public.messages m where m.direction = 'inbound' and m.campaign_id is not null$$,
  $$select count(*), count(*) from public.campaign_targets t
    where t.replied_at is not null and t.org_id = 'a0000000-0000-4000-8000-000000000000'$$,
  'one reply counts per answered target: as many as targets with a first reply');
select ok(
  (select count(*) from public.messages m where m.direction = 'inbound'
    and m.campaign_id is not null and not m.counts_as_reply) > 0,
  'second answers to a target are stored but not counted again');
select is(
  (select count(*) from public.messages m where m.counts_as_opt_out
    and m.campaign_target_id is not null),
  (select count(*) from public.campaign_targets t where t.opted_out_at is not null),
  'one opt-out counts per target, however often the lead says STOP');
select ok(
  not exists (
    select 1 from public.messages i
    join public.messages o on o.campaign_target_id = i.campaign_target_id
      and o.direction = 'outbound'
    where i.direction = 'inbound' and i.campaign_id is not null
      and (o.campaign_id, o.template_variant_id) is distinct from
        (i.campaign_id, i.template_variant_id)
      and i.twilio_sid <> 'SM' || md5('reply again 12')),
  'an answer carries the campaign and variant of the message it answers');

-- A reply that overtakes the record of the message it answers (the tick records sends a
-- moment after Twilio took them) is credited when the message is recorded.
insert into public.leads (org_id, phone, first_name)
values ('a0000000-0000-4000-8000-000000000000', '+16025569990', 'Early');
insert into public.campaign_targets (org_id, campaign_id, lead_id, phone, status,
  template_variant_id, phone_number_id, sent_at)
select org_id, 'a6000000-0000-4000-8000-000000000001', id, phone, 'sent',
  'a5000000-0000-4000-8000-000000000002', 'a1000000-0000-4000-8000-000000000001', now()
from public.leads where phone = '+16025569990';
select private.receive_inbound('SM' || md5('early reply'), '+16025569990', '+14155550100',
  'Yes, tell me more');
insert into public.messages (org_id, direction, lead_id, phone_number_id, from_phone, to_phone,
  body, segments, twilio_sid, status, campaign_id, campaign_target_id, template_variant_id,
  created_at)
select t.org_id, 'outbound', t.lead_id, t.phone_number_id, '+14155550100', t.phone, 'Hello',
  1, 'SM' || md5('early send'), 'sent', t.campaign_id, t.id, t.template_variant_id,
  now() - interval '2 seconds'
from public.campaign_targets t where t.phone = '+16025569990';
select results_eq(
  $$select m.campaign_id, m.template_variant_id, m.counts_as_reply, t.replied_at is not null
    from public.messages m join public.campaign_targets t on t.id = m.campaign_target_id
    where m.twilio_sid = 'SM' || md5('early reply')$$,
  $$values ('a6000000-0000-4000-8000-000000000001'::uuid,
            'a5000000-0000-4000-8000-000000000002'::uuid, true, true)$$,
  'a reply that came before its message was recorded is credited to it once recorded');
select set_eq(
  $$select * from tests.counted() where dimension in ('org_hour', 'number_hour')
      or campaign_id = 'a6000000-0000-4000-8000-000000000001'$$,
  $$select * from tests.recount() where dimension in ('org_hour', 'number_hour')
      or campaign_id = 'a6000000-0000-4000-8000-000000000001'$$,
  'and the counters follow it (the deleted campaign''s history aside)');

-- ---------------------------------------------------------------------------
-- Who reads the rollups
-- ---------------------------------------------------------------------------
select tests.authenticate_as('viewer@acme.test');
select ok((select count(*) from public.metric_rollups) > 0, 'a viewer of Acme reads its rollups');
reset role;
select tests.authenticate_as('admin@globex.test');
select is((select count(*) from public.metric_rollups
  where org_id = 'a0000000-0000-4000-8000-000000000000'), 0::bigint,
  'a member of Globex reads none of Acme''s');
reset role;
set local role anon;
select throws_ok('select count(*) from public.metric_rollups', '42501', null,
  'anon reads nothing');
reset role;
select ok(
  not has_table_privilege('authenticated', 'public.metric_rollups', 'insert')
  and not has_table_privilege('authenticated', 'public.metric_rollups', 'update')
  and not has_table_privilege('authenticated', 'private.metric_deltas', 'select')
  and not has_function_privilege('authenticated', 'private.fold_metrics()', 'execute'),
  'no member writes a rollup, reads the deltas or folds');

select * from finish();
rollback;
