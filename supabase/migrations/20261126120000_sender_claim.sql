-- =============================================================================
-- The sender's claim: the one statement that takes campaign targets for sending with
-- every rule that protects a recipient evaluated at the moment of the claim, and the
-- functions that record what happened to each claimed target.
--
-- - Claims are leases: a claimed target carries a claim token, a send slot (not_before)
--   and a lease end. The tick sends each target at its slot and records the outcome with
--   the token; a stale token never overwrites a newer outcome. A lease that expires with
--   no outcome makes the target `unknown` (it may have reached Twilio): never resent.
-- - Throughput is allocated, not counted: each sending number has a next free send slot
--   (private.sending_number_slots); a claim hands out slots spaced 1/messages_per_second
--   apart (wider when the organization's max_messages_per_minute, shared evenly by its
--   sending numbers, is tighter), so ticks never exceed a rate whatever their interval.
--   Claims of one organization are serialised (an advisory lock taken with try: a busy
--   organization is skipped, like a locked row), so two ticks never hand out a slot twice.
-- - Per recipient: suppression (read after taking the organization's suppression lock
--   shared, so a STOP committed before the claim is seen), invalid numbers, the send window
--   at the claim and at the end of the lease, a rolling 24 h cap (the lowest of the
--   organization's lead_daily_cap and the lead's state's cap; no state: the strictest
--   state's), and at most one campaign message per campaign_message_interval.
-- - The sender pool: a lead keeps its sticky number while that number is active and not
--   poor; otherwise it gets the organization's number with its area code, else the one
--   with the best health (good, unknown, moderate), spread by a hash of lead and number.
--   The number that sends becomes the lead's sticky number when the send is recorded.
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Organization settings
-- -----------------------------------------------------------------------------

alter table public.organizations
  add column max_messages_per_minute integer
    constraint organizations_max_messages_per_minute_range
      check (max_messages_per_minute between 1 and 1000000),
  add column lead_daily_cap smallint
    constraint organizations_lead_daily_cap_positive check (lead_daily_cap > 0),
  add column campaign_message_interval interval not null default '24 hours'
    constraint organizations_campaign_message_interval_range
      check (campaign_message_interval >= interval '0'
        and campaign_message_interval <= interval '90 days');
comment on column public.organizations.max_messages_per_minute is
  'Most campaign messages per minute across all sending numbers (the carrier campaign''s
   limit); null: only each number''s rate limits.';
comment on column public.organizations.lead_daily_cap is
  'Most messages one lead receives in a rolling 24 hours; null: only state caps apply. The
   lower of this and the lead''s state cap wins.';
comment on column public.organizations.campaign_message_interval is
  'At least this long between two campaign messages to one lead, across all campaigns.';

-- Admins change them (organizations_update_policy already limits updates to admins).
grant update (max_messages_per_minute, lead_daily_cap, campaign_message_interval)
  on public.organizations to authenticated;

-- -----------------------------------------------------------------------------
-- Tables: the claim's lease on a target, and each number's send slots
-- -----------------------------------------------------------------------------

alter table public.campaign_targets
  add column claim_token uuid,
  add column lease_expires_at timestamptz,
  add column not_before timestamptz not null default '-infinity',
  add column last_error_code integer,
  add column body text constraint campaign_targets_body_length check (char_length(body) <= 1600),
  add column encoding public.message_encoding,
  add column segments smallint constraint campaign_targets_segments_positive
    check (segments > 0);
comment on column public.campaign_targets.claim_token is
  'The token of the latest claim; outcomes are recorded only with it.';
comment on column public.campaign_targets.lease_expires_at is
  'When a claim with no recorded outcome becomes unknown (see private.expire_leases).';
comment on column public.campaign_targets.not_before is
  'Claimed: the send slot the sender waits for. Pending: not claimed before this (backoff,
   closed window, a lead cap).';
comment on column public.campaign_targets.last_error_code is
  'Twilio''s error code of the last failed attempt (null for a timeout or a 5xx).';
comment on column public.campaign_targets.body is 'The text rendered for the lead at its claim.';

-- The queue: pending targets of a campaign in the order they become due.
create index campaign_targets_pending_queue_idx
  on public.campaign_targets (org_id, campaign_id, not_before, id)
  where status = 'pending';
-- Claims whose lease may expire.
create index campaign_targets_claimed_lease_idx
  on public.campaign_targets (lease_expires_at)
  where status = 'claimed';

create table private.sending_number_slots (
  phone_number_id uuid primary key references public.phone_numbers (id) on delete cascade,
  next_slot_at timestamptz not null,
  slot_day date not null,
  slot_day_count integer not null constraint sending_number_slots_day_count_nonnegative
    check (slot_day_count >= 0)
);
comment on table private.sending_number_slots is
  'Each sending number''s next free send slot and how many slots it handed out on its UTC
   day: the claim''s throughput and daily-cap ledger, written only by private.claim_targets.';

comment on column private.sending_number_slots.next_slot_at is
  'The earliest instant the number''s next message may go out.';
comment on column private.sending_number_slots.slot_day_count is
  'Slots handed out on slot_day (UTC), checked against phone_numbers.daily_cap.';

revoke all on private.sending_number_slots from public, anon, authenticated, service_role;

-- -----------------------------------------------------------------------------
-- Helpers
-- -----------------------------------------------------------------------------

create function private.sender_lock_key(org uuid) returns bigint
language sql
immutable
parallel safe
set search_path = ''
as $$
  select pg_catalog.hashtextextended('sender:' || org::text, 0);
$$;
comment on function private.sender_lock_key(uuid) is
  'Advisory lock key serialising the claims of one organization (slots, caps, sticky numbers).';

-- -----------------------------------------------------------------------------
-- System work: claim
-- -----------------------------------------------------------------------------

create function private.claim_targets(
  max_targets integer,
  lease interval default '30 seconds',
  at timestamptz default now()
) returns table (
  target_id bigint,
  claim_token uuid,
  org_id uuid,
  campaign_id uuid,
  lead_id uuid,
  to_phone text,
  from_phone text,
  phone_number_id uuid,
  twilio_number_sid text,
  messaging_service_sid text,
  body text,
  encoding public.message_encoding,
  segments smallint,
  not_before timestamptz,
  template_variant_id uuid
)
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  orgs uuid[] := '{}'::uuid[];
  org uuid;
  running uuid[];
  scan integer;
  horizon timestamptz;
begin
  if max_targets is null or max_targets not between 1 and 10000 then
    raise exception 'max_targets: between 1 and 10000 (got %)', max_targets
      using errcode = '22023';
  end if;
  if lease is null or lease < interval '1 second' or lease > interval '15 minutes' then
    raise exception 'lease: between 1 second and 15 minutes (got %)', lease
      using errcode = '22023';
  end if;
  if at is null then
    raise exception 'at: the instant of the claim is required' using errcode = '22023';
  end if;
  -- A few more than asked for: some are held by a window or a cap.
  scan := max_targets + greatest(max_targets / 4, 10);
  horizon := at + lease;

  -- 1. The organizations this call claims for: one claimer at a time each (a busy one is
  -- skipped), with the suppression lock shared, so the claim below, a new statement with a
  -- new snapshot, sees every STOP committed before it (a STOP in progress waits for us).
  -- At most 32 organizations a call (two advisory locks each), in random order so that none
  -- waits behind the others.
  for org in
    select r.org_id
    from (select distinct c.org_id from public.campaigns c where c.status = 'running') r
    order by random()
    limit 32
  loop
    if pg_catalog.pg_try_advisory_xact_lock(private.sender_lock_key(org)) then
      perform pg_catalog.pg_advisory_xact_lock_shared(private.suppression_lock_key(org));
      orgs := orgs || org;
    end if;
  end loop;
  if cardinality(orgs) = 0 then
    return;
  end if;

  -- 2. Their running campaigns, held running until this claim commits (a pause or cancel
  -- committed before is seen; one that starts now waits for it).
  running := array(
    select c.id from public.campaigns c
    where c.org_id = any (orgs) and c.status = 'running'
    order by c.id
    for share
  );
  if cardinality(running) = 0 then
    return;
  end if;

  -- 3. The claim.
  return query
  with
  -- Due pending targets, the first `scan` of each campaign, interleaved across campaigns.
  candidates as (
    select q.id
    from (
      select p.id, row_number() over (partition by p.campaign_id order by p.not_before, p.id)
        as rn
      from public.campaigns c
      cross join lateral (
        select t.id, t.campaign_id, t.not_before
        from public.campaign_targets t
        where t.org_id = c.org_id and t.campaign_id = c.id and t.status = 'pending'
          and t.not_before <= claim_targets.at
        order by t.not_before, t.id
        limit scan
      ) p
      where c.id = any (running)
    ) q
    order by q.rn, q.id
    limit scan
  ),
  locked as materialized (
    select t.id, t.org_id, t.campaign_id, t.lead_id, t.phone, t.template_variant_id,
      t.not_before
    from public.campaign_targets t
    where t.id = any (array(select c.id from candidates c))
      and t.status = 'pending' and t.not_before <= claim_targets.at
    for no key update of t skip locked
  ),
  -- Everything the rules need about each target, read once.
  facts as (
    select k.id, k.org_id, k.campaign_id, k.lead_id, k.phone, k.template_variant_id,
      k.not_before, l.phone as lead_phone, l.status as lead_status, l.state as lead_state,
      l.phone_number_id as sticky_id, l.zip_time_zone,
      -- What the area code's zones depend on (see private.time_zones_for_phone).
      case when l.phone ~ '^[+]1[0-9]{10}$' then substr(l.phone, 1, 5) end as area_prefix,
      l.suppressed or exists (
        select 1 from public.suppressions s
        where s.org_id = k.org_id and s.phone in (k.phone, l.phone) and s.lifted_at is null
      ) as suppressed,
      c.send_window_start, c.send_window_end, c.send_days,
      o.campaign_message_interval as message_interval,
      least(o.lead_daily_cap, case
        when l.state is null then (select min(r.max_messages_24h) from private.state_send_rules r)
        else (select r.max_messages_24h from private.state_send_rules r where r.state = l.state)
      end) as lead_cap,
      recent.n + inflight.n as sent_24h,
      least(recent.oldest, inflight.oldest) + interval '24 hours' as cap_frees_at,
      inflight.last_campaign_at,
      -- Its foreign key nulls a deleted variant.
      k.template_variant_id is not null as has_variant
    from locked k
    join public.leads l on l.org_id = k.org_id and l.id = k.lead_id
    join public.campaigns c on c.id = k.campaign_id
    join public.organizations o on o.id = k.org_id
    cross join lateral (
      select count(*) as n, min(m.created_at) as oldest
      from public.messages m
      where m.org_id = k.org_id and m.lead_id = k.lead_id and m.direction = 'outbound'
        and m.created_at > claim_targets.at - interval '24 hours'
    ) recent
    cross join lateral (
      -- Claims not yet recorded (and unknown outcomes) count as sent; the latest campaign
      -- message of the lead, recorded or not.
      select count(*) filter (where x.status in ('claimed', 'unknown')
          and x.claimed_at > claim_targets.at - interval '24 hours') as n,
        min(x.claimed_at) filter (where x.status in ('claimed', 'unknown')
          and x.claimed_at > claim_targets.at - interval '24 hours') as oldest,
        max(coalesce(x.sent_at, greatest(x.claimed_at, x.not_before)))
          filter (where x.status in ('claimed', 'unknown', 'sent')) as last_campaign_at
      from public.campaign_targets x
      where x.org_id = k.org_id and x.lead_id = k.lead_id
    ) inflight
  ),
  -- The send window, computed once per group of targets with the same ZIP zone, area code,
  -- state and campaign (on the group's first row; window functions share it, no join): open
  -- now and at the end of the lease (the latest slot); when not, when it opens next.
  window_first as (
    select f.*,
      case when row_number() over (partition by f.zip_time_zone, f.area_prefix, f.lead_state,
          f.campaign_id order by f.id) = 1
        then private.lead_time_zones(f.zip_time_zone, f.lead_phone) end as zones
    from facts f
  ),
  window_open as (
    select f.*,
      case when f.zones is not null then
        private.send_window_open(f.zones, f.lead_state, f.send_window_start, f.send_window_end,
          f.send_days, claim_targets.at)
        and private.send_window_open(f.zones, f.lead_state, f.send_window_start,
          f.send_window_end, f.send_days, horizon)
      end as open
    from window_first f
  ),
  windowed as (
    select f.*,
      bool_and(f.open) over w as window_open,
      max(case when not f.open then coalesce(
          private.next_send_window(f.zones, f.lead_state, f.send_window_start,
            f.send_window_end, f.send_days, horizon),
          claim_targets.at + interval '1 day') end) over w as window_opens_at
    from window_open f
    window w as (partition by f.zip_time_zone, f.area_prefix, f.lead_state, f.campaign_id)
  ),
  -- The recipient's rules, in order: those that never pass skip the target for good, the
  -- others hold it pending (until when they stop holding it, when that is known).
  judged as materialized (
    select r.*,
      case r.rule
        when 1 then 'lead invalid: the number cannot receive texts'
        when 2 then 'suppressed: the number opted out or is on a do-not-contact list'
        when 3 then 'the lead''s number changed after it was targeted'
        when 4 then 'the template variant no longer exists'
        when 5 then 'held: outside the send window'
        when 6 then 'held: the lead reached its 24-hour message cap'
        when 7 then 'held: the lead had a campaign message within the organization''s interval'
      end as reason,
      case when r.rule <= 4 then 'skipped' when r.rule <= 7 then 'pending' else 'ok' end
        as verdict,
      case r.rule
        when 5 then r.window_opens_at
        when 6 then r.cap_frees_at
        when 7 then r.last_campaign_at + r.message_interval
      end as until
    from (
      select f.*,
        case
          when f.lead_status = 'invalid' then 1
          when f.suppressed then 2
          when f.lead_phone <> f.phone then 3
          when not f.has_variant then 4
          when not f.window_open then 5
          when f.lead_cap is not null and f.sent_24h >= f.lead_cap then 6
          when f.message_interval > interval '0'
            and f.last_campaign_at > claim_targets.at - f.message_interval then 7
          else 8
        end as rule
      from windowed f
    ) r
  ),
  -- Each organization's sending numbers: their slot state, spacing and whether they are in
  -- rotation (active, not poor; with an org cap below the number count, only the first).
  numbers as materialized (
    select n.*,
      -- Spacing in whole microseconds, rounded up, so rounding never adds a message.
      pg_catalog.make_interval(secs => ceil(greatest(
        1000000.0 / n.messages_per_second,
        case when n.mpm is null then 0
          else 60000000.0 / greatest(1, floor(n.mpm::numeric / least(n.org_numbers, n.mpm)))
        end)) / 1000000.0) as spacing
    from (
      select p.id, p.org_id, p.phone, p.twilio_sid, p.messaging_service_sid, p.daily_cap,
        p.messages_per_second, o.max_messages_per_minute as mpm,
        case when p.phone like '+1%' then substr(p.phone, 3, 3) end as area_code,
        case p.health when 'good' then 0 when 'unknown' then 1 else 2 end as health_rank,
        count(*) over (partition by p.org_id) as org_numbers,
        row_number() over (partition by p.org_id order by p.id) as org_rank,
        greatest(s.next_slot_at, claim_targets.at) as base,
        case when s.slot_day = (greatest(s.next_slot_at, claim_targets.at) at time zone 'UTC')::date
          then s.slot_day_count else 0 end as day_used
      from public.phone_numbers p
      join public.organizations o on o.id = p.org_id
      left join private.sending_number_slots s on s.phone_number_id = p.id
      where p.org_id = any (orgs) and p.status = 'active' and p.health <> 'poor'
    ) n
    where n.mpm is null or n.org_rank <= n.mpm
  ),
  -- One target per lead per claim; the lead's sticky number, else the best one for it.
  assigned as materialized (
    select j.id, j.org_id, j.campaign_id, j.lead_id, j.phone, j.template_variant_id,
      j.not_before, j.sticky_id, coalesce(sticky.id, pick.id) as number_id
    from (
      select j.*, row_number() over (partition by j.org_id, j.lead_id order by j.not_before, j.id)
        as lead_rank
      from judged j
      where j.verdict = 'ok'
    ) j
    left join numbers sticky on sticky.id = j.sticky_id
    left join lateral (
      select n.id from numbers n
      where n.org_id = j.org_id and sticky.id is null
        and (n.daily_cap is null or n.day_used < n.daily_cap)
      order by n.area_code is not distinct from
          case when j.phone like '+1%' then substr(j.phone, 3, 3) end desc,
        n.health_rank, pg_catalog.hashtextextended(n.id::text || j.lead_id::text, 0)
      limit 1
    ) pick on true
    where j.lead_rank = 1
  ),
  -- Send slots: the k-th target of a number gets base + k * spacing, within the lease
  -- horizon, the number's UTC day and its daily cap.
  slotted as (
    select a.*, n.base + (a.k * n.spacing) as slot, n.spacing, n.base, n.day_used
    from (
      select a.*, row_number() over (partition by a.number_id order by a.not_before, a.id) - 1
        as k
      from assigned a
      where a.number_id is not null
    ) a
    join numbers n on n.id = a.number_id
    where n.base + (a.k * n.spacing) < horizon
      and n.base + (a.k * n.spacing)
        < date_trunc('day', n.base at time zone 'UTC') at time zone 'UTC' + interval '1 day'
      and (n.daily_cap is null or n.day_used + a.k < n.daily_cap)
  ),
  chosen as materialized (
    select s.* from slotted s order by s.slot, s.id limit max_targets
  ),
  -- The text, for the chosen only: the first message to the lead carries the opt-out text.
  rendered as materialized (
    select c.id, c.org_id, c.lead_id, c.slot, c.number_id, m.body, m.segments, o.max_segments,
      case m.encoding when 'GSM-7' then 'gsm7' else 'ucs2' end::public.message_encoding
        as encoding
    from chosen c
    join public.leads l on l.org_id = c.org_id and l.id = c.lead_id
    join public.template_variants v on v.org_id = c.org_id and v.id = c.template_variant_id
    join public.organizations o on o.id = c.org_id
    cross join lateral private.message_text(v.body, to_jsonb(l), c.id, o, not exists (
      select 1 from public.messages pm
      where pm.org_id = c.org_id and pm.lead_id = c.lead_id and pm.direction = 'outbound'
    ) and not exists (
      select 1 from public.campaign_targets pt
      where pt.org_id = c.org_id and pt.lead_id = c.lead_id
        and pt.status in ('claimed', 'unknown', 'sent')
    )) m
  ),
  -- What becomes of each target that changes: claimed, skipped, or pending until later.
  -- (Targets held only by throughput or by another target of their lead stay as they are.)
  outcome as materialized (
    select r.id, r.org_id, r.lead_id,
      case when r.segments between 1 and r.max_segments then 'claimed' else 'skipped' end
        as status,
      case
        when r.segments = 0 then 'the message renders empty'
        when r.segments > r.max_segments then format(
          'the message is %s segments, over the organization''s maximum of %s',
          r.segments, r.max_segments)
      end as reason,
      r.slot as not_before, r.number_id, r.body, r.encoding, r.segments
    from rendered r
    union all
    select j.id, j.org_id, j.lead_id, j.verdict, j.reason,
      case when j.verdict = 'pending' then greatest(j.until, claim_targets.at) else j.not_before end,
      null, null, null, null
    from judged j
    where j.verdict <> 'ok'
      and (j.verdict = 'skipped' or greatest(j.until, claim_targets.at) is distinct from j.not_before)
    union all
    select a.id, a.org_id, a.lead_id, 'pending', 'held: no sending number available',
      claim_targets.at + interval '1 minute', null, null, null, null
    from assigned a
    where a.number_id is null
  ),
  updated as (
    update public.campaign_targets t
    set status = o.status,
        status_reason = o.reason,
        not_before = o.not_before,
        claim_token = case when o.status = 'claimed' then gen_random_uuid() else t.claim_token end,
        claimed_at = case when o.status = 'claimed' then claim_targets.at else t.claimed_at end,
        lease_expires_at = case when o.status = 'claimed' then o.not_before + lease
          else t.lease_expires_at end,
        attempts = t.attempts + case when o.status = 'claimed' then 1 else 0 end,
        phone_number_id = case when o.status = 'claimed' then o.number_id
          else t.phone_number_id end,
        body = case when o.status = 'claimed' then o.body else t.body end,
        encoding = case when o.status = 'claimed' then o.encoding else t.encoding end,
        segments = case when o.status = 'claimed' then o.segments::smallint else t.segments end
    from outcome o
    where t.id = o.id
    returning t.id, t.claim_token, t.org_id, t.campaign_id, t.lead_id, t.phone,
      t.phone_number_id, t.body, t.encoding, t.segments, t.not_before, t.template_variant_id,
      t.status
  ),
  -- The numbers' next free slots (a slot given to a target refused above stays used).
  slots as (
    insert into private.sending_number_slots as s
      (phone_number_id, next_slot_at, slot_day, slot_day_count)
    select c.number_id, max(c.slot) + c.spacing, (c.base at time zone 'UTC')::date,
      c.day_used + count(*)
    from chosen c
    group by c.number_id, c.spacing, c.base, c.day_used
    on conflict (phone_number_id) do update
    set next_slot_at = excluded.next_slot_at,
        slot_day = excluded.slot_day,
        slot_day_count = excluded.slot_day_count
  )
  select u.id, u.claim_token, u.org_id, u.campaign_id, u.lead_id, u.phone, n.phone,
    u.phone_number_id, n.twilio_sid, n.messaging_service_sid, u.body, u.encoding, u.segments,
    u.not_before, u.template_variant_id
  from updated u
  join numbers n on n.id = u.phone_number_id
  where u.status = 'claimed'
  order by u.not_before, u.id;
end;
$$;
comment on function private.claim_targets(integer, interval, timestamptz) is
  'For the tick (as sms_system): claims up to max_targets due targets of running campaigns,
   every recipient rule checked at the claim, each with its rendered text, number and send
   slot (not_before) under a lease; skips targets that can never be sent.';

-- -----------------------------------------------------------------------------
-- System work: outcomes
-- -----------------------------------------------------------------------------

-- Twilio accepted the message: it becomes an outbound message of the lead's conversation
-- with the number, and the target is sent. Returns 'sent', 'duplicate' (already recorded
-- with this token), 'canceled' (recorded, but the campaign was canceled meanwhile: the
-- target stays canceled) or 'stale' (another claim's token: nothing changed).
create function private.record_sent(
  target_id bigint,
  claim_token uuid,
  twilio_sid text,
  status text default 'queued',
  at timestamptz default now()
) returns text
language plpgsql
security definer
set search_path = ''
as $$
declare
  t public.campaign_targets;
  number_phone text;
  conversation uuid;
  message_status public.message_status;
begin
  if record_sent.status not in ('queued', 'accepted', 'sending', 'sent', 'delivered') then
    raise exception 'status: % is not a status of a message Twilio accepted', record_sent.status
      using errcode = '22023';
  end if;
  message_status := record_sent.status::public.message_status;
  select * into t from public.campaign_targets c where c.id = record_sent.target_id for update;
  if t.id is null then
    raise exception 'campaign target % not found', record_sent.target_id using errcode = 'P0002';
  end if;
  if t.claim_token is distinct from record_sent.claim_token then
    return 'stale';
  end if;
  if t.status = 'sent' then
    return 'duplicate';
  end if;
  if t.status not in ('claimed', 'unknown', 'canceled') or t.body is null then
    return 'stale';
  end if;

  select n.phone into number_phone from public.phone_numbers n
  where n.org_id = t.org_id and n.id = t.phone_number_id;
  if number_phone is null then
    raise exception 'campaign target %: its sending number no longer exists', t.id
      using errcode = '55000';
  end if;

  -- The number that sent it is the lead's sticky number from now on (written here, not at
  -- the claim: a claim that is handed back gives the lead nothing).
  update public.leads l set phone_number_id = t.phone_number_id
  where l.org_id = t.org_id and l.id = t.lead_id
    and l.phone_number_id is distinct from t.phone_number_id;

  insert into public.conversations as c (org_id, lead_id, phone_number_id, last_message_at)
  values (t.org_id, t.lead_id, t.phone_number_id, record_sent.at)
  on conflict on constraint conversations_lead_number_key do update
  set last_message_at = greatest(c.last_message_at, excluded.last_message_at)
  returning c.id into conversation;

  insert into public.messages (org_id, direction, conversation_id, lead_id, phone_number_id,
    from_phone, to_phone, body, segments, encoding, twilio_sid, status, campaign_id,
    campaign_target_id, template_variant_id, created_at)
  values (t.org_id, 'outbound', conversation, t.lead_id, t.phone_number_id, number_phone,
    t.phone, t.body, t.segments, t.encoding, record_sent.twilio_sid, message_status,
    t.campaign_id, t.id, t.template_variant_id, record_sent.at);

  update public.campaign_targets c
  set status = case when t.status = 'canceled' then 'canceled' else 'sent' end,
      sent_at = record_sent.at,
      status_reason = case
        when t.status = 'canceled' then t.status_reason
        when t.status = 'unknown' then 'sent (recorded after its lease expired)'
      end,
      last_error_code = null
  where c.id = t.id;
  return case when t.status = 'canceled' then 'canceled' else 'sent' end;
end;
$$;
comment on function private.record_sent(bigint, uuid, text, text, timestamptz) is
  'For the tick (as sms_system): records a claimed target Twilio accepted as an outbound
   message (conversation found or created) and marks it sent, if the claim token matches.';

-- Twilio refused the message, or the request failed before Twilio answered. Codes:
--   21610 (the recipient replied STOP to this sender): a recipient_stop suppression and a
--         revoked-consent ledger entry; the target fails, never retried;
--   21211, 21614 (not a valid / not a mobile number): the lead becomes invalid; fails;
--   null (a connection error or timeout before the request was sent, or an HTTP 5xx
--         without a Twilio code), 20429 (too many requests), 500-599 (an HTTP status
--         passed as the code): retried with exponential backoff (30 s doubling, at most
--         1 hour) until the 5th attempt, then failed;
--   anything else: failed with the code and message.
-- A request that may have reached Twilio (a read timeout) must not be reported here: leave
-- it to expire_leases, which makes it unknown rather than sending it twice.
-- Returns 'failed', 'retry', 'canceled' (the campaign was canceled: stays canceled, the
-- suppression or invalid mark still applies) or 'stale' (another claim's token).
create function private.record_send_failure(
  target_id bigint,
  claim_token uuid,
  error_code integer,
  error_message text,
  at timestamptz default now(),
  failure_class text default null,
  retry_after interval default null
) returns text
language plpgsql
security definer
set search_path = ''
as $$
declare
  max_attempts constant integer := 5;
  t public.campaign_targets;
  code_text text := coalesce(record_send_failure.error_code::text, 'none');
  detail text := left(coalesce(nullif(btrim(record_send_failure.error_message), ''),
    'no message'), 300);
  -- The sender's classification of Twilio's answer when it gives one (its client knows
  -- codes and HTTP statuses), else the code's: 21610, 21211/21614, retryable, rejected.
  kind text := coalesce(record_send_failure.failure_class, case
    when record_send_failure.error_code = 21610 then 'suppress'
    when record_send_failure.error_code in (21211, 21614) then 'invalid_recipient'
    when record_send_failure.error_code is null or record_send_failure.error_code = 20429
      or record_send_failure.error_code between 500 and 599 then 'retry'
    else 'rejected' end);
  retryable boolean := kind = 'retry';
  next_status text;
  reason text;
  retry_at timestamptz;
  new_suppression uuid;
begin
  select * into t from public.campaign_targets c
  where c.id = record_send_failure.target_id for update;
  if t.id is null then
    raise exception 'campaign target % not found', record_send_failure.target_id
      using errcode = 'P0002';
  end if;
  if t.claim_token is distinct from record_send_failure.claim_token
    or t.status not in ('claimed', 'unknown', 'canceled') then
    return 'stale';
  end if;

  if kind not in ('suppress', 'invalid_recipient', 'retry', 'rejected') then
    raise exception 'failure_class must be suppress, invalid_recipient, retry or rejected, not %',
      kind using errcode = '22023';
  end if;
  if kind = 'suppress' then
    insert into public.suppressions (org_id, phone, source, reason)
    values (t.org_id, t.phone, 'recipient_stop',
      format('Twilio %s: the recipient opted out of this sender', code_text))
    on conflict (org_id, phone, source) where lifted_at is null do nothing
    returning id into new_suppression;
    if new_suppression is not null then
      insert into public.consent_events (org_id, lead_id, phone, kind, channel, raw_text, source)
      values (t.org_id, t.lead_id, t.phone, 'revoked', 'sms', null,
        format('Twilio error %s on campaign target %s', code_text, t.id));
    end if;
    next_status := 'failed';
    reason := format('the recipient opted out (Twilio %s)', code_text);
  elsif kind = 'invalid_recipient' then
    update public.leads l set status = 'invalid'
    where l.org_id = t.org_id and l.id = t.lead_id and l.status <> 'invalid';
    next_status := 'failed';
    reason := format('not a number that can receive texts (Twilio %s: %s)', code_text, detail);
  elsif retryable and t.attempts < max_attempts then
    next_status := 'pending';
    -- Capped exponential backoff, and never sooner than Twilio's Retry-After.
    retry_at := record_send_failure.at + greatest(
      least(interval '1 hour', interval '30 seconds' * power(2, greatest(t.attempts, 1) - 1)),
      coalesce(record_send_failure.retry_after, interval '0'));
    reason := format('retrying after attempt %s (error %s: %s)', t.attempts, code_text, detail);
  elsif retryable then
    next_status := 'failed';
    reason := format('gave up after %s attempts (error %s: %s)', t.attempts, code_text, detail);
  else
    next_status := 'failed';
    reason := format('Twilio error %s: %s', code_text, detail);
  end if;

  if t.status = 'canceled' then
    update public.campaign_targets c
    set last_error_code = record_send_failure.error_code
    where c.id = t.id;
    return 'canceled';
  end if;
  update public.campaign_targets c
  set status = next_status,
      status_reason = left(reason, 500),
      last_error_code = record_send_failure.error_code,
      not_before = coalesce(retry_at, c.not_before),
      lease_expires_at = case when next_status = 'pending' then null else c.lease_expires_at end
  where c.id = t.id;
  return case when next_status = 'pending' then 'retry' else 'failed' end;
end;
$$;
comment on function private.record_send_failure(bigint, uuid, integer, text, timestamptz, text, interval) is
  'For the tick (as sms_system): records a failed send of a claimed target (opt-out,
   invalid number, retry with backoff, or failure), if the claim token matches.';

-- Claims past their lease whose outcome was never recorded: unknown, never pending again.
create function private.expire_leases(at timestamptz default now()) returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  n integer;
begin
  update public.campaign_targets t
  set status = 'unknown',
      status_reason = 'outcome unknown: the lease expired before the sender recorded a result; '
        'it may have been sent, so it is never sent again'
  where t.status = 'claimed' and t.lease_expires_at <= expire_leases.at;
  get diagnostics n = row_count;
  return n;
end;
$$;
comment on function private.expire_leases(timestamptz) is
  'For the tick (as sms_system): marks claims whose lease expired without an outcome as
   unknown (counted as sent by the caps; never resent); returns how many.';

revoke all on function private.sender_lock_key(uuid) from public;
revoke all on function private.claim_targets(integer, interval, timestamptz) from public;
revoke all on function private.record_sent(bigint, uuid, text, text, timestamptz) from public;
revoke all on function private.record_send_failure(bigint, uuid, integer, text, timestamptz, text, interval)
  from public;
revoke all on function private.expire_leases(timestamptz) from public;
grant execute on function private.claim_targets(integer, interval, timestamptz) to sms_system;
grant execute on function private.record_sent(bigint, uuid, text, text, timestamptz)
  to sms_system;
grant execute on function private.record_send_failure(bigint, uuid, integer, text, timestamptz, text, interval)
  to sms_system;
grant execute on function private.expire_leases(timestamptz) to sms_system;
