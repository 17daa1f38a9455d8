-- =============================================================================
-- "Why isn't my campaign sending?": campaign_forecast(campaign_id) and
-- why_not_sent(target_id) answer with the sender's own rules. The claim's recipient rules
-- move into private.judge_targets and its view of the sending numbers into
-- private.sender_numbers; private.claim_targets, the forecast and why_not_sent all use
-- them, so they can never disagree.
-- =============================================================================

-- The recipient's rules for a set of pending targets at an instant (and at the end of the
-- claim's slots): each target's verdict (ok, pending until a time, or skipped for good) with
-- the rule and its reason. The claim judges the targets it locked with it; the forecast
-- and why_not_sent judge with it too, so they can never disagree with the sender.
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
  lead_fields jsonb,
  first_message boolean,
  rule integer,
  verdict text,
  reason text,
  until timestamptz
)
language sql
stable
set search_path = ''
as $$
  with
  -- Everything the rules need about each target, read once.
  facts as (
    select k.id, k.org_id, k.campaign_id, k.lead_id, k.phone, k.template_variant_id,
      k.not_before, l.phone as lead_phone, l.status as lead_status, l.state as lead_state,
      l.phone_number_id as sticky_id, l.zip_time_zone,
      -- What the text needs of the lead (the fields private.render_template_parts reads),
      -- and whether the message is the lead's first: no outbound message, no campaign
      -- message claimed, unknown or sent (last_campaign_at is null exactly then).
      jsonb_build_object('first_name', l.first_name, 'last_name', l.last_name,
        'city', l.city, 'state', l.state, 'zip', l.zip, 'custom_fields', l.custom_fields)
        as lead_fields,
      not recent.any_outbound and inflight.last_campaign_at is null as first_message,
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
        else (select r.max_messages_24h from private.state_send_rules r where r.state = l.state)
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
    cross join lateral (
      select count(*) filter (where m.created_at > judge_targets.at - interval '24 hours') as n,
        min(m.created_at) filter (where m.created_at > judge_targets.at - interval '24 hours')
          as oldest,
        count(*) > 0 as any_outbound
      -- By the lead alone (its id is unique across organizations), through the lead-first
      -- index: with organization-first indexes, a new organization that statistics do not
      -- know yet looked one row big, and the planner could scan all its messages per target.
      from public.messages m
      where m.lead_id = k.lead_id and m.direction = 'outbound'
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
          f.send_days, judge_targets.at)
        and private.send_window_open(f.zones, f.lead_state, f.send_window_start,
          f.send_window_end, f.send_days, judge_targets.slots_until)
      end as open
    from window_first f
  ),
  windowed as (
    select f.*,
      bool_and(f.open) over w as window_open,
      max(case when not f.open then coalesce(
          private.next_send_window(f.zones, f.lead_state, f.send_window_start,
            f.send_window_end, f.send_days, judge_targets.slots_until),
          judge_targets.at + interval '1 day') end) over w as window_opens_at
    from window_open f
    window w as (partition by f.zip_time_zone, f.area_prefix, f.lead_state, f.campaign_id)
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
    j.sticky_id, j.lead_fields, j.first_message, j.rule, j.verdict, j.reason, j.until
  from judged j
$$;
comment on function private.judge_targets(bigint[], timestamptz, timestamptz) is
  'Every recipient rule for the given targets at `at` (the send window also at slots_until):
   rule 1 invalid lead, 2 suppressed, 3 number changed, 4 variant gone (skipped for good);
   5 window, 6 24-hour cap, 7 campaign interval (pending until `until`); 8 ok. The claim,
   campaign_forecast and why_not_sent all judge with it.';
revoke all on function private.judge_targets(bigint[], timestamptz, timestamptz) from public;

-- Each organization's sending numbers as the claim sees them at an instant: their slot
-- state (next free slot, slots used on its UTC day), spacing, and whether they are in the
-- rotation (active, not poor; with an org cap below the number count, only the first).
create function private.sender_numbers(orgs uuid[], at timestamptz) returns table (
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
language sql
stable
set search_path = ''
as $$
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
  ) n
$$;
comment on function private.sender_numbers(uuid[], timestamptz) is
  'The sending numbers the claim may use at `at` (active, not poor), with their slot state
   and spacing; in_rotation false beyond an organization''s per-minute cap. The claim and
   the forecast both read numbers through it.';
revoke all on function private.sender_numbers(uuid[], timestamptz) from public;

-- The claim, as before, judging through private.judge_targets and reading numbers through
-- private.sender_numbers.
create or replace function private.claim_targets(
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
  body text,
  encoding public.message_encoding,
  segments smallint,
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
  -- A few more than asked for: some are held by a window or a cap.
  scan := max_targets + greatest(max_targets / 4, 10);

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
    where not exists (select 1 from numbers sticky where sticky.id = j.sticky_id)
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
      j.not_before, j.sticky_id, j.lead_fields, j.first_message, sticky.id as number_id,
      false as no_slot_yet
    from first_of_lead j
    join numbers sticky on sticky.id = j.sticky_id
    union all
    select e.id, e.org_id, e.campaign_id, e.lead_id, e.phone, e.template_variant_id,
      e.not_before, e.sticky_id, e.lead_fields, e.first_message, ts.numbers[e.place],
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
  -- The text, for the chosen only, by private.message_text (the one renderer), from the
  -- lead's fields the renderer reads: the first message to the lead carries the opt-out
  -- text.
  rendered as materialized (
    select c.id, c.org_id, c.lead_id, c.slot, c.number_id, m.body, m.segments, o.max_segments,
      case m.encoding when 'GSM-7' then 'gsm7' else 'ucs2' end::public.message_encoding
        as encoding
    from chosen c
    join public.template_variants v on v.org_id = c.org_id and v.id = c.template_variant_id
    join public.organizations o on o.id = c.org_id
    cross join lateral private.message_text(v.body, c.lead_fields, c.id, o, c.first_message) m
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
    where a.number_id is null and not a.no_slot_yet
 
    union all
    -- Its sticky number has given out its day's slots: not before the next UTC day. (A new
    -- lead its tier put there is left as it is: the next claim gives it a number with room.)
    select r.id, r.org_id, r.lead_id, 'pending', 'held: the sending number reached its daily cap',
      r.day_ends, null, null, null, null
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
    u.not_before, u.template_variant_id, u.not_before + tolerance
  from updated u
  join numbers n on n.id = u.phone_number_id
  where u.status = 'claimed'
  order by u.not_before, u.id;
end;
$$;
-- -----------------------------------------------------------------------------
-- What holds each pending target back
-- -----------------------------------------------------------------------------

-- Each given pending target of one organization at `at`: the judge's verdict, then the
-- numbers' (as the claim would meet them), as one category with its reason and until:
-- deferred (an earlier hold set its not_before later), invalid, suppressed, unsendable
-- (number changed or variant gone), send_window, frequency_cap, number_daily_cap,
-- number_unavailable (no number in the rotation: paused, disabled or poor) or sendable.
create function private.classify_targets(
  org uuid,
  target_ids bigint[],
  at timestamptz,
  slots_until timestamptz
) returns table (
  id bigint,
  campaign_id uuid,
  category text,
  reason text,
  until timestamptz
)
language sql
stable
set search_path = ''
as $$
  with
  numbers as materialized (
    select n.* from private.sender_numbers(array[org], classify_targets.at) n
    where n.in_rotation
  ),
  day_ends as (
    select date_trunc('day', classify_targets.at at time zone 'UTC') at time zone 'UTC'
      + interval '1 day' as at
  )
  select j.id, j.campaign_id,
    case
      when t.not_before > classify_targets.at then 'deferred'
      when j.rule = 1 then 'invalid'
      when j.rule = 2 then 'suppressed'
      when j.rule in (3, 4) then 'unsendable'
      when j.rule = 5 then 'send_window'
      when j.rule in (6, 7) then 'frequency_cap'
      when sticky.id is not null and sticky.daily_cap is not null
        and sticky.day_used >= sticky.daily_cap then 'number_daily_cap'
      when sticky.id is not null then 'sendable'
      when exists (select 1 from numbers n
                   where n.daily_cap is null or n.day_used < n.daily_cap) then 'sendable'
      when exists (select 1 from numbers) then 'number_daily_cap'
      else 'number_unavailable'
    end,
    case
      when t.not_before > classify_targets.at then
        coalesce(t.status_reason, 'waiting for its time')
      when j.verdict <> 'ok' then j.reason
      when sticky.id is not null and sticky.daily_cap is not null
        and sticky.day_used >= sticky.daily_cap then
        'held: the sending number reached its daily cap'
      when sticky.id is not null then 'sendable now'
      when exists (select 1 from numbers n
                   where n.daily_cap is null or n.day_used < n.daily_cap) then 'sendable now'
      when exists (select 1 from numbers) then
        'held: every sending number reached its daily cap'
      else 'held: no sending number available (paused, disabled or in poor health)'
    end,
    case
      when t.not_before > classify_targets.at then t.not_before
      when j.verdict <> 'ok' then j.until
      when sticky.id is not null and sticky.daily_cap is not null
        and sticky.day_used >= sticky.daily_cap then (select d.at from day_ends d)
      when sticky.id is null and not exists (
        select 1 from numbers n where n.daily_cap is null or n.day_used < n.daily_cap)
        and exists (select 1 from numbers) then (select d.at from day_ends d)
    end
  from private.judge_targets(target_ids, classify_targets.at, classify_targets.slots_until) j
  join public.campaign_targets t on t.id = j.id
  left join numbers sticky on sticky.id = j.sticky_id
  where j.org_id = org
$$;
comment on function private.classify_targets(uuid, bigint[], timestamptz, timestamptz) is
  'What holds each given pending target back at `at`, by the sender''s own rules
   (private.judge_targets, private.sender_numbers): category, reason and until.';
revoke all on function private.classify_targets(uuid, bigint[], timestamptz, timestamptz)
  from public;


-- -----------------------------------------------------------------------------
-- campaign_forecast and why_not_sent
-- -----------------------------------------------------------------------------

create function public.campaign_forecast(campaign_id uuid, at timestamptz default now())
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  c public.campaigns;
  pending bigint;
  ids bigint[];
  scale numeric;
  -- Judged as a claim at `at` with the default lease would be.
  slots_until timestamptz := campaign_forecast.at + interval '30 seconds';
  per_second numeric;
  result jsonb;
begin
  -- PT404 unless the caller is a member of its organization.
  c := private.visible_campaign(campaign_forecast.campaign_id);
  select count(*) into pending from public.campaign_targets t
  where t.org_id = c.org_id and t.campaign_id = c.id and t.status = 'pending';
  -- Up to 20,000 pending targets judged one by one; beyond, a uniform sample of 20,000,
  -- scaled (sampled: true).
  ids := array(
    select t.id from public.campaign_targets t
    where t.org_id = c.org_id and t.campaign_id = c.id and t.status = 'pending'
    order by case when pending > 20000 then random() end, t.id
    limit 20000);
  scale := case when cardinality(ids) > 0 then pending::numeric / cardinality(ids) else 1 end;
  select sum(1 / extract(epoch from n.spacing)) into per_second
  from private.sender_numbers(array[c.org_id], campaign_forecast.at) n
  where n.in_rotation;

  with
  classified as materialized (
    select * from private.classify_targets(c.org_id, ids, campaign_forecast.at, slots_until)
  ),
  by_category as (
    select k.category, round(count(*) * scale)::bigint as targets, min(k.until) as next_at
    from classified k group by k.category
  ),
  deferred_reasons as (
    select k.reason, round(count(*) * scale)::bigint as targets, min(k.until) as next_at
    from classified k where k.category = 'deferred'
    group by k.reason
  ),
  counts as (
    select jsonb_object_agg(b.category, jsonb_strip_nulls(jsonb_build_object(
      'targets', b.targets, 'next_at', b.next_at))) as categories
    from by_category b
  ),
  sendable as (
    select coalesce((select b.targets from by_category b where b.category = 'sendable'), 0) as n
  )
  select jsonb_build_object(
    'campaign_id', c.id,
    'status', c.status,
    'running', c.status = 'running',
    'status_reason', c.status_reason,
    'at', campaign_forecast.at,
    'pending', pending,
    'claimed', (select count(*) from public.campaign_targets t
                where t.org_id = c.org_id and t.campaign_id = c.id and t.status = 'claimed'),
    'sampled', pending > cardinality(ids),
    'judged', cardinality(ids),
    'sendable_now', s.n,
    'numbers_per_second', round(coalesce(per_second, 0), 3),
    'seconds_to_send_sendable', case when per_second > 0 then ceil(s.n / per_second) end,
    'held_by_rate', case when per_second > 0
      then greatest(0, s.n - floor(per_second * 60))::bigint else s.n end,
    'categories', coalesce(k.categories, '{}'::jsonb),
    'deferred_reasons', (
      select coalesce(jsonb_agg(jsonb_build_object('reason', d.reason, 'targets', d.targets,
        'next_at', d.next_at) order by d.targets desc, d.reason), '[]'::jsonb)
      from deferred_reasons d)
  ) into result
  from sendable s cross join counts k;
  return result;
end;
$$;
comment on function public.campaign_forecast(uuid, timestamptz) is
  'Why a campaign is (not) sending, by the sender''s own rules: of its pending targets, how
   many are sendable now (and how many of those wait beyond a minute for the numbers'' rate),
   and per category (send_window, frequency_cap, number_daily_cap, number_unavailable,
   deferred, suppressed, invalid, unsendable) how many and when the first clears (next_at).
   Exact up to 20,000 pending targets, a scaled sample beyond. Any member.';

create function public.why_not_sent(target_id bigint, at timestamptz default now())
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  t public.campaign_targets;
  c public.campaigns;
  k record;
begin
  select * into t from public.campaign_targets x where x.id = why_not_sent.target_id;
  if t.id is null or auth.uid() is null or not private.has_role_on_org(t.org_id) then
    raise exception 'campaign target % not found', why_not_sent.target_id
      using errcode = 'PT404';
  end if;
  c := private.visible_campaign(t.campaign_id);
  if t.status <> 'pending' then
    return jsonb_strip_nulls(jsonb_build_object('target_id', t.id, 'status', t.status,
      'rule', t.status,
      'reason', case t.status
        when 'sent' then 'sent'
        when 'claimed' then 'being sent: claimed by a tick'
        when 'unknown' then 'a send whose outcome is unknown: never sent again'
        else coalesce(t.status_reason, t.status) end,
      'at', coalesce(t.sent_at, t.claimed_at, t.updated_at)));
  end if;
  select * into k
  from private.classify_targets(t.org_id, array[t.id], why_not_sent.at,
    why_not_sent.at + interval '30 seconds');
  return jsonb_strip_nulls(jsonb_build_object(
    'target_id', t.id, 'status', t.status,
    'rule', case when c.status <> 'running' then 'campaign_' || c.status else k.category end,
    'reason', case when c.status <> 'running' then
        format('the campaign is %s', c.status) || coalesce(': ' || c.status_reason, '')
        || case when k.category <> 'sendable' then '; then: ' || k.reason else '' end
      else k.reason end,
    'until', k.until,
    'campaign_status', c.status));
end;
$$;
comment on function public.why_not_sent(bigint, timestamptz) is
  'The rule holding one campaign target back (campaign not running, deferred, suppressed,
   send window, frequency cap, a number''s daily cap or no number …) and when it clears, by
   the sender''s own rules; or what became of it. Any member of its organization.';

revoke all on function public.campaign_forecast(uuid, timestamptz) from public, anon;
revoke all on function public.why_not_sent(bigint, timestamptz) from public, anon;
grant execute on function public.campaign_forecast(uuid, timestamptz) to authenticated;
grant execute on function public.why_not_sent(bigint, timestamptz) to authenticated;
