-- =============================================================================
-- Rate limits: token buckets kept in Postgres, so every isolate of every function shares
-- them. Each request takes a token from its client address's bucket and, once signed in,
-- from its user's bucket for the organization it names; an empty bucket answers 429 with
-- Retry-After. An organization's admins set its users' rate (per minute) and burst.
-- =============================================================================

alter table public.organizations
  add column rate_limit_per_minute integer not null default 600
    constraint organizations_rate_limit_per_minute_range
      check (rate_limit_per_minute between 1 and 100000),
  add column rate_limit_burst integer not null default 120
    constraint organizations_rate_limit_burst_range check (rate_limit_burst between 1 and 10000);
comment on column public.organizations.rate_limit_per_minute is
  'Requests per minute each member may make to the functions for this organization.';
comment on column public.organizations.rate_limit_burst is
  'Requests a member may make at once, beyond which the per-minute rate applies.';
grant update (rate_limit_per_minute, rate_limit_burst) on public.organizations to authenticated;

-- Buckets are soft state: unlogged (a crash empties them, which only forgives).
create unlogged table private.rate_buckets (
  key text primary key,
  tokens double precision not null,
  refreshed_at timestamptz not null
);
comment on table private.rate_buckets is
  'Token buckets of the functions'' rate limits (private.take_request_token), by key.';

-- Takes a token from a bucket of `capacity` refilling at `per_second`: 0 when taken, else
-- the seconds until one will be there (nothing taken).
create function private.take_token(
  bucket text,
  capacity integer,
  per_second double precision,
  at timestamptz default clock_timestamp()
) returns double precision
language plpgsql
set search_path = ''
as $$
declare
  level double precision;
begin
  insert into private.rate_buckets (key, tokens, refreshed_at)
  values (bucket, capacity, at)
  on conflict (key) do nothing;
  select least(capacity::double precision,
      b.tokens + greatest(0, extract(epoch from at - b.refreshed_at)) * per_second)
  into level
  from private.rate_buckets b where b.key = bucket
  for update;
  if level >= 1 then
    update private.rate_buckets b set tokens = level - 1, refreshed_at = at
    where b.key = bucket;
    return 0;
  end if;
  update private.rate_buckets b set tokens = level, refreshed_at = at where b.key = bucket;
  return (1 - level) / per_second;
end;
$$;
comment on function private.take_token(text, integer, double precision, timestamptz) is
  'Token bucket: takes one token (returns 0) or says how many seconds until one is there.';
revoke all on function private.take_token(text, integer, double precision, timestamptz)
  from public;

-- The functions' limits: per client address (anyone), and per user for the organization a
-- request names (its admins' setting) or, naming none, the default.
create function private.take_request_token(
  scope text,
  subject text,
  org uuid default null,
  at timestamptz default clock_timestamp()
) returns double precision
language plpgsql
security definer
set search_path = ''
as $$
declare
  per_minute integer := 600;
  burst integer := 120;
begin
  if scope = 'ip' then
    per_minute := 3000;
    burst := 600;
  elsif scope = 'user' then
    if org is not null then
      select o.rate_limit_per_minute, o.rate_limit_burst into per_minute, burst
      from public.organizations o where o.id = org;
      per_minute := coalesce(per_minute, 600);
      burst := coalesce(burst, 120);
    end if;
  else
    raise exception 'scope: ip or user' using errcode = '22023';
  end if;
  return private.take_token(scope || ':' || left(subject, 200) || ':' || coalesce(org::text, ''),
    burst, per_minute / 60.0, at);
end;
$$;
comment on function private.take_request_token(text, text, uuid, timestamptz) is
  'The functions'' rate limits: scope ip (3,000 a minute, bursts of 600, per address) or
   user (the organization''s rate_limit_per_minute and rate_limit_burst, per user and
   organization; 600 and 120 without one). 0 when the request may go on, else the seconds
   to wait.';
revoke all on function private.take_request_token(text, text, uuid, timestamptz) from public;
grant execute on function private.take_request_token(text, text, uuid, timestamptz)
  to sms_system;

-- Old buckets go (a full one older than an hour is the same as none).
select cron.schedule('rate-buckets', '17 * * * *',
  $$delete from private.rate_buckets where refreshed_at < now() - interval '1 hour'$$);
