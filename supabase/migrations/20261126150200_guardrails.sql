-- =============================================================================
-- Guardrails fed by the message metrics: number health (a poor number leaves the rotation
-- and its organization is told) and auto-pause (a running campaign whose opt-out or
-- carrier-filtered rate crosses its organization's threshold pauses itself, with the
-- reason, until a person resumes it). Both run right after each fold of the metrics:
-- once a minute from pg_cron, and every few seconds from a running campaign tick.
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Settings
-- -----------------------------------------------------------------------------

alter table public.organizations
  add column auto_pause_opt_out_rate numeric(5, 4) default 0.02
    constraint organizations_auto_pause_opt_out_rate_range
      check (auto_pause_opt_out_rate > 0 and auto_pause_opt_out_rate <= 1),
  add column auto_pause_filtered_rate numeric(5, 4) default 0.05
    constraint organizations_auto_pause_filtered_rate_range
      check (auto_pause_filtered_rate > 0 and auto_pause_filtered_rate <= 1),
  add column auto_pause_min_sample integer not null default 200
    constraint organizations_auto_pause_min_sample_range
      check (auto_pause_min_sample between 1 and 1000000),
  add column auto_pause_window interval not null default '24 hours'
    constraint organizations_auto_pause_window_range
      check (auto_pause_window between interval '15 minutes' and interval '7 days');
comment on column public.organizations.auto_pause_opt_out_rate is
  'A running campaign pauses itself when its opt-outs over its sent messages in the window
   exceed this share (null: never for opt-outs).';
comment on column public.organizations.auto_pause_filtered_rate is
  'A running campaign pauses itself when its carrier-filtered messages (30007) over its sent
   messages in the window exceed this share (null: never for filtering).';
comment on column public.organizations.auto_pause_min_sample is
  'Messages a campaign must have sent in the window before auto-pause judges it.';
comment on column public.organizations.auto_pause_window is
  'The rolling window auto-pause looks at (from the later of its start and its last resume).';
grant update (auto_pause_opt_out_rate, auto_pause_filtered_rate, auto_pause_min_sample,
  auto_pause_window) on public.organizations to authenticated;

alter table public.campaigns
  add column guarded_since timestamptz,
  add column auto_paused_at timestamptz;
comment on column public.campaigns.guarded_since is
  'When the campaign last started running or was resumed: auto-pause counts what it sent
   since then (a person''s resume is a fresh start).';
comment on column public.campaigns.auto_paused_at is
  'When the campaign last paused itself (its status_reason says why); cleared on resume.';

alter table public.phone_numbers
  add column health_since timestamptz;
comment on column public.phone_numbers.health_since is
  'Health counts the number''s messages from this hour on (set when an admin restores a poor
   number, so its past does not take it out again).';

-- Starting or resuming stamps guarded_since; resuming clears the auto-pause.
create function private.stamp_campaign_guard() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.status = 'running' and old.status is distinct from 'running' then
    new.guarded_since := now();
    new.auto_paused_at := null;
  end if;
  return new;
end;
$$;
comment on function private.stamp_campaign_guard() is
  'Trigger: a campaign that starts running or resumes restarts its auto-pause window.';
revoke all on function private.stamp_campaign_guard() from public;
create trigger campaigns_stamp_guard before update of status on public.campaigns
  for each row execute function private.stamp_campaign_guard();
update public.campaigns set guarded_since = coalesce(started_at, now())
where status in ('running', 'paused');

-- -----------------------------------------------------------------------------
-- Number health
-- -----------------------------------------------------------------------------

-- From the last 7 days (since its restore, if later): poor when fewer than 80% of the
-- messages with a known outcome were delivered, or 5% or more were carrier-filtered, or
-- 3% or more of those sent drew an opt-out; good at 95% delivered and under 1% of each;
-- moderate between; unknown below 50 sent. Score: 100 × delivery − 500 × filtered rate −
-- 500 × opt-out rate, within 0..100.
create function private.number_health_grade(
  sent numeric, delivered numeric, lost numeric, filtered numeric, opt_outs numeric
) returns table (health public.number_health, score numeric)
language sql
immutable
as $$
  select
    case
      when coalesce(sent, 0) < 50 then 'unknown'
      when r.delivery < 0.80 or r.filtered >= 0.05 or r.opt_out >= 0.03 then 'poor'
      when r.delivery < 0.95 or r.filtered >= 0.01 or r.opt_out >= 0.01 then 'moderate'
      else 'good'
    end::public.number_health,
    case when coalesce(sent, 0) >= 50 then
      round(greatest(0, least(100,
        100 * coalesce(r.delivery, 1) - 500 * r.filtered - 500 * r.opt_out)), 2)
    end
  from (
    select delivered / nullif(delivered + lost, 0) as delivery,
      coalesce(filtered / nullif(sent, 0), 0) as filtered,
      coalesce(opt_outs / nullif(sent, 0), 0) as opt_out
  ) r
$$;
comment on function private.number_health_grade(numeric, numeric, numeric, numeric, numeric) is
  'A sending number''s health and score from its counters over the health window.';

-- Grades every number of every organization; a change of grade is saved and broadcast on
-- org:<id> (phone_number.health), the score when it moved 5 points (or once a day). A poor
-- number stays poor (out of the rotation) until an admin restores it with
-- restore_number_health.
create function private.refresh_number_health(at timestamptz default now()) returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  changed integer := 0;
  n record;
begin
  for n in
    with graded as (
      select p.id, p.org_id, p.phone, p.health as previous, p.health_since, g.health,
        g.score, s.*
      from public.phone_numbers p
      cross join lateral (
        select coalesce(sum(r.sent), 0) as sent, coalesce(sum(r.delivered), 0) as delivered,
          coalesce(sum(r.undelivered + r.failed), 0) as lost,
          coalesce(sum(r.filtered), 0) as filtered, coalesce(sum(r.opt_outs), 0) as opt_outs
        from private.org_metric_rows(p.org_id) r
        where r.dimension = 'number_hour' and r.phone_number_id = p.id
          and r.bucket >= greatest(
            date_bin(interval '1 hour', at - interval '7 days',
              timestamptz '2000-01-01 00:00:00+00'),
            date_bin(interval '1 hour', p.health_since, timestamptz '2000-01-01 00:00:00+00')
              + interval '1 hour')
      ) s
      cross join lateral private.number_health_grade(s.sent, s.delivered, s.lost,
        s.filtered, s.opt_outs) g
    )
    update public.phone_numbers p
    set health = case when p.health = 'poor' then 'poor' else g.health end,
        health_score = g.score,
        health_checked_at = at
    from graded g
    where p.id = g.id
      -- Not when an admin restored it meanwhile (graded on what it was before).
      and p.health_since is not distinct from g.health_since
      -- A change of grade, or of the score by 5 points or more, or once a day: every
      -- update of a number is audited, and this runs every few seconds while sending.
      and (p.health is distinct from case when p.health = 'poor' then 'poor' else g.health end
        or (p.health_score is null) <> (g.score is null)
        or abs(p.health_score - g.score) >= 5
        or p.health_checked_at is null or p.health_checked_at < at - interval '1 day')
    returning p.id, p.org_id, p.phone, g.previous, p.health, p.health_score, g.sent,
      g.delivered, g.lost, g.filtered, g.opt_outs
  loop
    if n.health is distinct from n.previous then
      changed := changed + 1;
      perform realtime.send(jsonb_build_object(
          'phone_number_id', n.id, 'phone', n.phone, 'health', n.health,
          'previous_health', n.previous, 'score', n.health_score,
          'in_rotation', n.health <> 'poor', 'sent', n.sent,
          'delivery_rate', private.rate(n.delivered, n.delivered + n.lost),
          'filtered_rate', private.rate(n.filtered, n.sent),
          'opt_out_rate', private.rate(n.opt_outs, n.sent), 'at', at),
        'phone_number.health', 'org:' || n.org_id::text, true);
    end if;
  end loop;
  return changed;
end;
$$;
comment on function private.refresh_number_health(timestamptz) is
  'Grades every sending number from its last 7 days of metrics; saves and broadcasts
   changes (phone_number.health on org:<id>); poor stays poor until an admin restores it.';
revoke all on function private.refresh_number_health(timestamptz) from public;

-- An admin puts a poor number back: its health starts again from the next hour's messages.
create function public.restore_number_health(phone_number_id uuid)
returns public.phone_numbers
language plpgsql
security definer
set search_path = ''
as $$
declare
  p public.phone_numbers;
begin
  select * into p from public.phone_numbers n where n.id = restore_number_health.phone_number_id;
  if p.id is null or not private.has_role_on_org(p.org_id) then
    raise exception 'sending number % not found', restore_number_health.phone_number_id
      using errcode = 'PT404';
  end if;
  if not private.has_role_on_org(p.org_id, '{admin}') then
    raise exception 'restoring a sending number''s health needs the admin role'
      using errcode = '42501';
  end if;
  update public.phone_numbers n
  set health = 'unknown', health_score = null, health_since = now(), health_checked_at = now()
  where n.id = p.id
  returning * into p;
  perform private.broadcast_to_org(p.org_id, 'phone_number.health', jsonb_build_object(
    'phone_number_id', p.id, 'phone', p.phone, 'health', p.health, 'in_rotation', true,
    'restored_by', auth.uid(), 'at', now()));
  return p;
end;
$$;
comment on function public.restore_number_health(uuid) is
  'Admins: puts a number health took out of rotation back (health unknown, counted afresh
   from the next hour).';
revoke all on function public.restore_number_health(uuid) from public, anon;
grant execute on function public.restore_number_health(uuid) to authenticated;

-- -----------------------------------------------------------------------------
-- Auto-pause
-- -----------------------------------------------------------------------------

-- Each running campaign's opt-out and filtered rates over its organization's window (whole
-- 5-minute buckets from the later of the window's start and its start or last resume):
-- over a threshold with at least the minimum sample sent, it pauses with the reason.
create function private.auto_pause_campaigns(at timestamptz default now()) returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  c record;
  paused integer := 0;
  reason text;
begin
  for c in
    select k.id, k.org_id, s.sent, s.opt_outs, s.filtered, o.auto_pause_opt_out_rate,
      o.auto_pause_filtered_rate, o.auto_pause_min_sample, s.since
    from public.campaigns k
    join public.organizations o on o.id = k.org_id
    cross join lateral (
      select date_bin(interval '5 minutes',
          greatest(at - o.auto_pause_window, coalesce(k.guarded_since, k.started_at, at))
            - interval '1 microsecond', timestamptz '2000-01-01 00:00:00+00')
          + interval '5 minutes' as since
    ) w
    cross join lateral (
      select w.since, coalesce(sum(r.sent), 0) as sent, coalesce(sum(r.opt_outs), 0) as opt_outs,
        coalesce(sum(r.filtered), 0) as filtered
      from private.org_metric_rows(k.org_id) r
      where r.dimension = 'campaign_5min' and r.campaign_id = k.id and r.bucket >= w.since
    ) s
    where k.status = 'running'
      and (o.auto_pause_opt_out_rate is not null or o.auto_pause_filtered_rate is not null)
    order by k.id
  loop
    continue when c.sent < c.auto_pause_min_sample;
    reason := case
      when c.opt_outs > c.auto_pause_opt_out_rate * c.sent then format(
        'auto-paused: %s opt-outs of %s sent since %s (%s%%) is over the organization''s %s%%',
        c.opt_outs, c.sent, to_char(c.since at time zone 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'),
        round(100.0 * c.opt_outs / c.sent, 2), round(100 * c.auto_pause_opt_out_rate, 2))
      when c.filtered > c.auto_pause_filtered_rate * c.sent then format(
        'auto-paused: %s of %s sent since %s carrier-filtered (30007, %s%%) is over the '
        'organization''s %s%%',
        c.filtered, c.sent, to_char(c.since at time zone 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'),
        round(100.0 * c.filtered / c.sent, 2), round(100 * c.auto_pause_filtered_rate, 2))
    end;
    continue when reason is null;
    -- One campaign at a time, each on its own: a campaign a claim holds (for share) or a
    -- person is changing is left for the next run, and one that stopped running meanwhile
    -- is no error that would undo the fold and the other pauses.
    begin
      perform 1 from public.campaigns k
      where k.id = c.id and k.status = 'running'
      for update skip locked;
      continue when not found;
      perform private.change_campaign_status(c.id, 'pause', reason);
      update public.campaigns k set auto_paused_at = at where k.id = c.id;
      perform realtime.send(jsonb_build_object(
          'campaign_id', c.id, 'reason', reason, 'sent', c.sent, 'opt_outs', c.opt_outs,
          'filtered', c.filtered, 'since', c.since, 'at', at),
        'campaign.auto_paused', 'campaign:' || c.id::text, true);
      paused := paused + 1;
    exception when sqlstate 'PT409' then
      null;
    end;
  end loop;
  return paused;
end;
$$;
comment on function private.auto_pause_campaigns(timestamptz) is
  'Pauses every running campaign whose opt-out or carrier-filtered rate over its
   organization''s window (since its start or last resume) exceeds the organization''s
   threshold with at least the minimum sample; broadcasts campaign.status on org:<id> and
   campaign.auto_paused on campaign:<id>.';
revoke all on function private.auto_pause_campaigns(timestamptz) from public;

-- -----------------------------------------------------------------------------
-- The job: fold, grade numbers, guard campaigns
-- -----------------------------------------------------------------------------

create function private.run_metric_jobs() returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  folded bigint;
begin
  folded := private.fold_metrics();
  perform private.sample_webhook_counts();
  return jsonb_build_object(
    'folded', folded,
    'numbers_changed', private.refresh_number_health(),
    'campaigns_paused', private.auto_pause_campaigns());
end;
$$;
comment on function private.run_metric_jobs() is
  'Folds the metric deltas, samples the webhook counters, grades the sending numbers and
   auto-pauses campaigns over their thresholds; pg_cron runs it every minute, a running
   campaign tick every few seconds.';
revoke all on function private.run_metric_jobs() from public;
grant execute on function private.run_metric_jobs() to sms_system;

select cron.schedule('message-metrics', '* * * * *', 'select private.run_metric_jobs()');
