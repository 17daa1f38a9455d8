-- =============================================================================
-- The campaign lifecycle: draft → scheduled → running ⇄ paused → completed, canceled
-- from any non-final state. Members move a campaign with five RPCs (schedule, start,
-- pause, resume, cancel_campaign); the system starts scheduled campaigns whose time has
-- come and completes running ones with nothing left to send. Starting materialises the
-- send queue (campaign_targets) once, set-based, with each target's template variant
-- chosen by the campaign's rotation. Every change is audited (the campaigns audit
-- trigger, with the acting user) and broadcast on the organization's channel.
--
-- Audience: {"tags": [...], "statuses": [...], "states": [...], "import_ids": [...]}.
-- Filters combine with AND; within one filter any value matches (a lead with ANY of the
-- tags). A missing or empty filter does not restrict. Suppressed and invalid leads are
-- never targeted.
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Indexes
-- -----------------------------------------------------------------------------

-- The tick's search for scheduled campaigns that are due, across organizations.
create index campaigns_scheduled_at_due_idx on public.campaigns (scheduled_at)
  where status = 'scheduled';

-- -----------------------------------------------------------------------------
-- Triggers: status moves only along the lifecycle, and only through it for the API
-- -----------------------------------------------------------------------------

-- Whether a campaign may go from one status to another.
create function private.campaign_transition_allowed(from_status text, to_status text)
returns boolean
language sql
immutable
parallel safe
set search_path = ''
as $$
  select (from_status, to_status) in (
    ('draft', 'scheduled'), ('draft', 'running'), ('scheduled', 'running'),
    ('running', 'paused'), ('paused', 'running'), ('running', 'completed'),
    ('draft', 'canceled'), ('scheduled', 'canceled'), ('running', 'canceled'),
    ('paused', 'canceled')
  );
$$;
comment on function private.campaign_transition_allowed(text, text) is
  'The lifecycle''s edges: draft → scheduled → running ⇄ paused → completed; canceled from
   any non-final state.';

-- The API roles change status only through the lifecycle functions (security definer:
-- they run as their owner); nobody, not even the owner, makes a move the lifecycle lacks.
create function private.guard_campaign_status() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if current_user in ('authenticated', 'anon', 'service_role') then
    raise exception 'campaign "%": status changes only through schedule_campaign, '
      'start_campaign, pause_campaign, resume_campaign and cancel_campaign', new.name
      using errcode = '42501';
  end if;
  if tg_op = 'UPDATE' and not private.campaign_transition_allowed(old.status, new.status) then
    raise exception 'campaign "%" cannot go from % to %', new.name, old.status, new.status
      using errcode = 'PT409';
  end if;
  return new;
end;
$$;
comment on function private.guard_campaign_status() is
  'Keeps campaign status to the lifecycle''s moves, made by the lifecycle functions.';
revoke all on function private.guard_campaign_status() from public;

create trigger campaigns_guard_status_insert before insert on public.campaigns
  for each row when (new.status <> 'draft')
  execute function private.guard_campaign_status();
create trigger campaigns_guard_status_update before update on public.campaigns
  for each row when (new.status is distinct from old.status)
  execute function private.guard_campaign_status();

-- -----------------------------------------------------------------------------
-- Helpers: the audience, its leads, readiness and the send queue
-- -----------------------------------------------------------------------------

-- Reads and checks an audience; empty filters come back null (no restriction).
create function private.parse_campaign_audience(
  audience jsonb,
  out tags text[],
  out statuses text[],
  out states text[],
  out import_ids uuid[]
)
language plpgsql
stable
set search_path = ''
as $$
declare
  filter_key text;
  bad text;
begin
  if audience is null or jsonb_typeof(audience) <> 'object' then
    raise exception 'campaigns.audience must be an object' using errcode = '22023';
  end if;
  for filter_key in select k from jsonb_object_keys(audience) k order by k loop
    if filter_key not in ('tags', 'statuses', 'states', 'import_ids') then
      raise exception 'campaigns.audience: "%" is not a filter', left(filter_key, 40)
        using errcode = '22023', hint = 'Use tags, statuses, states and import_ids.';
    end if;
    if jsonb_typeof(audience -> filter_key) <> 'array' or exists (
      select 1 from jsonb_array_elements(audience -> filter_key) e
      where jsonb_typeof(e) <> 'string'
    ) then
      raise exception 'campaigns.audience.%: must be an array of strings', filter_key
        using errcode = '22023';
    end if;
  end loop;

  tags := nullif(array(
    select distinct lower(btrim(e)) from jsonb_array_elements_text(audience -> 'tags') e
    where btrim(e) <> '' order by 1), '{}');
  statuses := nullif(array(
    select distinct btrim(e) from jsonb_array_elements_text(audience -> 'statuses') e
    order by 1), '{}');
  states := nullif(array(
    select distinct upper(btrim(e)) from jsonb_array_elements_text(audience -> 'states') e
    order by 1), '{}');

  select s into bad from unnest(statuses) s
  where s <> all (enum_range(null::public.lead_status)::text[]) limit 1;
  if bad is not null then
    raise exception 'campaigns.audience.statuses: "%" is not a lead status', left(bad, 40)
      using errcode = '22023',
        hint = array_to_string(enum_range(null::public.lead_status)::text[], ', ');
  end if;
  select s into bad from unnest(states) s
  where not exists (select 1 from private.us_states u where u.code = s) limit 1;
  if bad is not null then
    raise exception 'campaigns.audience.states: "%" is not a USPS state code', left(bad, 40)
      using errcode = '22023';
  end if;
  select e into bad from jsonb_array_elements_text(audience -> 'import_ids') e
  where btrim(e) !~* '^[0-9a-f]{8}-?([0-9a-f]{4}-?){3}[0-9a-f]{12}$' limit 1;
  if bad is not null then
    raise exception 'campaigns.audience.import_ids: "%" is not an import id', left(bad, 40)
      using errcode = '22023';
  end if;
  import_ids := nullif(array(
    select distinct btrim(e)::uuid from jsonb_array_elements_text(audience -> 'import_ids') e
    order by 1), '{}');
end;
$$;
comment on function private.parse_campaign_audience(jsonb) is
  'Checks a campaign audience and returns its filters (null where a filter is absent or empty).';

-- The leads a campaign would target now: every filter matched, sendable, not yet targeted.
create function private.campaign_audience_leads(org uuid, campaign uuid, audience jsonb)
returns table (lead_id uuid, phone text, created_at timestamptz)
language sql
stable
set search_path = ''
as $$
  select l.id, l.phone, l.created_at
  from private.parse_campaign_audience(audience) a
  join public.leads l on l.org_id = org
  where (a.tags is null or l.tags && a.tags)
    and (a.statuses is null or l.status = any (a.statuses))
    and (a.states is null or l.state = any (a.states))
    and (a.import_ids is null or l.import_id = any (a.import_ids))
    and not l.suppressed
    and l.status <> 'invalid'
    -- The flag is kept by triggers; the suppressions themselves are the truth.
    and not exists (
      select 1 from public.suppressions s
      where s.org_id = l.org_id and s.phone = l.phone and s.lifted_at is null
    )
    and not exists (
      select 1 from public.campaign_targets t
      where t.org_id = l.org_id and t.campaign_id = campaign and t.lead_id = l.id
    );
$$;
comment on function private.campaign_audience_leads(uuid, uuid, jsonb) is
  'Leads of org matching every audience filter, neither suppressed nor invalid nor already
   targeted by the campaign.';

-- Raises, naming what is missing, unless the campaign has what starting needs: a
-- template with a variant in rotation and a non-empty audience. (Whether any lead
-- matches is checked by the caller: schedule asks, start counts what it inserts.)
create function private.check_campaign_ready(c public.campaigns) returns void
language plpgsql
stable
set search_path = ''
as $$
declare
  a record;
  template_name text;
  n_variants integer;
  n_in_rotation integer;
begin
  if c.template_id is null then
    raise exception 'campaign % has no template', c.id
      using errcode = 'PT409', hint = 'Choose the template it sends before scheduling or starting it.';
  end if;
  select t.name, count(v.id), count(v.id) filter (where v.weight > 0)
  into template_name, n_variants, n_in_rotation
  from public.templates t
  left join public.template_variants v on v.org_id = t.org_id and v.template_id = t.id
  where t.org_id = c.org_id and t.id = c.template_id
  group by t.id;
  if n_variants = 0 then
    raise exception 'campaign %: template "%" has no variants', c.id, template_name
      using errcode = 'PT409', hint = 'Add at least one variant to the template.';
  end if;
  if c.rotation_strategy <> 'round_robin' and n_in_rotation = 0 then
    raise exception 'campaign %: template "%" has no variant with a weight above 0', c.id,
      template_name
      using errcode = 'PT409',
        hint = format('%s rotation uses variants of weight 1 to 1000; 0 takes one out of rotation.',
                      c.rotation_strategy);
  end if;
  select * into a from private.parse_campaign_audience(c.audience);
  if a.tags is null and a.statuses is null and a.states is null and a.import_ids is null then
    raise exception 'campaign % has an empty audience', c.id
      using errcode = 'PT409',
        hint = 'Give at least one of audience.tags, statuses, states or import_ids.';
  end if;
end;
$$;
comment on function private.check_campaign_ready(public.campaigns) is
  'Refuses, saying what is missing, a campaign without a template, a variant in rotation or
   an audience.';

-- The send queue, made once when the campaign starts, in one statement. Each target's
-- variant: round_robin takes every variant in position order, in turn, over the leads in
-- the order they were created; weighted and ab_test take the variants of weight > 0, over
-- the leads in an order shuffled by a hash of (campaign, lead) — so a variant's share
-- never follows import order — weighted cutting that order in proportion to the weights,
-- ab_test in equal parts. Every share is exact to within one target.
create function private.materialise_campaign_targets(c public.campaigns) returns integer
language plpgsql
set search_path = ''
as $$
declare
  n_inserted integer;
begin
  -- Shared with lead writes, exclusive for suppression changes: a STOP committed before
  -- this point is in the snapshot below, and one arriving later waits for this commit
  -- (after which the sender's claim checks the number again).
  perform pg_catalog.pg_advisory_xact_lock_shared(private.suppression_lock_key(c.org_id));

  with variants as (
    select v.id,
      row_number() over w - 1 as idx,
      sum(v.weight) over w - v.weight as lo,
      sum(v.weight) over w as hi
    from public.template_variants v
    where v.org_id = c.org_id and v.template_id = c.template_id
      and (c.rotation_strategy = 'round_robin' or v.weight > 0)
    window w as (order by v.position, v.id rows between unbounded preceding and current row)
  ),
  totals as (
    select count(*) as n, max(hi) as weight from variants
  ),
  ranked as (
    select l.lead_id, l.phone,
      row_number() over (
        order by case when c.rotation_strategy = 'round_robin' then 0
                      else pg_catalog.hashtextextended(c.id::text || l.lead_id::text, 0) end,
                 l.created_at, l.lead_id
      ) - 1 as rank,
      count(*) over () as total
    from private.campaign_audience_leads(c.org_id, c.id, c.audience) l
  )
  insert into public.campaign_targets (org_id, campaign_id, lead_id, phone, template_variant_id)
  select c.org_id, c.id, r.lead_id, r.phone, v.id
  from ranked r
  cross join totals t
  join variants v on case c.rotation_strategy
    when 'weighted' then
      -- The midpoint of the target's slice of [0, total weight).
      ((2 * r.rank + 1) * t.weight) / (2 * r.total) >= v.lo
      and ((2 * r.rank + 1) * t.weight) / (2 * r.total) < v.hi
    else v.idx = r.rank % t.n
  end
  order by r.rank
  on conflict on constraint campaign_targets_campaign_lead_key do nothing;
  get diagnostics n_inserted = row_count;
  return n_inserted;
end;
$$;
comment on function private.materialise_campaign_targets(public.campaigns) is
  'Creates a starting campaign''s targets from its audience, set-based, each with the variant
   its rotation assigns; returns how many.';

-- -----------------------------------------------------------------------------
-- Helpers: the one place the lifecycle moves
-- -----------------------------------------------------------------------------

-- Locks the campaign, checks the move, runs what it entails, stamps it, announces it.
-- Actions: schedule (at), start, pause (reason), resume, cancel (reason), complete.
-- No authorisation here: the public RPCs check the caller's role first, the system's
-- functions act for the system.
create function private.change_campaign_status(
  target uuid,
  action text,
  reason text default null,
  at timestamptz default null
) returns public.campaigns
language plpgsql
security definer
set search_path = ''
as $$
declare
  c public.campaigns;
  previous text;
  next_status text;
  done text;
  tidy_reason text := nullif(btrim(reason), '');
  n_targets integer;
begin
  select case action
      when 'schedule' then 'scheduled' when 'start' then 'running' when 'pause' then 'paused'
      when 'resume' then 'running' when 'cancel' then 'canceled' when 'complete' then 'completed'
    end,
    case action
      when 'schedule' then 'scheduled' when 'start' then 'started' when 'pause' then 'paused'
      when 'resume' then 'resumed' when 'cancel' then 'canceled' when 'complete' then 'completed'
    end
  into next_status, done;
  if next_status is null then
    raise exception 'unknown campaign action "%"', action using errcode = '22023';
  end if;
  if char_length(tidy_reason) > 500 then
    raise exception 'reason: at most 500 characters (this one has %)', char_length(tidy_reason)
      using errcode = '22023';
  end if;

  select * into c from public.campaigns where id = target for update;
  if c.id is null then
    raise exception 'campaign % not found', target using errcode = 'PT404';
  end if;
  previous := c.status;
  -- Which states each action leaves from (start and resume both lead to running).
  if not c.status = any (case action
      when 'schedule' then '{draft,scheduled}' when 'start' then '{draft,scheduled}'
      when 'pause' then '{running}' when 'resume' then '{paused}'
      when 'cancel' then '{draft,scheduled,running,paused}' when 'complete' then '{running}'
    end::text[]) then
    raise exception 'campaign % is %: it cannot be %', c.id, c.status, done
      using errcode = 'PT409',
        hint = case
          when c.status in ('completed', 'canceled') then
            'A ' || c.status || ' campaign is final: duplicate it to send again.'
          when c.status = 'paused' and action = 'start' then 'Resume it instead.'
          when c.status = 'running' and action in ('start', 'resume') then 'It is already running.'
          when c.status in ('draft', 'scheduled') and action in ('pause', 'resume') then
            'Only a running campaign pauses, and only a paused one resumes.'
          else 'draft → scheduled → running ⇄ paused → completed; canceled from any non-final state.'
        end;
  end if;

  if action = 'schedule' then
    if at is null or at <= now() then
      raise exception 'campaign %: the time to start it (%) is not in the future', c.id,
        coalesce(at::text, 'none')
        using errcode = '22023';
    end if;
    perform private.check_campaign_ready(c);
    if not exists (select 1 from private.campaign_audience_leads(c.org_id, c.id, c.audience)) then
      raise exception 'campaign %: no sendable lead matches its audience', c.id
        using errcode = 'PT409',
          hint = 'Suppressed and invalid leads are never targeted; widen the audience.';
    end if;
  elsif action = 'start' then
    perform private.check_campaign_ready(c);
    n_targets := private.materialise_campaign_targets(c);
    if n_targets = 0 then
      raise exception 'campaign %: no sendable lead matches its audience', c.id
        using errcode = 'PT409',
          hint = 'Suppressed and invalid leads are never targeted; widen the audience.';
    end if;
  elsif action = 'cancel' then
    -- Pending targets and those claimed but not yet sent: the sender sends nothing more.
    update public.campaign_targets t
    set status = 'canceled',
        status_reason = left('campaign canceled' || coalesce(': ' || tidy_reason, ''), 500)
    where t.org_id = c.org_id and t.campaign_id = c.id and t.status in ('pending', 'claimed');
    get diagnostics n_targets = row_count;
  end if;

  update public.campaigns
  set status = next_status,
      scheduled_at = case when action = 'schedule' then at else scheduled_at end,
      started_at = case when action = 'start' then now() else started_at end,
      paused_at = case when action = 'pause' then now() else paused_at end,
      completed_at = case when action = 'complete' then now() else completed_at end,
      canceled_at = case when action = 'cancel' then now() else canceled_at end,
      status_reason = case
        when action in ('pause', 'cancel') then tidy_reason
        when action in ('schedule', 'start') then null
        else status_reason end
  where id = c.id
  returning * into c;

  perform private.broadcast_to_org(c.org_id, 'campaign.status', jsonb_strip_nulls(jsonb_build_object(
    'campaign_id', c.id, 'status', c.status, 'previous_status', previous,
    'reason', c.status_reason, 'scheduled_at', c.scheduled_at, 'changed_at', now(),
    'targets', case when action = 'start' then n_targets end,
    'canceled_targets', case when action = 'cancel' then n_targets end)));
  return c;
end;
$$;
comment on function private.change_campaign_status(uuid, text, text, timestamptz) is
  'The lifecycle''s one mover: lock, check the move and its preconditions, materialise or
   cancel targets, stamp, broadcast campaign.status. Callers authorise first.';
revoke all on function private.change_campaign_status(uuid, text, text, timestamptz) from public;

-- The caller may act on the campaign: a member sees it (else PT404, as for a missing
-- one), an admin or campaign manager may change it (else 42501).
create function private.authorize_campaign_action(target uuid, action text) returns void
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  org uuid;
begin
  select c.org_id into org from public.campaigns c where c.id = target;
  if org is null or not private.has_role_on_org(org) then
    raise exception 'campaign % not found', target using errcode = 'PT404';
  end if;
  if not private.has_role_on_org(org, '{admin,campaign_manager}') then
    raise exception '% campaign % needs the admin or campaign_manager role in its organization',
      initcap(action), target
      using errcode = '42501';
  end if;
end;
$$;
comment on function private.authorize_campaign_action(uuid, text) is
  'PT404 unless the caller sees the campaign; 42501 unless they are its admin or campaign manager.';
revoke all on function private.authorize_campaign_action(uuid, text) from public;

-- -----------------------------------------------------------------------------
-- System work: the tick starts what is due and completes what is done
-- -----------------------------------------------------------------------------

-- Starts scheduled campaigns whose time has come, a bounded number per call. One that
-- cannot start (its template lost its variants, its audience matches nobody now) stays
-- scheduled with the reason, announced once, and is tried again at the next tick.
create function private.start_due_campaigns(max_campaigns integer default 20)
returns table (campaign_id uuid, started boolean, targets integer, problem text)
language plpgsql
security definer
set search_path = ''
as $$
declare
  due record;
  started_campaign public.campaigns;
  why text;
begin
  for due in
    select c.id, c.org_id from public.campaigns c
    where c.status = 'scheduled' and c.scheduled_at <= now()
    order by c.scheduled_at, c.id
    limit max_campaigns
    for update skip locked
  loop
    begin
      started_campaign := private.change_campaign_status(due.id, 'start');
      campaign_id := started_campaign.id;
      started := true;
      problem := null;
      select count(*)::integer into targets from public.campaign_targets t
      where t.org_id = due.org_id and t.campaign_id = due.id;
    exception when sqlstate 'PT409' or sqlstate '22023' then
      get stacked diagnostics why = message_text;
      campaign_id := due.id;
      started := false;
      targets := 0;
      problem := why;
      update public.campaigns c set status_reason = left('not started: ' || why, 500)
      where c.id = due.id
        and c.status_reason is distinct from left('not started: ' || why, 500);
      if found then
        perform private.broadcast_to_org(due.org_id, 'campaign.status', jsonb_build_object(
          'campaign_id', due.id, 'status', 'scheduled', 'previous_status', 'scheduled',
          'reason', left('not started: ' || why, 500), 'changed_at', now()));
      end if;
    end;
    return next;
  end loop;
end;
$$;
comment on function private.start_due_campaigns(integer) is
  'For the tick (as sms_system): starts up to max_campaigns scheduled campaigns that are due.';

-- Completes a running campaign with no target pending or claimed. For the sender, in its
-- own transaction after a batch commits (so it holds no target locks the cancel needs).
create function private.complete_campaign_if_done(campaign_id uuid) returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
  c public.campaigns;
begin
  select * into c from public.campaigns
  where id = complete_campaign_if_done.campaign_id
  for update;
  if c.status is distinct from 'running' or exists (
    select 1 from public.campaign_targets t
    where t.org_id = c.org_id and t.campaign_id = c.id and t.status in ('pending', 'claimed')
  ) then
    return false;
  end if;
  perform private.change_campaign_status(c.id, 'complete');
  return true;
end;
$$;
comment on function private.complete_campaign_if_done(uuid) is
  'For the sender (as sms_system): completes a running campaign once nothing is left to send.';

revoke all on function private.campaign_transition_allowed(text, text) from public;
revoke all on function private.parse_campaign_audience(jsonb) from public;
revoke all on function private.campaign_audience_leads(uuid, uuid, jsonb) from public;
revoke all on function private.check_campaign_ready(public.campaigns) from public;
revoke all on function private.materialise_campaign_targets(public.campaigns) from public;
revoke all on function private.start_due_campaigns(integer) from public;
revoke all on function private.complete_campaign_if_done(uuid) from public;
grant execute on function private.start_due_campaigns(integer) to sms_system;
grant execute on function private.complete_campaign_if_done(uuid) to sms_system;

-- -----------------------------------------------------------------------------
-- RPCs: for admins and campaign managers of the campaign's organization
-- -----------------------------------------------------------------------------

create function public.schedule_campaign(campaign_id uuid, at timestamptz)
returns public.campaigns
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform private.authorize_campaign_action(schedule_campaign.campaign_id, 'scheduling');
  return private.change_campaign_status(schedule_campaign.campaign_id, 'schedule',
    at => schedule_campaign.at);
end;
$$;
comment on function public.schedule_campaign(uuid, timestamptz) is
  'Schedules a draft campaign (or moves a scheduled one) to start at a future time.';

create function public.start_campaign(campaign_id uuid)
returns public.campaigns
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform private.authorize_campaign_action(start_campaign.campaign_id, 'starting');
  return private.change_campaign_status(start_campaign.campaign_id, 'start');
end;
$$;
comment on function public.start_campaign(uuid) is
  'Starts a draft or scheduled campaign now, making its targets from the audience.';

create function public.pause_campaign(campaign_id uuid, reason text default null)
returns public.campaigns
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform private.authorize_campaign_action(pause_campaign.campaign_id, 'pausing');
  return private.change_campaign_status(pause_campaign.campaign_id, 'pause',
    pause_campaign.reason);
end;
$$;
comment on function public.pause_campaign(uuid, text) is
  'Pauses a running campaign: the sender claims nothing more; targets stay pending.';

create function public.resume_campaign(campaign_id uuid)
returns public.campaigns
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform private.authorize_campaign_action(resume_campaign.campaign_id, 'resuming');
  return private.change_campaign_status(resume_campaign.campaign_id, 'resume');
end;
$$;
comment on function public.resume_campaign(uuid) is
  'Resumes a paused campaign with the targets it already has.';

create function public.cancel_campaign(campaign_id uuid, reason text default null)
returns public.campaigns
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform private.authorize_campaign_action(cancel_campaign.campaign_id, 'canceling');
  return private.change_campaign_status(cancel_campaign.campaign_id, 'cancel',
    cancel_campaign.reason);
end;
$$;
comment on function public.cancel_campaign(uuid, text) is
  'Cancels a campaign that is not final; its unsent targets are canceled with the reason.';

revoke all on function public.schedule_campaign(uuid, timestamptz) from public, anon;
revoke all on function public.start_campaign(uuid) from public, anon;
revoke all on function public.pause_campaign(uuid, text) from public, anon;
revoke all on function public.resume_campaign(uuid) from public, anon;
revoke all on function public.cancel_campaign(uuid, text) from public, anon;
grant execute on function public.schedule_campaign(uuid, timestamptz) to authenticated;
grant execute on function public.start_campaign(uuid) to authenticated;
grant execute on function public.pause_campaign(uuid, text) to authenticated;
grant execute on function public.resume_campaign(uuid) to authenticated;
grant execute on function public.cancel_campaign(uuid, text) to authenticated;
