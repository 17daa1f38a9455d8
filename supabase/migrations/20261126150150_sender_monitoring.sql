-- =============================================================================
-- Health of the machinery: each campaign tick records itself (started, finished, what it
-- did), the webhooks count what Twilio sends them, and private.sender_health() sums it up
-- with pg_cron's and pg_net's view: the last tick and its age, ticks that failed in the last
-- hour, due targets and the age of the oldest, status callbacks and inbound messages of
-- the last minutes. The health function turns it into its `sender` check (503 when the
-- scheduled tick has not run for three intervals); admins read the same through the
-- view public.sender_status.
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Webhook counts: a sequence per kind (nextval costs a callback next to nothing and never
-- waits), sampled with each run of the metric jobs; the difference to a sample about five
-- minutes old is what arrived since.
-- -----------------------------------------------------------------------------

create sequence private.webhook_status_requests;
create sequence private.webhook_inbound_requests;
comment on sequence private.webhook_status_requests is
  'Status callbacks received (private.count_webhook); sampled in webhook_count_samples.';
comment on sequence private.webhook_inbound_requests is
  'Inbound messages received (private.count_webhook); sampled in webhook_count_samples.';

create table private.webhook_count_samples (
  at timestamptz primary key,
  status_requests bigint not null,
  inbound_requests bigint not null
);
comment on table private.webhook_count_samples is
  'The webhook request counters at an instant (each run of the metric jobs); kept a day.';

create function private.count_webhook(kind text) returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  if kind = 'status' then
    perform nextval('private.webhook_status_requests');
  elsif kind = 'inbound' then
    perform nextval('private.webhook_inbound_requests');
  else
    raise exception 'count_webhook: status or inbound, not %', kind using errcode = '22023';
  end if;
end;
$$;
comment on function private.count_webhook(text) is
  'For the twilio webhook: counts one request of this kind (status or inbound).';
revoke all on function private.count_webhook(text) from public;
grant execute on function private.count_webhook(text) to sms_system;

-- The counters now (a sequence never called yet reads 0).
create function private.webhook_requests() returns table (status_requests bigint,
  inbound_requests bigint)
language sql
stable
security definer
set search_path = ''
as $$
  select (select case when s.is_called then s.last_value else 0 end
          from private.webhook_status_requests s),
    (select case when s.is_called then s.last_value else 0 end
     from private.webhook_inbound_requests s)
$$;
comment on function private.webhook_requests() is
  'How many status callbacks and inbound messages the webhooks have counted so far.';
revoke all on function private.webhook_requests() from public;

create function private.sample_webhook_counts() returns void
language sql
security definer
set search_path = ''
as $$
  insert into private.webhook_count_samples (at, status_requests, inbound_requests)
  select now(), w.status_requests, w.inbound_requests from private.webhook_requests() w
  on conflict (at) do nothing;
  delete from private.webhook_count_samples where at < now() - interval '1 day';
$$;
comment on function private.sample_webhook_counts() is
  'Records the webhook counters now (with each run of the metric jobs); forgets a day on.';
revoke all on function private.sample_webhook_counts() from public;

-- -----------------------------------------------------------------------------
-- Tick runs
-- -----------------------------------------------------------------------------

create table private.tick_runs (
  id bigint generated always as identity primary key,
  started_at timestamptz not null default now(),
  budget_ms integer not null constraint tick_runs_budget_positive check (budget_ms > 0),
  finished_at timestamptz,
  report jsonb
);
comment on table private.tick_runs is
  'One row per campaign tick: when it started, its budget, when it finished and its report
   (a tick that died leaves finished_at null). Kept 7 days.';
create index tick_runs_started_at_idx on private.tick_runs (started_at desc);

create function private.start_tick_run(budget_ms integer) returns bigint
language sql
security definer
set search_path = ''
as $$
  insert into private.tick_runs (budget_ms) values (budget_ms) returning id
$$;
comment on function private.start_tick_run(integer) is
  'For the tick: records that a tick started with this budget; returns its run id.';

create function private.finish_tick_run(run_id bigint, report jsonb) returns void
language sql
security definer
set search_path = ''
as $$
  update private.tick_runs set finished_at = now(), report = finish_tick_run.report
  where id = finish_tick_run.run_id;
  delete from private.tick_runs where started_at < now() - interval '7 days';
$$;
comment on function private.finish_tick_run(bigint, jsonb) is
  'For the tick: records that a run finished and what it did; forgets runs over 7 days old.';

revoke all on function private.start_tick_run(integer) from public;
revoke all on function private.finish_tick_run(bigint, jsonb) from public;
grant execute on function private.start_tick_run(integer) to sms_system;
grant execute on function private.finish_tick_run(bigint, jsonb) to sms_system;

-- -----------------------------------------------------------------------------
-- The summary
-- -----------------------------------------------------------------------------

-- The tick is scheduled when pg_cron's campaign-tick job is active and Vault holds its URL
-- and secret; its interval is then a minute (pg_cron's finest here). It is stale when the
-- job has run three times since the last tick started (or in the last hour, if none did):
-- three intervals of posts and no tick. (pg_cron itself stopping is the pg_cron check's.)
create function private.sender_health(at timestamptz default now()) returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  with
  schedule as (
    select
      exists (select 1 from cron.job j where j.jobname = 'campaign-tick' and j.active)
        and (select count(*) from vault.secrets s
             where s.name in ('campaign_tick_url', 'campaign_tick_secret')) = 2 as scheduled,
      interval '1 minute' as tick_interval
  ),
  last_tick as (
    select r.started_at, r.finished_at from private.tick_runs r
    order by r.started_at desc limit 1
  ),
  posts_since as (
    select count(*) as n from cron.job_run_details d
    join cron.job j on j.jobid = d.jobid
    where j.jobname = 'campaign-tick' and d.start_time <= at
      and d.start_time > coalesce((select l.started_at from last_tick l), at - interval '1 hour')
  ),
  due as (
    select count(*) as n, min(d.not_before) as oldest
    from (
      select t.not_before from public.campaign_targets t
      join public.campaigns c on c.org_id = t.org_id and c.id = t.campaign_id
      where t.status = 'pending' and t.not_before <= at and c.status = 'running'
      limit 100001
    ) d
  ),
  -- Since the latest sample at least 5 minutes old (or the oldest, if none is).
  webhooks as (
    select n.status_requests - b.status_requests as status_callbacks,
      n.inbound_requests - b.inbound_requests as inbound,
      b.at as since
    from private.webhook_requests() n
    cross join lateral (
      select c.at, c.status_requests, c.inbound_requests from (
        (select 1 as rank, x.* from private.webhook_count_samples x
         where x.at <= sender_health.at - interval '5 minutes' order by x.at desc limit 1)
        union all
        (select 2, x.* from private.webhook_count_samples x order by x.at limit 1)
        union all
        select 3, sender_health.at, 0, 0
      ) c
      order by c.rank
      limit 1
    ) b
  )
  select jsonb_build_object(
    'scheduled', s.scheduled,
    'tick_interval_seconds', extract(epoch from s.tick_interval)::integer,
    'last_tick_started_at', l.started_at,
    'last_tick_finished_at', l.finished_at,
    'last_tick_age_seconds',
      round(extract(epoch from at - l.started_at)::numeric, 1),
    'stale', s.scheduled and (select p.n from posts_since p) >= 3,
    'cron_posts_since_last_tick', (select p.n from posts_since p),
    'ticks_last_hour',
      (select count(*) from private.tick_runs r where r.started_at > at - interval '1 hour'),
    -- Died, or still unfinished a minute past its budget.
    'ticks_failed_last_hour', (
      select count(*) from private.tick_runs r
      where r.started_at > at - interval '1 hour' and r.finished_at is null
        and r.started_at + make_interval(secs => r.budget_ms / 1000.0 + 60) < at),
    'cron_failures_last_hour', (
      select count(*) from cron.job_run_details d
      join cron.job j on j.jobid = d.jobid
      where j.jobname in ('campaign-tick', 'message-metrics') and d.status = 'failed'
        and d.start_time > at - interval '1 hour'),
    'due_targets', least(d.n, 100000),
    'due_targets_capped', d.n > 100000,
    'oldest_due_age_seconds', round(extract(epoch from at - d.oldest)::numeric, 1),
    'replies_waiting', (
      select count(*) from public.messages m
      where m.send_state = 'waiting' and m.not_before <= at),
    'status_callbacks_last_5_minutes', w.status_callbacks,
    'inbound_last_5_minutes', w.inbound,
    'webhooks_counted_since', w.since,
    'metric_deltas_waiting', (select count(*) from private.metric_deltas)
  )
  from schedule s
  cross join due d
  cross join webhooks w
  left join last_tick l on true
$$;
comment on function private.sender_health(timestamptz) is
  'The sending machinery at a glance: tick schedule, last tick and its age (stale after
   three intervals), failed ticks and cron runs in the last hour, due targets and the age of
   the oldest, waiting replies, webhook requests of the last 5 minutes.';
revoke all on function private.sender_health(timestamptz) from public;
grant execute on function private.sender_health(timestamptz) to sms_system;

-- Admins: the same, with the due targets of their own organizations only.
create function private.sender_status_rows() returns table (
  org_id uuid,
  scheduled boolean,
  stale boolean,
  last_tick_started_at timestamptz,
  last_tick_age_seconds numeric,
  ticks_last_hour bigint,
  ticks_failed_last_hour bigint,
  cron_failures_last_hour bigint,
  due_targets bigint,
  oldest_due_at timestamptz,
  status_callbacks_last_5_minutes bigint,
  inbound_last_5_minutes bigint,
  pg_net_queue_depth bigint,
  pg_net_failures_last_hour bigint
)
language sql
stable
security definer
set search_path = ''
as $$
  select o.org_id, (h ->> 'scheduled')::boolean, (h ->> 'stale')::boolean,
    (h ->> 'last_tick_started_at')::timestamptz, (h ->> 'last_tick_age_seconds')::numeric,
    (h ->> 'ticks_last_hour')::bigint, (h ->> 'ticks_failed_last_hour')::bigint,
    (h ->> 'cron_failures_last_hour')::bigint, d.n, d.oldest,
    (h ->> 'status_callbacks_last_5_minutes')::bigint, (h ->> 'inbound_last_5_minutes')::bigint,
    (p ->> 'pg_net_queue_depth')::bigint, (p ->> 'pg_net_failures_last_hour')::bigint
  from (select private.org_ids_with_role('{admin}') as org_id) o
  cross join private.sender_health() h
  cross join private.platform_health() p
  cross join lateral (
    select count(*) as n, min(x.not_before) as oldest
    from (
      select t.not_before from public.campaign_targets t
      join public.campaigns c on c.org_id = t.org_id and c.id = t.campaign_id
      where t.org_id = o.org_id and t.status = 'pending' and t.not_before <= now()
        and c.status = 'running'
      limit 100001
    ) x
  ) d
$$;
comment on function private.sender_status_rows() is
  'private.sender_health() for each organization the caller administers, with its due
   targets (counted up to 100,001; the rows behind public.sender_status).';
revoke all on function private.sender_status_rows() from public;
grant execute on function private.sender_status_rows() to authenticated;

create view public.sender_status with (security_invoker = true) as
  select * from private.sender_status_rows();
comment on view public.sender_status is
  'Admins: whether sending works (the tick''s schedule, last run and age, failures in the
   last hour, due targets of their organization and the oldest, webhook traffic, pg_net''s
   queue), one row per organization they administer.';
revoke all on public.sender_status from anon, authenticated, service_role;
grant select on public.sender_status to authenticated;

-- pg_cron keeps a row per run (two jobs a minute here): the health check reads the last
-- hour, nobody the rest after a week.
select cron.schedule('cron-history', '17 * * * *',
  $$delete from cron.job_run_details where end_time < now() - interval '7 days'$$);
