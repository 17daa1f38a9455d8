-- =============================================================================
-- The sender's clock: the pg_cron job, and what it posts (URL and secret from Vault).
-- =============================================================================
begin;
set search_path to public, extensions;
select plan(5);

select results_eq(
  $$select schedule, command, active from cron.job where jobname = 'campaign-tick'$$,
  $$values ('* * * * *'::text, 'select private.invoke_campaign_tick()'::text, true)$$,
  'pg_cron runs the tick every minute');

delete from vault.secrets where name in ('campaign_tick_url', 'campaign_tick_secret');
select is(private.invoke_campaign_tick(), null, 'without its Vault secrets the job does nothing');

select vault.create_secret('http://127.0.0.1:9/functions/v1/campaign-tick', 'campaign_tick_url');
select vault.create_secret('s3cret-s3cret-s3cret-s3cret-s3cret-x', 'campaign_tick_secret');
select isnt(private.invoke_campaign_tick(), null, 'with them it queues a request');
select results_eq(
  $$select method::text, url, headers ->> 'Authorization', timeout_milliseconds
    from net.http_request_queue order by id desc limit 1$$,
  $$values ('POST'::text, 'http://127.0.0.1:9/functions/v1/campaign-tick'::text,
            'Bearer s3cret-s3cret-s3cret-s3cret-s3cret-x'::text, 150000)$$,
  'a POST to the tick with the secret as bearer token');
select ok(
  not has_function_privilege('authenticated', 'private.invoke_campaign_tick()', 'execute')
  and not has_function_privilege('anon', 'private.invoke_campaign_tick()', 'execute'),
  'nobody but the job''s owner runs it');

select * from finish();
rollback;
