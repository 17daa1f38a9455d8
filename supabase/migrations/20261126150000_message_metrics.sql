-- =============================================================================
-- Message metrics, kept incrementally: what each message counts for (sent, delivered,
-- undelivered, failed, segments, cost, inbound, replies, opt-outs, carrier-filtered) is
-- one function of its row. A row trigger appends the difference a change makes to an
-- append-only delta table (no row every writer fights over); a fold, once a minute,
-- sums the deltas into public.metric_rollups by hour, day, campaign, template variant and
-- sending number. Readers add the deltas not folded yet, so what they see is exact.
-- Dashboards never scan public.messages.
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Replies and opt-outs are credited to the campaign message they answer
-- -----------------------------------------------------------------------------

alter table public.messages
  add column counts_as_reply boolean not null default false,
  add column counts_as_opt_out boolean not null default false,
  add constraint messages_counts_inbound
    check ((not counts_as_reply and not counts_as_opt_out) or direction = 'inbound');
comment on column public.messages.counts_as_reply is
  'An inbound message that is the first answer to a campaign message (its campaign_target_id):
   counted once in the campaign''s and variant''s replies.';
comment on column public.messages.counts_as_opt_out is
  'An inbound opt-out counted in the opt-outs: the first to a campaign message, or any
   opt-out that answers no campaign message.';

alter table public.campaign_targets
  add column replied_at timestamptz,
  add column opted_out_at timestamptz;
comment on column public.campaign_targets.replied_at is
  'When the lead first answered this target''s message (within the attribution window).';
comment on column public.campaign_targets.opted_out_at is
  'When the lead opted out in answer to this target''s message.';

-- How long after a campaign message an inbound message still answers it.
create function private.reply_attribution_window() returns interval
language sql
immutable
as $$ select interval '30 days' $$;
comment on function private.reply_attribution_window() is
  'How long after a campaign message an inbound message from its lead still answers it.';

-- An answer to a campaign target, at `answered_at`: it counts as the target's reply when it
-- is the first, and as its opt-out when it is the first STOP. The target's row lock makes two
-- answers at once count once.
create function private.credit_answer(
  org uuid,
  target_id bigint,
  answered_at timestamptz,
  intent text,
  out counts_as_reply boolean,
  out counts_as_opt_out boolean
)
language plpgsql
security definer
set search_path = ''
as $$
begin
  update public.campaign_targets t
  set replied_at = answered_at
  where t.org_id = org and t.id = target_id and t.replied_at is null;
  counts_as_reply := found;
  counts_as_opt_out := false;
  if intent = 'opt_out' then
    update public.campaign_targets t
    set opted_out_at = answered_at
    where t.org_id = org and t.id = target_id and t.opted_out_at is null;
    counts_as_opt_out := found;
  end if;
end;
$$;
comment on function private.credit_answer(uuid, bigint, timestamptz, text) is
  'Records an answer to a campaign target (replied_at, opted_out_at) and says whether it
   counts as its reply and as its opt-out: only the first of each does.';
revoke all on function private.credit_answer(uuid, bigint, timestamptz, text) from public;

-- Before an inbound message is stored: the latest campaign message to the lead from the
-- same number (within the window) is the one it answers; its target records the first
-- reply and the first opt-out (the row lock makes two replies at once count once).
create function private.attribute_inbound_message() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  answered record;
begin
  if new.lead_id is null then
    new.counts_as_opt_out := new.intent is not distinct from 'opt_out';
    return new;
  end if;
  select m.campaign_id, m.campaign_target_id, m.template_variant_id into answered
  from public.messages m
  where m.lead_id = new.lead_id and m.direction = 'outbound' and m.org_id = new.org_id
    and m.campaign_id is not null
    and m.phone_number_id is not distinct from new.phone_number_id
    and m.created_at <= new.created_at
    and m.created_at > new.created_at - private.reply_attribution_window()
  order by m.created_at desc
  limit 1;
  if answered.campaign_id is null then
    new.counts_as_opt_out := new.intent is not distinct from 'opt_out';
    return new;
  end if;
  new.campaign_id := answered.campaign_id;
  new.campaign_target_id := answered.campaign_target_id;
  new.template_variant_id := answered.template_variant_id;
  if answered.campaign_target_id is not null then
    select c.counts_as_reply, c.counts_as_opt_out
    into new.counts_as_reply, new.counts_as_opt_out
    from private.credit_answer(new.org_id, answered.campaign_target_id, new.created_at,
      new.intent) c;
  else
    new.counts_as_opt_out := new.intent is not distinct from 'opt_out';
  end if;
  return new;
end;
$$;
comment on function private.attribute_inbound_message() is
  'Trigger: credits an inbound message to the campaign message it answers (campaign, target,
   variant) and marks whether it counts as a reply and as an opt-out.';
revoke all on function private.attribute_inbound_message() from public;

create trigger messages_attribute_inbound before insert on public.messages
  for each row when (new.direction = 'inbound')
  execute function private.attribute_inbound_message();

-- A reply can overtake the record of the message it answers (the tick records sends in
-- batches, a moment after Twilio took them): when a campaign message is recorded, the lead's
-- answers from the same number since it was sent that no campaign message claimed are
-- credited to it as above (the first as the reply, the first STOP as the opt-out).
create function private.credit_earlier_answers() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  answer record;
  credit record;
begin
  for answer in
    select i.id, i.created_at, i.intent
    from public.messages i
    where i.org_id = new.org_id and i.lead_id = new.lead_id and i.direction = 'inbound'
      and i.campaign_id is null and i.phone_number_id is not distinct from new.phone_number_id
      and i.created_at >= new.created_at
    order by i.created_at, i.id
  loop
    credit := private.credit_answer(new.org_id, new.campaign_target_id, answer.created_at,
      answer.intent);
    update public.messages i
    set campaign_id = new.campaign_id,
        campaign_target_id = new.campaign_target_id,
        template_variant_id = new.template_variant_id,
        counts_as_reply = credit.counts_as_reply,
        counts_as_opt_out = credit.counts_as_opt_out
    where i.id = answer.id;
  end loop;
  return null;
end;
$$;
comment on function private.credit_earlier_answers() is
  'Trigger: credits to a campaign message just recorded the answers its lead sent since it
   was sent that no campaign message claimed (a reply that overtook the record).';
revoke all on function private.credit_earlier_answers() from public;

create trigger messages_credit_earlier_answers after insert on public.messages
  for each row when (new.direction = 'outbound' and new.campaign_target_id is not null
    and new.lead_id is not null)
  execute function private.credit_earlier_answers();

-- -----------------------------------------------------------------------------
-- What a message counts for, and under which keys
-- -----------------------------------------------------------------------------

create type private.message_counts as (
  sent integer,
  delivered integer,
  undelivered integer,
  failed integer,
  segments integer,
  cost numeric,
  inbound integer,
  replies integer,
  opt_outs integer,
  filtered integer
);

-- The one definition of the counters. Sent: handed to Twilio (it has a SID); delivered,
-- undelivered and failed: the outcomes Twilio reported for those (a reply that never reached
-- Twilio is no delivery failure); cost: what Twilio charged (its prices are negative);
-- filtered: error 30007, carrier filtering.
create function private.message_counts(m public.messages) returns private.message_counts
language sql
immutable
as $$
  select row(
    (m.direction = 'outbound' and m.twilio_sid is not null)::integer,
    (m.twilio_sid is not null and m.status = 'delivered')::integer,
    (m.twilio_sid is not null and m.status = 'undelivered')::integer,
    (m.twilio_sid is not null and m.status = 'failed')::integer,
    case when m.direction = 'outbound' and m.twilio_sid is not null
      then coalesce(m.segments, 1)::integer else 0 end,
    case when m.direction = 'outbound' then abs(coalesce(m.price, 0)) else 0 end,
    (m.direction = 'inbound')::integer,
    m.counts_as_reply::integer,
    m.counts_as_opt_out::integer,
    (m.direction = 'outbound' and m.error_code is not distinct from 30007)::integer
  )::private.message_counts
$$;
comment on function private.message_counts(public.messages) is
  'What one message counts for in the metrics: the single definition the triggers, the
   rollups and any recount use.';

create type public.metric_dimension as enum (
  'org_hour', 'campaign_day', 'campaign_5min', 'variant', 'number_hour', 'campaign_number'
);
comment on type public.metric_dimension is
  'How a metric_rollups row is keyed: per organization and UTC hour; per campaign and UTC
   day; per campaign and 5 minutes (the last 7 days, for the auto-pause window); per
   template variant; per sending number and UTC hour; per campaign and sending number.';

-- The rollup keys one message (by its organization, creation time, campaign, variant and
-- number) counts under. Inlined by the planner where it is used.
create function private.metric_keys(
  message_org_id uuid,
  message_at timestamptz,
  message_campaign_id uuid,
  message_variant_id uuid,
  message_number_id uuid
) returns table (
  org_id uuid,
  dimension text,
  bucket timestamptz,
  campaign_id uuid,
  template_variant_id uuid,
  phone_number_id uuid
)
language sql
immutable
as $$
  select $1, 'org_hour'::text,
    date_bin(interval '1 hour', $2, timestamptz '2000-01-01 00:00:00+00'),
    null::uuid, null::uuid, null::uuid
  union all
  select $1, 'campaign_day', date_bin(interval '1 day', $2, timestamptz '2000-01-01 00:00:00+00'),
    $3, null, null
  where $3 is not null
  union all
  select $1, 'campaign_5min',
    date_bin(interval '5 minutes', $2, timestamptz '2000-01-01 00:00:00+00'), $3, null, null
  where $3 is not null
  union all
  select $1, 'variant', null, $3, $4, null
  where $4 is not null
  union all
  select $1, 'number_hour', date_bin(interval '1 hour', $2, timestamptz '2000-01-01 00:00:00+00'),
    null, null, $5
  where $5 is not null
  union all
  select $1, 'campaign_number', null, $3, null, $5
  where $3 is not null and $5 is not null
$$;
comment on function private.metric_keys(uuid, timestamptz, uuid, uuid, uuid) is
  'The metric_rollups keys a message counts under (see public.metric_dimension).';

-- -----------------------------------------------------------------------------
-- Rollups and the deltas not folded into them yet
-- -----------------------------------------------------------------------------

create table public.metric_rollups (
  id bigint generated always as identity primary key,
  org_id uuid not null references public.organizations (id) on delete cascade,
  -- text checked against the enum: leakproof equality, so dimension filters use indexes
  -- under RLS.
  dimension text not null
    constraint metric_rollups_dimension_valid
      check (dimension::public.metric_dimension is not null),
  bucket timestamptz,
  -- No foreign keys: a deleted campaign, variant or number keeps its history.
  campaign_id uuid,
  template_variant_id uuid,
  phone_number_id uuid,
  sent bigint not null default 0,
  delivered bigint not null default 0,
  undelivered bigint not null default 0,
  failed bigint not null default 0,
  segments bigint not null default 0,
  cost numeric(14, 5) not null default 0,
  inbound bigint not null default 0,
  replies bigint not null default 0,
  opt_outs bigint not null default 0,
  filtered bigint not null default 0,
  constraint metric_rollups_key unique nulls not distinct
    (org_id, dimension, bucket, campaign_id, phone_number_id, template_variant_id)
);
comment on table public.metric_rollups is
  'Message counters per organization and hour, campaign and day, campaign and 5 minutes,
   template variant, sending number and hour, campaign and number; folded once a minute from
   the deltas the messages trigger writes. Read through dashboard_metrics and
   campaign_analytics, which add the deltas not folded yet.';
create index metric_rollups_campaign_idx
  on public.metric_rollups (org_id, dimension, campaign_id, bucket);
create index metric_rollups_number_idx
  on public.metric_rollups (org_id, dimension, phone_number_id, bucket);

alter table public.metric_rollups enable row level security;
create policy metric_rollups_select_policy on public.metric_rollups
  for select to authenticated
  using (org_id = any (array(select private.org_ids_with_role())));
revoke all on public.metric_rollups from anon, authenticated, service_role;
grant select on public.metric_rollups to authenticated, service_role;

-- Append-only: many writers at once, none waiting for another. No foreign keys (an
-- organization deleted while its messages go leaves deltas the fold drops).
create table private.metric_deltas (
  id bigint generated always as identity,
  org_id uuid not null,
  at timestamptz not null,
  campaign_id uuid,
  template_variant_id uuid,
  phone_number_id uuid,
  sent integer not null,
  delivered integer not null,
  undelivered integer not null,
  failed integer not null,
  segments integer not null,
  cost numeric not null,
  inbound integer not null,
  replies integer not null,
  opt_outs integer not null,
  filtered integer not null,
  -- One index, which readers of one organization's deltas use too.
  primary key (org_id, id)
);
comment on table private.metric_deltas is
  'What message changes added to or took from the counters since the last fold.';

-- The difference a message change makes, under the old row's keys and the new one's.
create function private.record_message_counts() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  before private.message_counts;
  after private.message_counts;
begin
  if tg_op <> 'INSERT' then
    before := private.message_counts(old);
  end if;
  if tg_op <> 'DELETE' then
    after := private.message_counts(new);
  end if;
  if tg_op = 'UPDATE' and (old.org_id, old.created_at, old.campaign_id,
      old.template_variant_id, old.phone_number_id)
    is not distinct from (new.org_id, new.created_at, new.campaign_id,
      new.template_variant_id, new.phone_number_id) then
    if before is not distinct from after then
      return null;
    end if;
    insert into private.metric_deltas values (default, new.org_id, new.created_at,
      new.campaign_id, new.template_variant_id, new.phone_number_id, after.sent - before.sent,
      after.delivered - before.delivered, after.undelivered - before.undelivered,
      after.failed - before.failed, after.segments - before.segments,
      after.cost - before.cost, after.inbound - before.inbound,
      after.replies - before.replies, after.opt_outs - before.opt_outs,
      after.filtered - before.filtered);
    return null;
  end if;
  -- A campaign, variant or number deleted: its foreign keys null the message's key (the
  -- row it named is gone). Its counts stay where they were counted, so a deleted campaign
  -- keeps its history; a key a person clears moves them.
  if tg_op = 'UPDATE' and before is not distinct from after
    and (old.org_id, old.created_at) is not distinct from (new.org_id, new.created_at)
    and (new.campaign_id is not distinct from old.campaign_id or (new.campaign_id is null
      and not exists (select 1 from public.campaigns c where c.id = old.campaign_id)))
    and (new.template_variant_id is not distinct from old.template_variant_id
      or (new.template_variant_id is null and not exists (
        select 1 from public.template_variants v where v.id = old.template_variant_id)))
    and (new.phone_number_id is not distinct from old.phone_number_id
      or (new.phone_number_id is null and not exists (
        select 1 from public.phone_numbers p where p.id = old.phone_number_id))) then
    return null;
  end if;
  if tg_op <> 'INSERT' then
    insert into private.metric_deltas values (default, old.org_id, old.created_at,
      old.campaign_id,
      old.template_variant_id, old.phone_number_id, -before.sent, -before.delivered,
      -before.undelivered, -before.failed, -before.segments, -before.cost, -before.inbound,
      -before.replies, -before.opt_outs, -before.filtered);
  end if;
  if tg_op <> 'DELETE' then
    insert into private.metric_deltas values (default, new.org_id, new.created_at,
      new.campaign_id,
      new.template_variant_id, new.phone_number_id, after.sent, after.delivered,
      after.undelivered, after.failed, after.segments, after.cost, after.inbound,
      after.replies, after.opt_outs, after.filtered);
  end if;
  return null;
end;
$$;
comment on function private.record_message_counts() is
  'Trigger: appends to private.metric_deltas what a message''s insert, change or delete adds
   to or takes from the counters.';
revoke all on function private.record_message_counts() from public;

create trigger messages_record_counts_insert after insert on public.messages
  for each row execute function private.record_message_counts();
create trigger messages_record_counts_delete after delete on public.messages
  for each row execute function private.record_message_counts();
create trigger messages_record_counts_update after update on public.messages
  for each row when (
    (old.status, old.error_code, old.price, old.segments, old.twilio_sid, old.campaign_id,
      old.template_variant_id, old.phone_number_id, old.counts_as_reply,
      old.counts_as_opt_out, old.org_id, old.created_at)
    is distinct from
    (new.status, new.error_code, new.price, new.segments, new.twilio_sid, new.campaign_id,
      new.template_variant_id, new.phone_number_id, new.counts_as_reply,
      new.counts_as_opt_out, new.org_id, new.created_at)
  )
  execute function private.record_message_counts();

-- The counters of one organization under their keys, deltas not folded yet included:
-- exact at any moment. Inlined (SQL, not security definer): callers filter by dimension,
-- bucket, campaign or number and the filters reach the indexes.
create function private.org_metric_rows(org uuid) returns table (
  dimension text,
  bucket timestamptz,
  campaign_id uuid,
  template_variant_id uuid,
  phone_number_id uuid,
  sent bigint,
  delivered bigint,
  undelivered bigint,
  failed bigint,
  segments bigint,
  cost numeric,
  inbound bigint,
  replies bigint,
  opt_outs bigint,
  filtered bigint
)
language sql
stable
as $$
  select r.dimension, r.bucket, r.campaign_id, r.template_variant_id, r.phone_number_id,
    r.sent, r.delivered, r.undelivered, r.failed, r.segments, r.cost, r.inbound, r.replies,
    r.opt_outs, r.filtered
  from public.metric_rollups r
  where r.org_id = org
  union all
  select k.dimension, k.bucket, k.campaign_id, k.template_variant_id, k.phone_number_id,
    d.sent, d.delivered, d.undelivered, d.failed, d.segments, d.cost, d.inbound, d.replies,
    d.opt_outs, d.filtered
  -- Summed per 5 minutes and key first (hours and days are whole multiples of 5 minutes,
  -- so the keys are the same): a busy minute's thousands of deltas become a few rows.
  from (
    select date_bin(interval '5 minutes', d.at, timestamptz '2000-01-01 00:00:00+00') as at,
      d.campaign_id, d.template_variant_id, d.phone_number_id, sum(d.sent)::bigint as sent,
      sum(d.delivered)::bigint as delivered, sum(d.undelivered)::bigint as undelivered,
      sum(d.failed)::bigint as failed, sum(d.segments)::bigint as segments,
      sum(d.cost) as cost, sum(d.inbound)::bigint as inbound,
      sum(d.replies)::bigint as replies, sum(d.opt_outs)::bigint as opt_outs,
      sum(d.filtered)::bigint as filtered
    from private.metric_deltas d
    where d.org_id = org
    group by 1, 2, 3, 4
  ) d
  cross join lateral private.metric_keys(org, d.at, d.campaign_id, d.template_variant_id,
    d.phone_number_id) k
$$;
comment on function private.org_metric_rows(uuid) is
  'An organization''s counters by key: the rollups and the deltas not folded yet (sum them).';
revoke all on function private.org_metric_rows(uuid) from public;

-- Sums the deltas into the rollups, in one statement (a delta written meanwhile waits for
-- the next fold), one fold at a time. 5-minute rows older than 7 days go.
create function private.fold_metrics() returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  folded bigint;
begin
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('private.fold_metrics'));
  with
  taken as (
    delete from private.metric_deltas d returning d.*
  ),
  summed as (
    select k.org_id, k.dimension, k.bucket, k.campaign_id, k.template_variant_id,
      k.phone_number_id, sum(d.sent) as sent, sum(d.delivered) as delivered,
      sum(d.undelivered) as undelivered, sum(d.failed) as failed, sum(d.segments) as segments,
      sum(d.cost) as cost, sum(d.inbound) as inbound, sum(d.replies) as replies,
      sum(d.opt_outs) as opt_outs, sum(d.filtered) as filtered
    from taken d
    cross join lateral private.metric_keys(d.org_id, d.at, d.campaign_id,
      d.template_variant_id, d.phone_number_id) k
    group by k.org_id, k.dimension, k.bucket, k.campaign_id, k.template_variant_id,
      k.phone_number_id
  ),
  upserted as (
    insert into public.metric_rollups as r (org_id, dimension, bucket, campaign_id,
      template_variant_id, phone_number_id, sent, delivered, undelivered, failed, segments,
      cost, inbound, replies, opt_outs, filtered)
    select s.org_id, s.dimension, s.bucket, s.campaign_id, s.template_variant_id,
      s.phone_number_id, s.sent, s.delivered, s.undelivered, s.failed, s.segments, s.cost,
      s.inbound, s.replies, s.opt_outs, s.filtered
    from summed s
    -- Deltas of a deleted organization are dropped.
    where exists (select 1 from public.organizations o where o.id = s.org_id)
    on conflict on constraint metric_rollups_key do update
    set sent = r.sent + excluded.sent,
        delivered = r.delivered + excluded.delivered,
        undelivered = r.undelivered + excluded.undelivered,
        failed = r.failed + excluded.failed,
        segments = r.segments + excluded.segments,
        cost = r.cost + excluded.cost,
        inbound = r.inbound + excluded.inbound,
        replies = r.replies + excluded.replies,
        opt_outs = r.opt_outs + excluded.opt_outs,
        filtered = r.filtered + excluded.filtered
  )
  select count(*) from taken into folded;
  delete from public.metric_rollups r
  where r.dimension = 'campaign_5min' and r.bucket < now() - interval '7 days';
  return folded;
end;
$$;
comment on function private.fold_metrics() is
  'Sums private.metric_deltas into public.metric_rollups (one fold at a time) and drops
   5-minute rows older than 7 days; returns how many deltas it folded.';
revoke all on function private.fold_metrics() from public;
grant execute on function private.fold_metrics() to sms_system;

-- Counts the stored messages of an organization as deltas (summed per 5 minutes and key),
-- for the next fold: for messages written with the triggers off (a migration's backfill, a
-- bulk load), whose counts are in neither the rollups nor the deltas yet.
create function private.count_stored_messages(org uuid) returns void
language sql
security definer
set search_path = ''
as $$
  insert into private.metric_deltas (org_id, at, campaign_id, template_variant_id,
    phone_number_id, sent, delivered, undelivered, failed, segments, cost, inbound, replies,
    opt_outs, filtered)
  select m.org_id, date_bin(interval '5 minutes', m.created_at,
      timestamptz '2000-01-01 00:00:00+00'),
    m.campaign_id, m.template_variant_id, m.phone_number_id, sum(c.sent), sum(c.delivered),
    sum(c.undelivered), sum(c.failed), sum(c.segments), sum(c.cost), sum(c.inbound),
    sum(c.replies), sum(c.opt_outs), sum(c.filtered)
  from public.messages m
  cross join lateral private.message_counts(m) c
  where m.org_id = count_stored_messages.org
  group by 1, 2, 3, 4, 5
$$;
comment on function private.count_stored_messages(uuid) is
  'Adds the counts of an organization''s stored messages to the deltas (for the next fold):
   for messages written with the metric triggers off (the backfill below, bulk loads).';
revoke all on function private.count_stored_messages(uuid) from public;

-- Messages stored before this migration, counted once.
select private.count_stored_messages(o.id) from public.organizations o;
select private.fold_metrics();
