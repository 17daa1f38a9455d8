-- =============================================================================
-- The sender's clock: pg_cron runs private.invoke_campaign_tick() every minute (the
-- finest schedule pg_cron 1.4 allows; a tick sends for its whole time budget, so
-- throughput does not depend on the interval), which posts to the campaign-tick Edge
-- Function through pg_net with the function's service secret. Its URL and secret are
-- read from Vault at each run (secrets campaign_tick_url and campaign_tick_secret, set
-- once per project, see README "Deploying"); without them the job does nothing.
-- =============================================================================

create function private.invoke_campaign_tick() returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  url text;
  secret text;
begin
  select s.decrypted_secret into url from vault.decrypted_secrets s
  where s.name = 'campaign_tick_url';
  select s.decrypted_secret into secret from vault.decrypted_secrets s
  where s.name = 'campaign_tick_secret';
  if url is null or secret is null then
    return null;
  end if;
  return net.http_post(
    url := url,
    body := '{}'::jsonb,
    headers := jsonb_build_object('Authorization', 'Bearer ' || secret,
                                  'Content-Type', 'application/json'),
    -- Longer than a tick's budget: the answer (what the tick did) is kept by pg_net.
    timeout_milliseconds := 150000);
end;
$$;
comment on function private.invoke_campaign_tick() is
  'pg_cron''s job: posts to campaign-tick with the URL and secret kept in Vault (returns the
   pg_net request id, or null when they are not set).';
revoke all on function private.invoke_campaign_tick() from public;

select cron.schedule('campaign-tick', '* * * * *', 'select private.invoke_campaign_tick()');
