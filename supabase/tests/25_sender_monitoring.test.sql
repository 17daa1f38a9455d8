-- =============================================================================
-- Health of the machinery (20261126150150_sender_monitoring.sql): private.sender_health()
-- counts tick runs (a run that died counts as failed), due targets and the oldest, webhook
-- requests of the last minutes; the scheduled tick is stale after three intervals without
-- a run; admins read the same for their organizations through public.sender_status, and
-- nobody else.
--
-- Seed data: Acme (a0…) with its number (a1…01), Carla (a2…03), variant a5…01, campaign
-- a6…01 (draft); Globex (b0…).
-- =============================================================================
begin;
set search_path to public, extensions;
select plan(12);
\ir _helpers.sql

delete from private.tick_runs;
delete from vault.secrets where name in ('campaign_tick_url', 'campaign_tick_secret');

select is((private.sender_health() ->> 'scheduled')::boolean, false,
  'without its Vault secrets the tick is not scheduled');
select is((private.sender_health() ->> 'stale')::boolean, false, 'and so never stale');

-- pg_cron's job posted once a minute for the last 10 minutes.
create function tests.cron_posts(minutes integer) returns void
language sql as $$
  delete from cron.job_run_details
  where jobid = (select jobid from cron.job where jobname = 'campaign-tick');
  insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, status,
    start_time, end_time)
  select j.jobid, -m, 0, 'postgres', 'postgres', j.command, 'succeeded',
    now() - m * interval '1 minute', now() - m * interval '1 minute'
  from cron.job j, generate_series(1, minutes) m
  where j.jobname = 'campaign-tick';
$$;
select tests.cron_posts(10);
select vault.create_secret('http://127.0.0.1:9/functions/v1/campaign-tick', 'campaign_tick_url');
select vault.create_secret(repeat('x', 40), 'campaign_tick_secret');
select results_eq(
  $$select (h ->> 'scheduled')::boolean, (h ->> 'stale')::boolean,
      (h ->> 'cron_posts_since_last_tick')::int
    from private.sender_health() h$$,
  $$values (true, true, 10)$$,
  'scheduled, ten posts of pg_cron''s job and no tick: stale');

-- A tick that started 150 s ago and finished, and one that died 20 minutes ago.
insert into private.tick_runs (started_at, budget_ms, finished_at, report)
values (now() - interval '150 seconds', 70000, now() - interval '1 minute', '{}'),
       (now() - interval '20 minutes', 70000, null, null);
select results_eq(
  $$select (h ->> 'stale')::boolean, (h ->> 'last_tick_age_seconds')::numeric,
      (h ->> 'ticks_last_hour')::int, (h ->> 'ticks_failed_last_hour')::int
    from private.sender_health() h$$,
  $$values (false, 150.0, 2, 1)$$,
  'two posts since a tick 150 s ago: not stale; the one that died counts as failed');
insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, status,
  start_time)
select jobid, -100, 0, 'postgres', 'postgres', command, 'succeeded', now() - interval '5 seconds'
from cron.job where jobname = 'campaign-tick';
select is((private.sender_health() ->> 'stale')::boolean, true,
  'a third post and still no tick: stale');

-- Due targets of a running campaign, and webhook requests.
update public.campaigns set status = 'running' where id = 'a6000000-0000-4000-8000-000000000001';
insert into public.campaign_targets (org_id, campaign_id, lead_id, phone, template_variant_id,
  not_before)
select org_id, 'a6000000-0000-4000-8000-000000000001', id, phone,
  'a5000000-0000-4000-8000-000000000001', now() - interval '90 seconds'
from public.leads where org_id = 'a0000000-0000-4000-8000-000000000000' and not suppressed;
delete from private.webhook_count_samples;
select private.sample_webhook_counts();
select private.count_webhook('status') from generate_series(1, 3);
select private.count_webhook('inbound');
select results_eq(
  $$select (h ->> 'due_targets')::int, (h ->> 'oldest_due_age_seconds')::numeric,
      (h ->> 'status_callbacks_last_5_minutes')::int, (h ->> 'inbound_last_5_minutes')::int
    from private.sender_health() h$$,
  $$select (select count(*)::int from public.campaign_targets
            where campaign_id = 'a6000000-0000-4000-8000-000000000001'), 90.0, 3, 1$$,
  'due targets and the age of the oldest, webhook requests of the last 5 minutes');
select throws_ok($$select private.count_webhook('other')$$, '22023', null,
  'only status and inbound requests are counted');

-- Who reads sender_status.
select tests.authenticate_as('admin@acme.test');
select results_eq(
  $$select org_id, scheduled, due_targets from public.sender_status$$,
  $$select 'a0000000-0000-4000-8000-000000000000'::uuid, true,
      (select count(*) from public.campaign_targets
       where campaign_id = 'a6000000-0000-4000-8000-000000000001')$$,
  'an admin reads the sender''s status with their organization''s due targets');
reset role;
select tests.authenticate_as('manager@acme.test');
select is_empty($$select 1 from public.sender_status$$, 'a campaign manager reads none');
reset role;
select tests.authenticate_as('admin@globex.test');
select results_eq($$select org_id, due_targets from public.sender_status$$,
  $$values ('b0000000-0000-4000-8000-000000000000'::uuid, 0::bigint)$$,
  'the admin of Globex reads only Globex''s, none of Acme''s targets');
reset role;
set local role anon;
select throws_ok($$select * from public.sender_status$$, '42501', null, 'anon reads nothing');
reset role;
select ok(
  not has_function_privilege('authenticated', 'private.sender_health(timestamptz)', 'execute')
  and not has_function_privilege('authenticated', 'private.start_tick_run(integer)', 'execute')
  and not has_function_privilege('authenticated', 'private.count_webhook(text)', 'execute'),
  'members may not read the platform''s health directly, record ticks or count webhooks');

select * from finish();
rollback;
