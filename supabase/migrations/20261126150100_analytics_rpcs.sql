-- =============================================================================
-- Dashboards: dashboard_metrics(from_at, to_at) for an organization and
-- campaign_analytics(campaign_id), both read from the metric rollups plus the deltas not
-- folded yet (exact, never a scan of public.messages). Any member may call them for their
-- own organization; nobody learns anything about another's.
-- =============================================================================

-- The organization a dashboard is for: the one named (the caller must be a member), or
-- the caller's only one.
create function private.caller_org(org uuid) returns uuid
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  orgs uuid[];
begin
  if auth.uid() is null then
    raise exception 'sign in first' using errcode = '42501';
  end if;
  if org is not null then
    if not private.has_role_on_org(org) then
      raise exception 'not a member of organization %', org using errcode = '42501';
    end if;
    return org;
  end if;
  orgs := array(select private.org_ids_with_role());
  if cardinality(orgs) = 1 then
    return orgs[1];
  elsif cardinality(orgs) = 0 then
    raise exception 'not a member of any organization' using errcode = '42501';
  end if;
  raise exception 'org_id: you belong to % organizations; say which one', cardinality(orgs)
    using errcode = '22023';
end;
$$;
comment on function private.caller_org(uuid) is
  'The organization named (42501 unless the caller is a member) or the caller''s only one
   (22023 when they have several).';
revoke all on function private.caller_org(uuid) from public;

-- The caller sees the campaign (else PT404, as for a missing one).
create function private.visible_campaign(id uuid) returns public.campaigns
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  c public.campaigns;
begin
  select * into c from public.campaigns k where k.id = visible_campaign.id;
  if c.id is null or auth.uid() is null or not private.has_role_on_org(c.org_id) then
    raise exception 'campaign % not found', visible_campaign.id using errcode = 'PT404';
  end if;
  return c;
end;
$$;
comment on function private.visible_campaign(uuid) is
  'The campaign, when the caller is a member of its organization; PT404 otherwise.';
revoke all on function private.visible_campaign(uuid) from public;

-- A share as a rate rounded to 4 places; null when there is nothing to divide by.
create function private.rate(part numeric, whole numeric) returns numeric
language sql
immutable
as $$ select round(part / nullif(whole, 0), 4) $$;
comment on function private.rate(numeric, numeric) is
  'part / whole rounded to 4 places; null when whole is 0 or null.';

-- The counters and their rates as JSON (rates over sent; delivery over the messages whose
-- outcome is known).
create function private.metric_summary(
  sent numeric, delivered numeric, undelivered numeric, failed numeric, segments numeric,
  cost numeric, inbound numeric, replies numeric, opt_outs numeric, filtered numeric
) returns jsonb
language sql
immutable
as $$
  select jsonb_build_object(
    'sent', coalesce(sent, 0), 'delivered', coalesce(delivered, 0),
    'undelivered', coalesce(undelivered, 0), 'failed', coalesce(failed, 0),
    'segments', coalesce(segments, 0), 'cost', coalesce(cost, 0),
    'inbound', coalesce(inbound, 0), 'replies', coalesce(replies, 0),
    'opt_outs', coalesce(opt_outs, 0), 'filtered', coalesce(filtered, 0),
    'delivery_rate', private.rate(delivered, delivered + undelivered + failed),
    'reply_rate', private.rate(replies, sent),
    'opt_out_rate', private.rate(opt_outs, sent),
    'filtered_rate', private.rate(filtered, sent)
  )
$$;
comment on function private.metric_summary(numeric, numeric, numeric, numeric, numeric,
  numeric, numeric, numeric, numeric, numeric) is
  'The dashboards'' counters and rates as one JSON object.';

-- The standard normal distribution function (Abramowitz and Stegun 7.1.26, error < 1.5e-7).
create function private.normal_cdf(z double precision) returns double precision
language sql
immutable
as $$
  -- exp underflows beyond |z| ≈ 38; the tail is 0 long before (|x| > 26 gives < 1e-300).
  select 0.5 * (1 + sign(z) * (1 - c.poly * exp(greatest(-a.x * a.x, -700))))
  from (select abs(z) / sqrt(2) as x) a
  cross join lateral (select 1 / (1 + 0.3275911 * a.x) as t) b
  cross join lateral (
    select ((((1.061405429 * b.t - 1.453152027) * b.t + 1.421413741) * b.t - 0.284496736) * b.t
      + 0.254829592) * b.t as poly
  ) c
$$;
comment on function private.normal_cdf(double precision) is
  'The standard normal distribution function (for the A/B p-values).';

-- Two-sided p-value of a two-proportion z-test (a successes of n against b of m); null
-- when either side has no messages or the pooled rate is 0 or 1.
create function private.two_proportion_p(a numeric, n numeric, b numeric, m numeric)
returns numeric
language sql
immutable
as $$
  select round((2 * (1 - private.normal_cdf(abs(
      (a / n - b / m) / sqrt(p * (1 - p) * (1 / n + 1 / m))
    )::double precision)))::numeric, 4)
  from (select (a + b) / nullif(n + m, 0) as p) pooled
  where n > 0 and m > 0 and p > 0 and p < 1
$$;
comment on function private.two_proportion_p(numeric, numeric, numeric, numeric) is
  'Two-sided p-value that a/n and b/m differ only by chance (two-proportion z-test).';

-- -----------------------------------------------------------------------------
-- dashboard_metrics
-- -----------------------------------------------------------------------------

create function public.dashboard_metrics(
  from_at timestamptz,
  to_at timestamptz,
  org_id uuid default null
) returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  org uuid;
  step interval;
  first_hour timestamptz;
  result jsonb;
begin
  -- The caller's organization: private.has_role_on_org checks membership.
  org := private.caller_org(dashboard_metrics.org_id);
  if not private.has_role_on_org(org) then
    raise exception 'not a member of organization %', org using errcode = '42501';
  end if;
  if dashboard_metrics.from_at is null or dashboard_metrics.to_at is null
    or dashboard_metrics.from_at >= dashboard_metrics.to_at then
    raise exception 'from_at (%) must be before to_at (%)', dashboard_metrics.from_at,
      dashboard_metrics.to_at
      using errcode = '22023';
  end if;
  if dashboard_metrics.to_at - dashboard_metrics.from_at > interval '400 days' then
    raise exception 'from_at and to_at are % apart: at most 400 days',
      dashboard_metrics.to_at - dashboard_metrics.from_at
      using errcode = '22023';
  end if;
  -- Hours for up to two days, days beyond (UTC).
  step := case when dashboard_metrics.to_at - dashboard_metrics.from_at <= interval '2 days'
    then interval '1 hour' else interval '1 day' end;
  first_hour := date_bin(interval '1 hour', dashboard_metrics.from_at,
    timestamptz '2000-01-01 00:00:00+00');

  with
  hours as (
    select r.bucket, sum(r.sent) as sent, sum(r.delivered) as delivered,
      sum(r.undelivered) as undelivered, sum(r.failed) as failed, sum(r.segments) as segments,
      sum(r.cost) as cost, sum(r.inbound) as inbound, sum(r.replies) as replies,
      sum(r.opt_outs) as opt_outs, sum(r.filtered) as filtered
    from private.org_metric_rows(org) r
    where r.dimension = 'org_hour' and r.bucket >= first_hour
      and r.bucket < dashboard_metrics.to_at
    group by r.bucket
  ),
  points as (
    select p.at, sum(h.sent) as sent, sum(h.delivered) as delivered,
      sum(h.undelivered) as undelivered, sum(h.failed) as failed, sum(h.replies) as replies,
      sum(h.opt_outs) as opt_outs, sum(h.filtered) as filtered, sum(h.inbound) as inbound
    from generate_series(date_bin(step, first_hour, timestamptz '2000-01-01 00:00:00+00'),
      dashboard_metrics.to_at - interval '1 microsecond', step) as p (at)
    left join hours h on date_bin(step, h.bucket, timestamptz '2000-01-01 00:00:00+00') = p.at
    group by p.at
  ),
  campaigns as (
    select r.campaign_id, sum(r.sent) as sent, sum(r.delivered) as delivered,
      sum(r.undelivered) as undelivered, sum(r.failed) as failed, sum(r.segments) as segments,
      sum(r.cost) as cost, sum(r.inbound) as inbound, sum(r.replies) as replies,
      sum(r.opt_outs) as opt_outs, sum(r.filtered) as filtered
    from private.org_metric_rows(org) r
    where r.dimension = 'campaign_day'
      and r.bucket >= date_bin(interval '1 day', first_hour, timestamptz '2000-01-01 00:00:00+00')
      and r.bucket < dashboard_metrics.to_at
    group by r.campaign_id
  )
  select jsonb_build_object(
    'org_id', org,
    'from', dashboard_metrics.from_at,
    'to', dashboard_metrics.to_at,
    'granularity', case when step = interval '1 hour' then 'hour' else 'day' end,
    'totals', (
      select private.metric_summary(sum(h.sent), sum(h.delivered), sum(h.undelivered),
        sum(h.failed), sum(h.segments), sum(h.cost), sum(h.inbound), sum(h.replies),
        sum(h.opt_outs), sum(h.filtered))
      from hours h),
    'active_campaigns', (
      select count(*) from public.campaigns c where c.org_id = org and c.status = 'running'),
    'series', (
      select coalesce(jsonb_agg(jsonb_build_object(
          'at', p.at, 'sent', coalesce(p.sent, 0), 'delivered', coalesce(p.delivered, 0),
          'undelivered', coalesce(p.undelivered, 0), 'failed', coalesce(p.failed, 0),
          'inbound', coalesce(p.inbound, 0), 'replies', coalesce(p.replies, 0),
          'opt_outs', coalesce(p.opt_outs, 0), 'filtered', coalesce(p.filtered, 0))
        order by p.at), '[]'::jsonb)
      from points p),
    'top_campaigns', (
      select coalesce(jsonb_agg(jsonb_build_object(
          'campaign_id', t.campaign_id, 'name', c.name, 'status', c.status)
          || private.metric_summary(t.sent, t.delivered, t.undelivered, t.failed, t.segments,
            t.cost, t.inbound, t.replies, t.opt_outs, t.filtered)
        order by t.sent desc, t.campaign_id), '[]'::jsonb)
      from (select * from campaigns order by sent desc, campaign_id limit 5) t
      left join public.campaigns c on c.org_id = org and c.id = t.campaign_id)
  ) into result;
  return result;
end;
$$;
comment on function public.dashboard_metrics(timestamptz, timestamptz, uuid) is
  'An organization''s messaging between from_at and to_at (UTC hours from the hour of
   from_at):
   totals and rates (delivery over messages with a known outcome; reply, opt-out and
   carrier-filtered over sent), running campaigns, a series by hour (up to 2 days) or day,
   and the 5 campaigns that sent most. Any member; org_id when they have several.';

-- When `remaining` messages are sent at `per_minute`, sending only inside the campaign's
-- hours and days in `zone`: each open window from `at` on takes what it can, the last one
-- ends the estimate. Null when nothing sends or it would take more than a year.
create function private.window_completion(
  remaining numeric,
  per_minute numeric,
  window_start time,
  window_end time,
  send_days smallint[],
  zone text,
  at timestamptz
) returns timestamptz
language plpgsql
immutable
set search_path = ''
as $$
declare
  local timestamp := at at time zone zone;
  day date := local::date;
  opens timestamp;
  closes timestamp;
  capacity numeric;
  left_over numeric := remaining;
begin
  if remaining <= 0 then
    return at;
  end if;
  if per_minute is null or per_minute <= 0 then
    return null;
  end if;
  for i in 0..366 loop
    if extract(isodow from day)::smallint = any (send_days) then
      opens := greatest(day + window_start, local);
      closes := day + window_end;
      if closes > opens then
        capacity := extract(epoch from closes - opens) / 60 * per_minute;
        if left_over <= capacity then
          return (opens + make_interval(secs => left_over / per_minute * 60)) at time zone zone;
        end if;
        left_over := left_over - capacity;
      end if;
    end if;
    day := day + 1;
  end loop;
  return null;
end;
$$;
comment on function private.window_completion(numeric, numeric, time, time, smallint[], text,
  timestamptz) is
  'When `remaining` messages at `per_minute` are sent, inside the campaign''s hours and days
   in `zone` (from `at`); null if never within a year.';

-- -----------------------------------------------------------------------------
-- campaign_analytics
-- -----------------------------------------------------------------------------

create function public.campaign_analytics(campaign_id uuid) returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  c public.campaigns;
  result jsonb;
  since timestamptz := date_bin(interval '5 minutes', now() - interval '15 minutes',
    timestamptz '2000-01-01 00:00:00+00');
begin
  -- PT404 unless the caller is a member of its organization.
  c := private.visible_campaign(campaign_analytics.campaign_id);

  with
  rows as materialized (
    select r.* from private.org_metric_rows(c.org_id) r
    where r.campaign_id = c.id
      and r.dimension in ('campaign_day', 'campaign_5min', 'variant', 'campaign_number')
      -- The pace needs the last 15 minutes of 5-minute rows only.
      and (r.dimension <> 'campaign_5min' or r.bucket >= since)
  ),
  variants as (
    select r.template_variant_id, sum(r.sent) as sent, sum(r.delivered) as delivered,
      sum(r.undelivered) as undelivered, sum(r.failed) as failed, sum(r.segments) as segments,
      sum(r.cost) as cost, sum(r.inbound) as inbound, sum(r.replies) as replies,
      sum(r.opt_outs) as opt_outs, sum(r.filtered) as filtered
    from rows r where r.dimension = 'variant'
    group by r.template_variant_id
  ),
  -- The variant that sent most is the control the others are compared with.
  control as (
    select v.* from variants v order by v.sent desc, v.template_variant_id limit 1
  ),
  targets as (
    select t.status, count(*) as n
    from public.campaign_targets t
    where t.org_id = c.org_id and t.campaign_id = c.id
    group by t.status
  ),
  pace as (
    select coalesce(sum(r.sent), 0) as sent,
      greatest(extract(epoch from now() - since) / 60, 1) as minutes
    from rows r where r.dimension = 'campaign_5min' and r.bucket >= since
  ),
  -- Sends a minute: the last 15 minutes' pace, or (none, e.g. outside the window) what the
  -- organization's numbers can send.
  rate as (
    select case when p.sent > 0 then p.sent / p.minutes else coalesce((
        select sum(60 / extract(epoch from n.spacing))
        from private.sender_numbers(array[c.org_id], now()) n where n.in_rotation), 0)
      end as per_minute
    from pace p
  ),
  -- The zone of the next target due (its ZIP's; New York's when unknown): the windows the
  -- estimate walks through.
  next_zone as (
    select coalesce((
      select l.zip_time_zone from public.campaign_targets t
      join public.leads l on l.org_id = t.org_id and l.id = t.lead_id
      where t.org_id = c.org_id and t.campaign_id = c.id and t.status = 'pending'
      order by t.not_before, t.id limit 1), 'America/New_York') as zone
  ),
  progress as (
    select coalesce(sum(t.n), 0) as targets,
      coalesce(sum(t.n) filter (where t.status = 'pending'), 0) as pending,
      coalesce(sum(t.n) filter (where t.status = 'claimed'), 0) as claimed,
      coalesce(sum(t.n) filter (where t.status = 'sent'), 0) as sent,
      coalesce(sum(t.n) filter (where t.status = 'unknown'), 0) as unknown,
      coalesce(sum(t.n) filter (where t.status = 'failed'), 0) as failed,
      coalesce(sum(t.n) filter (where t.status = 'skipped'), 0) as skipped,
      coalesce(sum(t.n) filter (where t.status = 'canceled'), 0) as canceled
    from targets t
  )
  select jsonb_build_object(
    'campaign', jsonb_build_object('id', c.id, 'org_id', c.org_id, 'name', c.name,
      'status', c.status, 'status_reason', c.status_reason, 'started_at', c.started_at,
      'completed_at', c.completed_at),
    'totals', (
      select private.metric_summary(sum(r.sent), sum(r.delivered), sum(r.undelivered),
        sum(r.failed), sum(r.segments), sum(r.cost), sum(r.inbound), sum(r.replies),
        sum(r.opt_outs), sum(r.filtered))
      from rows r where r.dimension = 'campaign_day'),
    'variants', (
      select coalesce(jsonb_agg(jsonb_build_object(
          'template_variant_id', v.template_variant_id, 'label', tv.label,
          'weight', tv.weight, 'control', v.template_variant_id = k.template_variant_id,
          'reply_p_value', case when v.template_variant_id <> k.template_variant_id then
            private.two_proportion_p(v.replies, v.sent, k.replies, k.sent) end,
          'opt_out_p_value', case when v.template_variant_id <> k.template_variant_id then
            private.two_proportion_p(v.opt_outs, v.sent, k.opt_outs, k.sent) end)
          || private.metric_summary(v.sent, v.delivered, v.undelivered, v.failed, v.segments,
            v.cost, v.inbound, v.replies, v.opt_outs, v.filtered)
        order by tv.position, v.template_variant_id), '[]'::jsonb)
      from variants v
      cross join control k
      left join public.template_variants tv
        on tv.org_id = c.org_id and tv.id = v.template_variant_id),
    'numbers', (
      select coalesce(jsonb_agg(jsonb_build_object(
          'phone_number_id', n.phone_number_id, 'phone', p.phone, 'health', p.health)
          || private.metric_summary(n.sent, n.delivered, n.undelivered, n.failed, n.segments,
            n.cost, n.inbound, n.replies, n.opt_outs, n.filtered)
        order by n.sent desc, n.phone_number_id), '[]'::jsonb)
      from (
        select r.phone_number_id, sum(r.sent) as sent, sum(r.delivered) as delivered,
          sum(r.undelivered) as undelivered, sum(r.failed) as failed,
          sum(r.segments) as segments, sum(r.cost) as cost, sum(r.inbound) as inbound,
          sum(r.replies) as replies, sum(r.opt_outs) as opt_outs, sum(r.filtered) as filtered
        from rows r where r.dimension = 'campaign_number'
        group by r.phone_number_id
      ) n
      left join public.phone_numbers p on p.org_id = c.org_id and p.id = n.phone_number_id),
    'progress', (
      select jsonb_build_object(
        'targets', g.targets, 'pending', g.pending, 'claimed', g.claimed, 'sent', g.sent,
        'unknown', g.unknown, 'failed', g.failed, 'skipped', g.skipped,
        'canceled', g.canceled, 'remaining', g.pending + g.claimed,
        'sent_per_minute', round(s.sent / s.minutes, 2),
        'estimate_per_minute', round(k.per_minute, 2),
        'estimated_completion_at', case
          when g.pending + g.claimed = 0 then coalesce(c.completed_at, now())
          when c.status = 'running' then
            private.window_completion(g.pending + g.claimed, k.per_minute, c.send_window_start,
              c.send_window_end, c.send_days, z.zone, now())
        end)
      from progress g cross join pace s cross join rate k cross join next_zone z)
  ) into result;
  return result;
end;
$$;
comment on function public.campaign_analytics(uuid) is
  'One campaign''s totals and rates, per template variant (the one that sent most is the
   control; two-sided p-values of a two-proportion z-test for reply and opt-out rates), per
   sending number, and progress (targets by status, sends a minute over the last 15
   minutes, and while it runs the completion that pace gives, or the numbers'' capacity when
   it sent nothing lately, within the campaign''s hours and days in the zone of its next
   target). Any member.';

revoke all on function public.dashboard_metrics(timestamptz, timestamptz, uuid) from public, anon;
revoke all on function public.campaign_analytics(uuid) from public, anon;
grant execute on function public.dashboard_metrics(timestamptz, timestamptz, uuid)
  to authenticated;
grant execute on function public.campaign_analytics(uuid) to authenticated;
