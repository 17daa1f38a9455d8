-- =============================================================================
-- What the `health` Edge Function reports about the database side of the platform:
-- which migrations are applied, whether pg_cron's scheduler and pg_net's worker are
-- alive, and the state of pg_net's queue. One security-definer function, executable
-- only by the system role, so the function needs no grants on platform schemas.
-- =============================================================================

create function private.platform_health()
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  select jsonb_build_object(
    'latest_migration',
      (select max(version) from supabase_migrations.schema_migrations),
    'pg_cron_scheduler',
      exists (select 1 from pg_catalog.pg_stat_activity where backend_type = 'pg_cron launcher'),
    -- pg_net's worker shows up as a background worker on hosted ("pg_net <version> worker")
    -- and as a client named "pg_net worker" locally.
    'pg_net_worker',
      exists (
        select 1 from pg_catalog.pg_stat_activity
        where backend_type like 'pg_net%worker' or application_name = 'pg_net worker'
      ),
    'pg_net_queue_depth', (select count(*) from net.http_request_queue),
    'pg_net_failures_last_hour',
      (select count(*) from net._http_response
       where created > now() - interval '1 hour'
         and (error_msg is not null or status_code >= 500)),
    'database_time', now()
  );
$$;
comment on function private.platform_health() is
  'Database-side health facts for the health Edge Function (migrations, pg_cron, pg_net).';

revoke all on function private.platform_health() from public;
grant execute on function private.platform_health() to sms_system;
