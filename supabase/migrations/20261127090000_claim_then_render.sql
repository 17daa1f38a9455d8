-- =============================================================================
-- The claim decides, the render writes the text, the record keeps it: private.claim_targets
-- evaluates every recipient rule and gives each claimed target its number and send slot;
-- private.render_claims, which the tick calls right after it in the same transaction,
-- gives the text of each claim (refusing one that renders empty or over the
-- organization's maximum of segments); the text goes on the target with its outcome
-- (private.record_sent, private.record_send_unknown), in the write the outcome makes
-- anyway. The claim statement so stops carrying each lead's fields through its steps,
-- nothing is written twice, and the judge, the numbers' view and the send window's
-- helpers become PL/pgSQL so their plans are cached (a SQL function that is not inlined
-- is planned on every call).
-- =============================================================================

-- The recipient's rules, unchanged, without the lead's fields (the render reads them).
drop function private.judge_targets(bigint[], timestamptz, timestamptz);
create function private.judge_targets(
  target_ids bigint[],
  at timestamptz,
  slots_until timestamptz
) returns table (
  id bigint,
  org_id uuid,
  campaign_id uuid,
  lead_id uuid,
  phone text,
  template_variant_id uuid,
  not_before timestamptz,
  sticky_id uuid,
  rule integer,
  verdict text,
  reason text,
  until timestamptz
)
language plpgsql
stable
set search_path = ''
as $$
#variable_conflict use_column
begin
  return query
  with
  -- Everything the rules need about each target, read once.
  facts as (
    select k.id, k.org_id, k.campaign_id, k.lead_id, k.phone, k.template_variant_id,
      k.not_before, l.phone as lead_phone, l.status as lead_status, l.state as lead_state,
      l.phone_number_id as sticky_id, l.zip_time_zone,
      -- What the area code's zones depend on (see private.time_zones_for_phone).
      case when l.phone ~ '^[+]1[0-9]{10}$' then substr(l.phone, 1, 5) end as area_prefix,
      -- (Two equality probes of the active suppressions' index.)
      l.suppressed or exists (
        select 1 from public.suppressions s
        where s.org_id = k.org_id and s.phone = k.phone and s.lifted_at is null
      ) or exists (
        select 1 from public.suppressions s
        where s.org_id = k.org_id and s.phone = l.phone and s.lifted_at is null
      ) as suppressed,
      c.send_window_start, c.send_window_end, c.send_days,
      o.campaign_message_interval as message_interval,
      least(o.lead_daily_cap, case
        when l.state is null then (select min(r.max_messages_24h) from private.state_send_rules r)
        else state_rule.max_messages_24h
      end) as lead_cap,
      recent.n + inflight.n as sent_24h,
      least(recent.oldest, inflight.oldest) + interval '24 hours' as cap_frees_at,
      inflight.last_campaign_at,
      -- Its foreign key nulls a deleted variant.
      k.template_variant_id is not null as has_variant
    from public.campaign_targets k
    join public.leads l on l.org_id = k.org_id and l.id = k.lead_id
    join public.campaigns c on c.id = k.campaign_id
    join public.organizations o on o.id = k.org_id
    left join private.state_send_rules state_rule on state_rule.state = l.state
    cross join lateral (
      select count(*) as n, min(m.created_at) as oldest
      -- By the lead alone (its id is unique across organizations), through the lead-first
      -- index: with organization-first indexes, a new organization that statistics do not
      -- know yet looked one row big, and the planner could scan all its messages per target.
      from public.messages m
      where m.lead_id = k.lead_id and m.direction = 'outbound'
        and m.created_at > judge_targets.at - interval '24 hours'
    ) recent
    cross join lateral (
      -- Claims not yet recorded (and unknown outcomes) count as sent; the latest campaign
      -- message of the lead, recorded or not.
      select count(*) filter (where x.status in ('claimed', 'unknown')
          and x.claimed_at > judge_targets.at - interval '24 hours') as n,
        min(x.claimed_at) filter (where x.status in ('claimed', 'unknown')
          and x.claimed_at > judge_targets.at - interval '24 hours') as oldest,
        max(coalesce(x.sent_at, greatest(x.claimed_at, x.not_before)))
          filter (where x.status in ('claimed', 'unknown', 'sent')) as last_campaign_at
      from public.campaign_targets x
      where x.org_id = k.org_id and x.lead_id = k.lead_id
    ) inflight
    where k.id = any (judge_targets.target_ids)
  ),
  -- The send window, once per group of targets with the same ZIP zone, area code, state and
  -- campaign (the zones depend on nothing else): open now and at the end of the lease (the
  -- latest slot); when not, when it opens next.
  window_groups as materialized (
    select g.*,
      case when not g.open then coalesce(
          private.next_send_window(g.zones, g.lead_state, g.send_window_start,
            g.send_window_end, g.send_days, judge_targets.slots_until),
          judge_targets.at + interval '1 day') end as opens_at
    from (
      select z.*,
        private.send_window_open(z.zones, z.lead_state, z.send_window_start, z.send_window_end,
          z.send_days, judge_targets.at)
        and private.send_window_open(z.zones, z.lead_state, z.send_window_start,
          z.send_window_end, z.send_days, judge_targets.slots_until) as open
      from (
        select f.zip_time_zone, f.area_prefix, f.lead_state, f.campaign_id,
          f.send_window_start, f.send_window_end, f.send_days,
          private.lead_time_zones(f.zip_time_zone, min(f.lead_phone)) as zones
        from facts f
        group by f.zip_time_zone, f.area_prefix, f.lead_state, f.campaign_id,
          f.send_window_start, f.send_window_end, f.send_days
      ) z
    ) g
  ),
  windowed as (
    select f.*, w.open as window_open, w.opens_at as window_opens_at
    from facts f
    join window_groups w on w.campaign_id = f.campaign_id
      and coalesce(w.zip_time_zone, '') = coalesce(f.zip_time_zone, '')
      and coalesce(w.area_prefix, '') = coalesce(f.area_prefix, '')
      and coalesce(w.lead_state, '') = coalesce(f.lead_state, '')
  ),
  -- The recipient's rules, in order: those that never pass skip the target for good, the
  -- others hold it pending (until when they stop holding it, when that is known).
  judged as (
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
            and f.last_campaign_at > judge_targets.at - f.message_interval then 7
          else 8
        end as rule
      from windowed f
    ) r
  )
  select j.id, j.org_id, j.campaign_id, j.lead_id, j.phone, j.template_variant_id, j.not_before,
    j.sticky_id, j.rule, j.verdict, j.reason, j.until
  from judged j;
end;
$$;
comment on function private.judge_targets(bigint[], timestamptz, timestamptz) is
  'Every recipient rule for the given targets at `at` (the send window also at slots_until):
   rule 1 invalid lead, 2 suppressed, 3 number changed, 4 variant gone (skipped for good);
   5 window, 6 24-hour cap, 7 campaign interval (pending until `until`); 8 ok. The claim,
   campaign_forecast and why_not_sent all judge with it.';
revoke all on function private.judge_targets(bigint[], timestamptz, timestamptz) from public;

-- The numbers as the claim sees them, unchanged (PL/pgSQL: a cached plan).
create or replace function private.sender_numbers(orgs uuid[], at timestamptz) returns table (
  id uuid,
  org_id uuid,
  phone text,
  twilio_sid text,
  messaging_service_sid text,
  daily_cap integer,
  messages_per_second numeric,
  mpm integer,
  area_code text,
  health_rank integer,
  org_numbers bigint,
  org_rank bigint,
  base timestamptz,
  day_used integer,
  spacing interval,
  in_rotation boolean
)
language plpgsql
stable
set search_path = ''
as $$
#variable_conflict use_column
begin
  return query
  select n.id, n.org_id, n.phone, n.twilio_sid, n.messaging_service_sid, n.daily_cap,
    n.messages_per_second, n.mpm, n.area_code, n.health_rank, n.org_numbers, n.org_rank,
    n.base, n.day_used, private.slot_spacing(n.messages_per_second, n.mpm, n.org_numbers),
    n.mpm is null or n.org_rank <= n.mpm
  from (
    select p.id, p.org_id, p.phone, p.twilio_sid,
      p.messaging_service_sid, p.daily_cap,
      p.messages_per_second, o.max_messages_per_minute as mpm,
      case when p.phone like '+1%' then substr(p.phone, 3, 3) end as area_code,
      case p.health when 'good' then 0 when 'unknown' then 1 else 2 end as health_rank,
      count(*) over (partition by p.org_id) as org_numbers,
      row_number() over (partition by p.org_id order by p.id) as org_rank,
      greatest(s.next_slot_at, sender_numbers.at) as base,
      case when s.slot_day = (greatest(s.next_slot_at, sender_numbers.at) at time zone 'UTC')::date
        then s.slot_day_count else 0 end as day_used
    from public.phone_numbers p
    join public.organizations o on o.id = p.org_id
    left join private.sending_number_slots s on s.phone_number_id = p.id
    where p.org_id = any (sender_numbers.orgs) and p.status = 'active' and p.health <> 'poor'
  ) n;
end;
$$;

-- The claim, without the text.
drop function private.claim_targets(integer, interval, timestamptz, timestamptz);
-- The claim, judging through private.judge_targets and reading numbers through
-- private.sender_numbers; the text is private.render_claims's.
create function private.claim_targets(
  max_targets integer,
  lease interval default '30 seconds',
  at timestamptz default now(),
  horizon timestamptz default null
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
  not_before timestamptz,
  template_variant_id uuid,
  send_by timestamptz
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
  slots_until timestamptz;
  tolerance constant interval := private.send_slot_tolerance();
begin
  slots_until := private.claim_slots_until('max_targets', max_targets, lease, at,
    claim_targets.horizon);
  -- A few more than asked for: some are held by a window or a cap (a claim that comes up
  -- short is followed by another: the held ones have moved out of the way).
  scan := max_targets + max_targets / 50 + 10;

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

  -- Their numbers, held until this claim commits (FOR KEY SHARE: a change of health or
  -- status goes on; a delete waits), so a number it gives out still exists when it does.
  perform 1 from public.phone_numbers p where p.org_id = any (orgs) order by p.id
  for key share of p;

  -- 3. The claim (which campaign_targets_check_number leaves to it, for the statement).
  perform pg_catalog.set_config('sct.sender_claim', 'on', true);
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
  -- Every recipient rule, by the one judge (private.judge_targets, which the forecast uses
  -- too). It reads the targets as the statement's snapshot saw them; one that changed since
  -- (what `locked` returns is its newest version) is left for the next claim.
  judged as materialized (
    select j.* from private.judge_targets(array(select k.id from locked k), claim_targets.at,
      slots_until) j
    join locked k on k.id = j.id
      and k.template_variant_id is not distinct from j.template_variant_id
      and k.not_before = j.not_before and k.phone = j.phone and k.lead_id = j.lead_id
  ),
  -- Each organization's sending numbers: their slot state, spacing and whether they are in
  -- rotation (active, not poor; with an org cap below the number count, only the first).
  numbers as materialized (
    select n.* from private.sender_numbers(orgs, claim_targets.at) n where n.in_rotation
  ),
  -- The numbers a lead without a usable sticky number may get: those with room today.
  open_numbers as materialized (
    select n.id, n.org_id, n.area_code, n.health_rank, n.base, n.spacing, n.daily_cap,
      n.day_used
    from numbers n
    where n.daily_cap is null or n.day_used < n.daily_cap
  ),
  -- The best health of each organization's open numbers, per area code (no area code:
  -- '-') and in all.
  area_best as materialized (
    select n.org_id, coalesce(n.area_code, '-') as area_key, min(n.health_rank) as health_rank
    from open_numbers n
    group by n.org_id, n.area_code
  ),
  org_best as materialized (
    select n.org_id, min(n.health_rank) as health_rank
    from open_numbers n
    group by n.org_id
  ),
  -- One target per lead per claim.
  first_of_lead as materialized (
    select j.*, case when j.phone like '+1%' then substr(j.phone, 3, 3) end as lead_area
    from (
      select j.*, row_number() over (partition by j.org_id, j.lead_id order by j.not_before, j.id)
        as lead_rank
      from judged j
      where j.verdict = 'ok'
    ) j
    where j.lead_rank = 1
  ),
  -- Leads without a usable sticky number, by tier: the best-health open numbers with the
  -- lead's area code when the organization has any, else its best-health open numbers.
  needing as materialized (
    select j.*, b.org_id is not null as has_open_number, coalesce(a.area_key, '*') as tier_area,
      coalesce(a.health_rank, b.health_rank) as tier_health,
      row_number() over (
        partition by j.org_id, coalesce(a.area_key, '*'), coalesce(a.health_rank, b.health_rank)
        order by j.not_before, j.id
      ) as place
    from first_of_lead j
    left join org_best b on b.org_id = j.org_id
    left join area_best a on a.org_id = j.org_id and a.area_key = coalesce(j.lead_area, '-')
    where j.sticky_id is null or j.sticky_id not in (select sticky.id from numbers sticky)
  ),
  -- Each tier's free slots before the horizon (and within its numbers' daily caps), merged
  -- in time order: the n-th lead of a tier gets the number of the n-th earliest, so new
  -- leads go to the numbers free soonest and every number stays busy. (A number offers at
  -- most twice its even share of the tier's leads: the next claim evens out the rest.)
  tier_slots as materialized (
    select t.org_id, t.tier_area, t.tier_health,
      array_agg(t.number_id order by t.base + g.k * t.spacing, t.number_id) as numbers
    from (
      select t.org_id, t.tier_area, t.tier_health, t.leads, n.id as number_id, n.base,
        n.spacing, n.daily_cap, n.day_used,
        count(*) over (partition by t.org_id, t.tier_area, t.tier_health) as tier_numbers
      from (
        select e.org_id, e.tier_area, e.tier_health, count(*) as leads
        from needing e where e.has_open_number
        group by e.org_id, e.tier_area, e.tier_health
      ) t
      join open_numbers n on n.org_id = t.org_id and n.health_rank = t.tier_health
        and (t.tier_area = '*' or coalesce(n.area_code, '-') = t.tier_area)
    ) t
    cross join lateral generate_series(0, least(
      t.leads - 1,
      2 * ceil(t.leads::numeric / t.tier_numbers)::bigint,
      coalesce(t.daily_cap - t.day_used - 1, t.leads - 1),
      floor(extract(epoch from slots_until - t.base) / extract(epoch from t.spacing))::bigint
    )) as g (k)
    group by t.org_id, t.tier_area, t.tier_health
  ),
  -- The lead's sticky number, else its tier's number for it; none when the organization
  -- has no open number (held a minute), or when the tier's slots before the horizon are
  -- all taken (left for a later claim).
  assigned as materialized (
    select j.id, j.org_id, j.campaign_id, j.lead_id, j.phone, j.template_variant_id,
      j.not_before, j.sticky_id, sticky.id as number_id,
      false as no_slot_yet
    from first_of_lead j
    join numbers sticky on sticky.id = j.sticky_id
    union all
    select e.id, e.org_id, e.campaign_id, e.lead_id, e.phone, e.template_variant_id,
      e.not_before, e.sticky_id, ts.numbers[e.place],
      e.has_open_number and ts.numbers[e.place] is null
    from needing e
    left join tier_slots ts on ts.org_id = e.org_id and ts.tier_area = e.tier_area
      and ts.tier_health = e.tier_health
  ),
  -- Send slots: the k-th target of a number gets base + k * spacing, within the lease
  -- horizon, the number's UTC day and its daily cap.
  ranked as materialized (
    select a.*, n.base + (a.k * n.spacing) as slot, n.spacing, n.base, n.day_used,
      date_trunc('day', n.base at time zone 'UTC') at time zone 'UTC' + interval '1 day'
        as day_ends,
      n.daily_cap is not null and n.day_used + a.k >= n.daily_cap as over_daily_cap
    from (
      select a.*, row_number() over (partition by a.number_id order by a.not_before, a.id) - 1
        as k
      from assigned a
      where a.number_id is not null
    ) a
    join numbers n on n.id = a.number_id
  ),
  slotted as (
    select r.* from ranked r
    where r.slot < slots_until and r.slot < r.day_ends and not r.over_daily_cap
  ),
  chosen as materialized (
    select s.* from slotted s order by s.slot, s.id limit max_targets
  ),
  -- What becomes of each target that changes: claimed, skipped, or pending until later.
  -- (Targets held only by throughput or by another target of their lead stay as they are.)
  -- The text is private.render_claims's, called next in the same transaction.
  outcome as materialized (
    select c.id, 'claimed' as status, null::text as reason, c.slot as not_before,
      c.number_id
    from chosen c
    union all
    select j.id, j.verdict, j.reason,
      case when j.verdict = 'pending' then greatest(j.until, claim_targets.at) else j.not_before end,
      null
    from judged j
    where j.verdict <> 'ok'
      and (j.verdict = 'skipped' or greatest(j.until, claim_targets.at) is distinct from j.not_before)
    union all
    select a.id, 'pending', 'held: no sending number available',
      claim_targets.at + interval '1 minute', null
    from assigned a
    where a.number_id is null and not a.no_slot_yet
    union all
    -- Its sticky number has given out its day's slots: not before the next UTC day. (A new
    -- lead its tier put there is left as it is: the next claim gives it a number with room.)
    select r.id, 'pending', 'held: the sending number reached its daily cap',
      r.day_ends, null
    from ranked r
    where (r.over_daily_cap or r.slot >= r.day_ends) and r.number_id = r.sticky_id
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
          else t.phone_number_id end
    from outcome o
    where t.id = o.id
    returning t.id, t.claim_token, t.org_id, t.campaign_id, t.lead_id, t.phone,
      t.phone_number_id, t.not_before, t.template_variant_id, t.status
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
    u.phone_number_id, n.twilio_sid, n.messaging_service_sid, u.not_before,
    u.template_variant_id, u.not_before + tolerance
  from updated u
  join numbers n on n.id = u.phone_number_id
  where u.status = 'claimed'
  order by u.not_before, u.id;
  perform pg_catalog.set_config('sct.sender_claim', '', true);
end;
$$;
comment on function private.claim_targets(integer, interval, timestamptz, timestamptz) is
  'For the tick (as sms_system): claims up to max_targets due targets of running campaigns,
   every recipient rule checked at the claim, each with its number and send slot
   (not_before, slots before horizon) under a lease; a send must start by send_by or be
   handed back; skips targets that can never be sent. Their text is private.render_claims''s,
   called next in the same transaction.';
revoke all on function private.claim_targets(integer, interval, timestamptz, timestamptz)
  from public;
grant execute on function private.claim_targets(integer, interval, timestamptz, timestamptz)
  to sms_system;

-- -----------------------------------------------------------------------------
-- The text of each claim
-- -----------------------------------------------------------------------------

-- The text of the given claims (token checked, still claimed), by private.message_text
-- (the one renderer) from the lead's fields as they are now, seeded by the target's id:
-- the first message to the lead (no outbound message, no other campaign message claimed,
-- of unknown outcome or sent) carries the opt-out text. A text that renders empty or over
-- the organization's maximum of segments is refused: the target is skipped with the reason
-- (its send slot stays used). Returns the others' texts, which the tick sends and hands
-- back with their outcome (nothing else is written).
create function private.render_claims(target_ids bigint[], claim_tokens uuid[])
returns table (
  target_id bigint,
  body text,
  encoding public.message_encoding,
  segments smallint
)
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
begin
  return query
  with
  -- Each by its key, whatever the statistics say of claimed rows (a cached plan that
  -- trusted them scanned the given claims once per claimed row).
  claimed as materialized (
    select t.id, t.org_id, t.lead_id, t.template_variant_id
    from unnest(target_ids, claim_tokens) as c (id, token)
    cross join lateral (
      select k.id, k.org_id, k.lead_id, k.template_variant_id, k.claim_token, k.status
      from public.campaign_targets k where k.id = c.id
      limit 1
    ) t
    where t.claim_token = c.token and t.status = 'claimed'
  ),
  rendered as materialized (
    select c.id, m.body, m.segments, o.max_segments,
      case m.encoding when 'GSM-7' then 'gsm7' else 'ucs2' end::public.message_encoding
        as encoding
    from claimed c
    join public.leads l on l.org_id = c.org_id and l.id = c.lead_id
    join public.template_variants v on v.org_id = c.org_id and v.id = c.template_variant_id
    join public.organizations o on o.id = c.org_id
    cross join lateral private.message_text(v.body,
      jsonb_build_object('first_name', l.first_name, 'last_name', l.last_name, 'city', l.city,
        'state', l.state, 'zip', l.zip, 'custom_fields', l.custom_fields),
      c.id, o,
      not exists (
        select 1 from public.messages m
        where m.lead_id = c.lead_id and m.direction = 'outbound'
      ) and not exists (
        select 1 from public.campaign_targets x
        where x.org_id = c.org_id and x.lead_id = c.lead_id and x.id <> c.id
          and x.status in ('claimed', 'unknown', 'sent')
      )) m
  ),
  refused as (
    update public.campaign_targets t
    set status = 'skipped',
        status_reason = case
          when r.segments = 0 then 'the message renders empty'
          else format('the message is %s segments, over the organization''s maximum of %s',
            r.segments, r.max_segments)
        end
    from rendered r
    where t.id = r.id and not r.segments between 1 and r.max_segments
  )
  select r.id, r.body, r.encoding, r.segments::smallint from rendered r
  where r.segments between 1 and r.max_segments
  order by r.id;
end;
$$;
comment on function private.render_claims(bigint[], uuid[]) is
  'For the tick (as sms_system), right after private.claim_targets in the same transaction:
   the text of each given claim (token checked) with its encoding and segments; one that
   renders empty or over the organization''s maximum of segments is skipped with the reason
   and not returned.';
revoke all on function private.render_claims(bigint[], uuid[]) from public;
grant execute on function private.render_claims(bigint[], uuid[]) to sms_system;

-- -----------------------------------------------------------------------------
-- The text goes on the target with its outcome
-- -----------------------------------------------------------------------------

-- Twilio accepted the message: as before, with the text the tick sent (from
-- private.render_claims), kept on the target and in the message.
drop function private.record_sent(bigint, uuid, text, text, timestamptz);
create function private.record_sent(
  target_id bigint,
  claim_token uuid,
  twilio_sid text,
  status text default 'queued',
  at timestamptz default now(),
  body text default null,
  encoding public.message_encoding default null,
  segments smallint default null
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
  if record_sent.body is null or record_sent.encoding is null or record_sent.segments is null
  then
    raise exception 'body, encoding, segments: the text that was sent is required'
      using errcode = '22023';
  end if;
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
  if t.status not in ('claimed', 'unknown', 'canceled') then
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
    t.phone, record_sent.body, record_sent.segments, record_sent.encoding,
    record_sent.twilio_sid, message_status,
    t.campaign_id, t.id, t.template_variant_id, record_sent.at);

  update public.campaign_targets c
  set status = case when t.status = 'canceled' then 'canceled' else 'sent' end,
      sent_at = record_sent.at,
      body = record_sent.body,
      encoding = record_sent.encoding,
      segments = record_sent.segments,
      status_reason = case
        when t.status = 'canceled' then t.status_reason
        when t.status = 'unknown' then 'sent (recorded after its lease expired)'
      end,
      last_error_code = null
  where c.id = t.id;
  return case when t.status = 'canceled' then 'canceled' else 'sent' end;
end;
$$;
comment on function private.record_sent(bigint, uuid, text, text, timestamptz, text,
  public.message_encoding, smallint) is
  'For the tick (as sms_system): records a claimed target Twilio accepted, with the text it
   sent, as an outbound message (conversation found or created) and marks it sent, if the
   claim token matches.';
revoke all on function private.record_sent(bigint, uuid, text, text, timestamptz, text,
  public.message_encoding, smallint) from public;
grant execute on function private.record_sent(bigint, uuid, text, text, timestamptz, text,
  public.message_encoding, smallint) to sms_system;

-- Requests whose fate the sender cannot know: as before, keeping the text that may have
-- been sent when the tick gives it.
drop function private.record_send_unknown(bigint[], uuid[], text[]);
create function private.record_send_unknown(
  target_ids bigint[],
  claim_tokens uuid[],
  reasons text[],
  bodies text[] default null,
  encodings public.message_encoding[] default null,
  segment_counts smallint[] default null
) returns integer
language plpgsql
security definer
set search_path = ''
set plan_cache_mode = force_custom_plan
as $$
declare
  n integer;
begin
  with marked as (
    update public.campaign_targets t
    set status = 'unknown', lease_expires_at = null,
        status_reason = left('outcome unknown: ' || coalesce(c.reason, 'no answer'), 500),
        body = coalesce(c.body, t.body),
        encoding = coalesce(c.encoding, t.encoding),
        segments = coalesce(c.segments, t.segments)
    from (
      select k.id, k.token, k.reason, bodies[k.n] as body, encodings[k.n] as encoding,
        segment_counts[k.n] as segments
      from unnest(target_ids, claim_tokens, reasons) with ordinality as k (id, token, reason, n)
    ) c
    where t.id = c.id and t.claim_token = c.token and t.status = 'claimed'
    returning 1
  )
  select count(*)::integer into n from marked;
  return n;
end;
$$;
comment on function private.record_send_unknown(bigint[], uuid[], text[], text[],
  public.message_encoding[], smallint[]) is
  'For the sender: claims whose request may have reached Twilio become unknown (never
   resent), keeping the text that may have been sent when given.';
revoke all on function private.record_send_unknown(bigint[], uuid[], text[], text[],
  public.message_encoding[], smallint[]) from public;
grant execute on function private.record_send_unknown(bigint[], uuid[], text[], text[],
  public.message_encoding[], smallint[]) to sms_system;

-- -----------------------------------------------------------------------------
-- The tick's set-based calls, planned for the claims they are given
-- -----------------------------------------------------------------------------

-- Each takes arrays of claimed targets and finds them by key. A cached generic plan knew
-- neither how many it was given nor how many targets were claimed (statistics seldom see
-- a claim in flight), and scanned the given claims once per claimed row: 50 to 150 ms for
-- a thousand. Planned for the arrays at hand, each is a lookup by key.
alter function private.sendable_claims(bigint[], uuid[])
  set plan_cache_mode = force_custom_plan;

create or replace function private.release_claims(target_ids bigint[], claim_tokens uuid[])
returns integer
language plpgsql
security definer
set search_path = ''
set plan_cache_mode = force_custom_plan
as $$
declare
  n integer;
begin
  with released as (
    update public.campaign_targets t
    set status = 'pending', claim_token = null, lease_expires_at = null, not_before = now(),
        -- The claim counted an attempt that never happened.
        attempts = greatest(t.attempts - 1, 0)
    from unnest(target_ids, claim_tokens) as c (id, token)
    where t.id = c.id and t.claim_token = c.token and t.status = 'claimed'
    returning 1
  )
  select count(*)::integer into n from released;
  return n;
end;
$$;

-- The spacing of send slots, unchanged, in PL/pgSQL: a SQL function with its own
-- search_path is never inlined, and was planned again for each number of each claim.
create or replace function private.slot_spacing(
  messages_per_second numeric,
  org_max_per_minute integer,
  org_numbers bigint
) returns interval
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
declare
  tolerance_us constant numeric :=
    2 * extract(epoch from private.send_slot_tolerance()) * 1000000.0;
begin
  -- Whole microseconds, rounded up, so rounding never adds a message; each period
  -- stretched by the tolerance a send may start late and as much again for the request's
  -- transit, so no second (or minute) ever holds more than the rate. The organization's
  -- per-minute cap is shared by its numbers.
  return pg_catalog.make_interval(secs => ceil(greatest(
    (1000000.0 + tolerance_us) / messages_per_second,
    case when org_max_per_minute is null then 0
      else (60000000.0 + tolerance_us) / greatest(1,
        floor(org_max_per_minute::numeric
          / greatest(1, least(org_numbers, org_max_per_minute))))
    end)) / 1000000.0);
end;
$$;

-- -----------------------------------------------------------------------------
-- A claimed target's number: held once per claim, not looked up once per target
-- -----------------------------------------------------------------------------

-- The foreign key from campaign_targets.phone_number_id looked the number up again for each
-- target the claim gave it to: a thousand lookups of the same few numbers, a tenth of the
-- claim. The claim now holds its organizations' numbers (FOR KEY SHARE) and gives out only
-- those, so each number it writes exists and is its target's organization's until it
-- commits; every other writer is checked row by row, as the key did; a deleted number is
-- taken off its targets, as the key's ON DELETE SET NULL did.
alter table public.campaign_targets drop constraint campaign_targets_phone_number_fkey;
comment on column public.campaign_targets.phone_number_id is
  'The number the target was last claimed for: one of its organization''s numbers (the claim
   holds them while it gives them out; other writers are checked by
   campaign_targets_check_number); null once that number is deleted.';

create function private.check_target_number() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform 1 from public.phone_numbers n
  where n.org_id = new.org_id and n.id = new.phone_number_id
  for key share of n;
  if not found then
    raise exception 'campaign target %: % is not a sending number of its organization',
      new.id, new.phone_number_id
      using errcode = '23503';
  end if;
  return new;
end;
$$;
comment on function private.check_target_number() is
  'Trigger: a campaign target''s phone_number_id is one of its organization''s numbers (held
   until the writer commits), for every writer but the claim, which holds its numbers itself.';
revoke all on function private.check_target_number() from public;

create trigger campaign_targets_check_number
  before insert or update of phone_number_id, org_id on public.campaign_targets
  for each row
  when (new.phone_number_id is not null
    and current_setting('sct.sender_claim', true) is distinct from 'on')
  execute function private.check_target_number();

create function private.forget_deleted_number() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  update public.campaign_targets t set phone_number_id = null
  where t.org_id = old.org_id and t.phone_number_id = old.id;
  return null;
end;
$$;
comment on function private.forget_deleted_number() is
  'Trigger: a deleted sending number is taken off the campaign targets last claimed for it.';
revoke all on function private.forget_deleted_number() from public;

create trigger phone_numbers_forget_in_targets
  after delete on public.phone_numbers
  for each row execute function private.forget_deleted_number();

-- -----------------------------------------------------------------------------
-- The send window's helpers, unchanged, in PL/pgSQL
-- -----------------------------------------------------------------------------

-- Each was a SQL function with its own search_path (never inlined), planned again on every
-- call: a claim paid for them once per group of leads sharing a window.
create or replace function private.legal_send_hours(state text, iso_dow integer)
returns table (local_start time, local_end time)
language plpgsql
stable
parallel safe
set search_path = ''
as $$
#variable_conflict use_column
begin
  return query
  with rules as (
    select r.state,
      (select h.local_start from private.state_send_hours h
       where h.state = r.state and h.iso_dow = legal_send_hours.iso_dow) as local_start,
      (select h.local_end from private.state_send_hours h
       where h.state = r.state and h.iso_dow = legal_send_hours.iso_dow) as local_end
    from (select distinct h.state from private.state_send_hours h) r
    where legal_send_hours.state is null or r.state = legal_send_hours.state
  ),
  day as (
    select
      greatest('08:00'::time, max(r.local_start)) as local_start,
      least('21:00'::time, min(r.local_end)) as local_end,
      bool_or(r.local_start is null) as forbidden
    from rules r
  )
  select d.local_start, d.local_end
  from day d
  where not coalesce(d.forbidden, false) and d.local_start < d.local_end;
end;
$$;

create or replace function private.lead_time_zones(zip_time_zone text, phone text)
returns text[]
language plpgsql
stable
parallel safe
set search_path = ''
as $$
begin
  return coalesce(
    nullif(array(
      select distinct z from unnest(
        array[zip_time_zone] || coalesce(private.time_zones_for_phone(phone), '{}')) z
      where z is not null
      order by 1
    ), '{}'),
    '{America/Puerto_Rico,Pacific/Honolulu}');
end;
$$;

create or replace function private.time_zones_for_phone(phone text) returns text[]
language plpgsql
stable
parallel safe
set search_path = ''
as $$
begin
  if phone !~ '^[+]1[0-9]{10}$' then
    return null;
  end if;
  return (select a.time_zones from private.area_code_time_zones as a
          where a.area_code = substr(phone, 3, 3));
end;
$$;

-- The API keeps the embedding the key gave PostgREST (campaign_targets?select=*,
-- phone_numbers(phone)): a computed to-one relationship, read under the caller's RLS.
create function public.phone_numbers(target public.campaign_targets)
returns setof public.phone_numbers
rows 1
language sql
stable
as $$
  select n.* from public.phone_numbers n
  where n.org_id = target.org_id and n.id = target.phone_number_id
$$;
comment on function public.phone_numbers(public.campaign_targets) is
  'The sending number a campaign target was last claimed for (PostgREST embeds it as
   phone_numbers), under the caller''s RLS.';
revoke all on function public.phone_numbers(public.campaign_targets) from public, anon;
grant execute on function public.phone_numbers(public.campaign_targets)
  to authenticated, service_role;
