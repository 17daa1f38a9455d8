-- =============================================================================
-- Operator replies through the sender: an outbound message a member writes in a
-- conversation (private.prepare_reply) waits in the outbox (send_state 'waiting') until a
-- tick claims it, before any campaign target: under suppression (a STOP committed before
-- the claim, or before the check just ahead of the send, stops it) but not under campaign
-- windows or caps. A reply takes its number's next send slot from the same ledger as
-- campaign messages, so the number's rate holds; the daily cap does not hold a reply back
-- (it is counted). Outcomes as for campaign targets: sent with Twilio's SID, failed with
-- its code (21610 suppresses, 21211/21614 invalidate the lead), retried with backoff,
-- handed back untouched, or unknown (never resent blindly).
-- =============================================================================

alter table public.messages
  add column send_state text
    constraint messages_send_state_valid
      check (send_state in ('waiting', 'claimed', 'unknown')),
  add column claim_token uuid,
  add column not_before timestamptz,
  add column lease_expires_at timestamptz,
  add column send_attempts smallint not null default 0
    constraint messages_send_attempts_nonnegative check (send_attempts >= 0),
  add constraint messages_send_state_outbound
    check (send_state is null or (direction = 'outbound' and twilio_sid is null));
comment on column public.messages.send_state is
  'A reply the sender has not sent yet: waiting (for a claim), claimed (being sent), unknown
   (its request may have reached Twilio: never sent again); null once sent or failed, and
   for campaign and inbound messages.';
comment on column public.messages.not_before is
  'Waiting: not claimed before this (backoff, a paused number). Claimed: its send slot.';
comment on column public.messages.send_attempts is 'Claims of this reply by the sender.';

-- The outbox, in the order replies become due; claims whose lease may expire.
create index messages_outbox_idx on public.messages (not_before)
  where send_state = 'waiting';
create index messages_claimed_lease_idx on public.messages (lease_expires_at)
  where send_state = 'claimed';

-- -----------------------------------------------------------------------------
-- Helpers shared by campaign targets and replies
-- -----------------------------------------------------------------------------

create function private.retry_at(attempts integer, retry_after interval, at timestamptz)
returns timestamptz
language sql
immutable
parallel safe
set search_path = ''
as $$
  -- Capped exponential backoff (30 s doubling, at most 1 hour), never sooner than Twilio's
  -- Retry-After.
  select at + greatest(
    least(interval '1 hour', interval '30 seconds' * power(2, greatest(attempts, 1) - 1)),
    coalesce(retry_after, interval '0'));
$$;
comment on function private.retry_at(integer, interval, timestamptz) is
  'When a send that failed on its attempts-th try is tried again (capped exponential backoff).';

create function private.max_send_attempts() returns integer
language sql
immutable
parallel safe
set search_path = ''
as $$
  select 5;
$$;
comment on function private.max_send_attempts() is
  'Tries of one message before a retryable failure becomes final.';

-- The recipient opted out of this sender (Twilio 21610): a recipient_stop suppression and,
-- when it is new, a revoked-consent ledger entry.
create function private.suppress_opted_out(
  for_org uuid,
  for_lead uuid,
  opted_out_phone text,
  code_text text,
  origin text
) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  new_suppression uuid;
begin
  insert into public.suppressions (org_id, phone, source, reason)
  values (for_org, opted_out_phone, 'recipient_stop',
    format('Twilio %s: the recipient opted out of this sender', code_text))
  on conflict (org_id, phone, source) where lifted_at is null do nothing
  returning id into new_suppression;
  if new_suppression is not null then
    insert into public.consent_events (org_id, lead_id, phone, kind, channel, raw_text, source)
    values (for_org, for_lead, opted_out_phone, 'revoked', 'sms', null, origin);
  end if;
end;
$$;
comment on function private.suppress_opted_out(uuid, uuid, text, text, text) is
  'Records an opt-out Twilio reported (21610): suppression and consent ledger entry.';

-- Campaign targets' failures, through the helpers above (same answers as before).
create or replace function private.record_send_failure(
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
    perform private.suppress_opted_out(t.org_id, t.lead_id, t.phone, code_text,
      format('Twilio error %s on campaign target %s', code_text, t.id));
    next_status := 'failed';
    reason := format('the recipient opted out (Twilio %s)', code_text);
  elsif kind = 'invalid_recipient' then
    update public.leads l set status = 'invalid'
    where l.org_id = t.org_id and l.id = t.lead_id and l.status <> 'invalid';
    next_status := 'failed';
    reason := format('not a number that can receive texts (Twilio %s: %s)', code_text, detail);
  elsif retryable and t.attempts < private.max_send_attempts() then
    next_status := 'pending';
    retry_at := private.retry_at(t.attempts, record_send_failure.retry_after,
      record_send_failure.at);
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

-- -----------------------------------------------------------------------------
-- A member's reply: completed from its conversation, refused to a suppressed number or
-- from a disabled one (409), and queued in the outbox.
-- -----------------------------------------------------------------------------

create or replace function private.prepare_reply() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  thread record;
begin
  if current_setting('role', true) is distinct from 'authenticated' then
    return new;
  end if;
  -- Not a member who may reply: leave the row as it is, for RLS to refuse.
  if not private.has_role_on_org(new.org_id, '{admin,campaign_manager,operator}') then
    return new;
  end if;
  select c.lead_id, c.phone_number_id, l.phone as lead_phone, l.suppressed,
    n.phone as number_phone, n.status as number_status
  into thread
  from public.conversations c
  join public.leads l on l.org_id = c.org_id and l.id = c.lead_id
  join public.phone_numbers n on n.org_id = c.org_id and n.id = c.phone_number_id
  where c.org_id = new.org_id and c.id = new.conversation_id;
  if thread.lead_id is null then
    raise exception 'messages.conversation_id: no conversation % in this organization',
      new.conversation_id
      using errcode = '23503', column = 'conversation_id', table = 'messages';
  end if;
  new.body := btrim(new.body);
  if new.body is null or new.body = '' then
    raise exception 'messages.body: a reply needs some text'
      using errcode = '22023', column = 'body', table = 'messages';
  end if;
  if thread.suppressed or exists (
    select 1 from public.suppressions s
    where s.org_id = new.org_id and s.phone = thread.lead_phone and s.lifted_at is null
  ) then
    raise exception 'this recipient opted out or is suppressed: no message can be sent'
      using errcode = 'PT409';
  end if;
  if thread.number_status = 'disabled' then
    raise exception 'the sending number % is disabled', thread.number_phone
      using errcode = 'PT409';
  end if;
  new.direction := 'outbound';
  new.status := 'queued';
  new.lead_id := thread.lead_id;
  new.phone_number_id := thread.phone_number_id;
  new.from_phone := thread.number_phone;
  new.to_phone := thread.lead_phone;
  new.sent_by := (select auth.uid());
  new.send_state := 'waiting';
  new.not_before := now();
  new.claim_token := null;
  new.lease_expires_at := null;
  new.send_attempts := 0;
  return new;
end;
$$;
comment on function private.prepare_reply() is
  'Completes a member''s reply from its conversation, refuses one to a suppressed number or
   from a disabled one (PT409), and puts it in the sender''s outbox.';

-- -----------------------------------------------------------------------------
-- System work: claim replies (the tick calls this before private.claim_targets, in the
-- same transaction, so replies get the earliest slots)
-- -----------------------------------------------------------------------------

create function private.claim_replies(
  max_replies integer,
  lease interval default '30 seconds',
  at timestamptz default now(),
  horizon timestamptz default null
) returns table (
  message_id uuid,
  claim_token uuid,
  org_id uuid,
  lead_id uuid,
  to_phone text,
  from_phone text,
  phone_number_id uuid,
  messaging_service_sid text,
  body text,
  not_before timestamptz,
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
  slots_until timestamptz;
begin
  slots_until := private.claim_slots_until('max_replies', max_replies, lease, at,
    claim_replies.horizon);

  -- The organizations with due replies, one claimer at a time each (the lock the target
  -- claim takes too: slots are handed out once), with the suppression lock shared, so the
  -- statement below sees every STOP committed before it.
  for org in
    select r.org_id
    from (
      select distinct m.org_id from public.messages m
      where m.send_state = 'waiting' and m.not_before <= claim_replies.at
    ) r
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

  return query
  with
  -- The first due replies of each number (a number sends a few a claim at most, so one
  -- number's backlog never keeps another's replies waiting).
  candidates as (
    select q.id
    from (
      select m.id, m.not_before,
        row_number() over (partition by m.phone_number_id order by m.not_before, m.id) as rn
      from public.messages m
      where m.org_id = any (orgs) and m.send_state = 'waiting'
        and m.not_before <= claim_replies.at
    ) q
    where q.rn <= 20
    order by q.not_before, q.id
    limit max_replies * 2
  ),
  locked as materialized (
    select m.id, m.org_id, m.lead_id, m.phone_number_id, m.to_phone, m.not_before
    from public.messages m
    where m.id = any (array(select c.id from candidates c))
      and m.send_state = 'waiting' and m.not_before <= claim_replies.at
    for no key update of m skip locked
  ),
  facts as (
    select k.*, n.status as number_status, n.phone as number_phone,
      coalesce(l.suppressed, false) or exists (
        select 1 from public.suppressions s
        where s.org_id = k.org_id and s.phone in (k.to_phone, l.phone) and s.lifted_at is null
      ) as suppressed
    from locked k
    left join public.leads l on l.org_id = k.org_id and l.id = k.lead_id
    left join public.phone_numbers n on n.org_id = k.org_id and n.id = k.phone_number_id
  ),
  numbers as materialized (
    select p.id, p.messaging_service_sid,
      private.slot_spacing(p.messages_per_second, o.max_messages_per_minute,
        (select count(*) from public.phone_numbers q
         where q.org_id = p.org_id and q.status = 'active' and q.health <> 'poor')) as spacing,
      greatest(s.next_slot_at, claim_replies.at) as base,
      case when s.slot_day = (greatest(s.next_slot_at, claim_replies.at) at time zone 'UTC')::date
        then s.slot_day_count else 0 end as day_used
    from public.phone_numbers p
    join public.organizations o on o.id = p.org_id
    left join private.sending_number_slots s on s.phone_number_id = p.id
    where p.id in (select f.phone_number_id from facts f where f.number_status = 'active')
  ),
  -- Each active number's replies in turn get its next slots, up to the horizon.
  slotted as (
    select f.id, f.phone_number_id, n.base + (f.k * n.spacing) as slot, n.spacing, n.base,
      n.day_used
    from (
      select f.*, row_number() over (partition by f.phone_number_id order by f.not_before, f.id)
        - 1 as k
      from facts f
      where not f.suppressed and f.lead_id is not null and f.number_status = 'active'
    ) f
    join numbers n on n.id = f.phone_number_id
    where n.base + (f.k * n.spacing) < slots_until
  ),
  chosen as materialized (
    select s.* from slotted s order by s.slot, s.id limit max_replies
  ),
  outcome as (
    select c.id, 'claimed' as state, c.slot, null::text as reason
    from chosen c
    union all
    select f.id, 'canceled', null,
      'not sent: the recipient opted out or is suppressed'
    from facts f
    where f.suppressed
    union all
    select f.id, 'failed', null, case
      when f.lead_id is null then 'not sent: its lead was deleted'
      when f.number_status is null then 'not sent: its sending number no longer exists'
      else format('not sent: the sending number %s is disabled', f.number_phone) end
    from facts f
    where not f.suppressed
      and (f.lead_id is null or f.number_status is null or f.number_status = 'disabled')
    union all
    -- A paused number holds its replies: they go when it is resumed.
    select f.id, 'waiting', claim_replies.at + interval '1 minute', null
    from facts f
    where not f.suppressed and f.lead_id is not null and f.number_status = 'paused'
  ),
  updated as (
    update public.messages m
    set send_state = case o.state when 'claimed' then 'claimed' when 'waiting' then 'waiting' end,
        status = case when o.state in ('canceled', 'failed') then o.state::public.message_status
          else m.status end,
        error_message = coalesce(o.reason, m.error_message),
        claim_token = case when o.state = 'claimed' then gen_random_uuid() else m.claim_token end,
        not_before = o.slot,
        lease_expires_at = case when o.state = 'claimed' then o.slot + lease end,
        send_attempts = m.send_attempts + case when o.state = 'claimed' then 1 else 0 end
    from outcome o
    where m.id = o.id
    returning m.id, m.claim_token, m.org_id, m.lead_id, m.to_phone, m.from_phone,
      m.phone_number_id, m.body, m.not_before, m.send_state
  ),
  slots as (
    insert into private.sending_number_slots as s
      (phone_number_id, next_slot_at, slot_day, slot_day_count)
    select c.phone_number_id, max(c.slot) + c.spacing, (c.base at time zone 'UTC')::date,
      c.day_used + count(*)
    from chosen c
    group by c.phone_number_id, c.spacing, c.base, c.day_used
    on conflict (phone_number_id) do update
    set next_slot_at = excluded.next_slot_at,
        slot_day = excluded.slot_day,
        slot_day_count = excluded.slot_day_count
  )
  select u.id, u.claim_token, u.org_id, u.lead_id, u.to_phone, u.from_phone,
    u.phone_number_id, n.messaging_service_sid, u.body, u.not_before,
    u.not_before + private.send_slot_tolerance()
  from updated u
  join numbers n on n.id = u.phone_number_id
  where u.send_state = 'claimed'
  order by u.not_before, u.id;
end;
$$;
comment on function private.claim_replies(integer, interval, timestamptz, timestamptz) is
  'For the tick (as sms_system), before claim_targets: claims members'' replies waiting in
   the outbox, suppression checked (a suppressed one is canceled), each with its number''s
   next send slot (before horizon) and a latest start (send_by), under a lease.';

-- -----------------------------------------------------------------------------
-- System work: replies just before their send, and their outcomes
-- -----------------------------------------------------------------------------

create function private.sendable_replies(message_ids uuid[], claim_tokens uuid[])
returns setof uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
  org uuid;
begin
  for org in
    select distinct m.org_id from public.messages m where m.id = any (message_ids) order by 1
  loop
    perform pg_catalog.pg_advisory_xact_lock_shared(private.suppression_lock_key(org));
  end loop;
  return query
  select m.id
  from unnest(message_ids, claim_tokens) as c (id, token)
  join public.messages m on m.id = c.id and m.claim_token = c.token
  where m.send_state = 'claimed'
    and not exists (
      select 1 from public.suppressions s
      where s.org_id = m.org_id and s.phone = m.to_phone and s.lifted_at is null
    );
end;
$$;
comment on function private.sendable_replies(uuid[], uuid[]) is
  'For the sender, just before sending: the claimed replies to a number not suppressed (a
   STOP committed before this call is seen).';

create function private.record_reply_sent(
  message_ids uuid[],
  claim_tokens uuid[],
  twilio_sids text[],
  statuses text[],
  at timestamptz default now()
) returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  n integer;
begin
  if exists (
    select 1 from unnest(statuses) s
    where s is null or s not in ('queued', 'accepted', 'sending', 'sent', 'delivered')
  ) then
    raise exception 'statuses: each must be a status of a message Twilio accepted'
      using errcode = '22023';
  end if;
  with sent as (
    update public.messages m
    set twilio_sid = c.sid,
        send_state = null,
        lease_expires_at = null,
        error_message = null,
        status = case
          when private.message_status_rank(c.status::public.message_status)
            > private.message_status_rank(m.status) then c.status::public.message_status
          else m.status end
    from unnest(message_ids, claim_tokens, twilio_sids, statuses) as c (id, token, sid, status)
    where m.id = c.id and m.claim_token = c.token and m.send_state in ('claimed', 'unknown')
    returning m.org_id, m.conversation_id
  ),
  touched as (
    update public.conversations v
    set last_message_at = greatest(v.last_message_at, record_reply_sent.at)
    from (select distinct s.org_id, s.conversation_id from sent s) s
    where v.org_id = s.org_id and v.id = s.conversation_id
  )
  select count(*)::integer into n from sent;
  return n;
end;
$$;
comment on function private.record_reply_sent(uuid[], uuid[], text[], text[], timestamptz) is
  'For the sender: replies Twilio accepted get its SID and status (token checked).';

-- Failures, classified by the sender's client (suppress, invalid_recipient, retry,
-- rejected), as private.record_send_failure does for campaign targets.
create function private.record_reply_failures(
  message_ids uuid[],
  claim_tokens uuid[],
  error_codes integer[],
  error_messages text[],
  failure_classes text[],
  retry_after_ms bigint[],
  at timestamptz default now()
) returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  f record;
  n integer := 0;
  code_text text;
  detail text;
begin
  for f in
    select m.id, m.org_id, m.lead_id, m.to_phone, m.send_attempts, c.code, c.message, c.kind,
      c.retry_after_ms
    from unnest(message_ids, claim_tokens, error_codes, error_messages, failure_classes,
      retry_after_ms) as c (id, token, code, message, kind, retry_after_ms)
    join public.messages m on m.id = c.id and m.claim_token = c.token
    where m.send_state in ('claimed', 'unknown')
    order by m.id
    for no key update of m
  loop
    if f.kind is null or f.kind not in ('suppress', 'invalid_recipient', 'retry', 'rejected') then
      raise exception 'failure_class must be suppress, invalid_recipient, retry or rejected, not %',
        f.kind using errcode = '22023';
    end if;
    code_text := coalesce(f.code::text, 'none');
    detail := left(coalesce(nullif(btrim(f.message), ''), 'no message'), 300);
    if f.kind = 'retry' and f.send_attempts < private.max_send_attempts() then
      update public.messages m
      set send_state = 'waiting', lease_expires_at = null, error_code = f.code,
          not_before = private.retry_at(f.send_attempts,
            f.retry_after_ms * interval '1 millisecond', record_reply_failures.at),
          error_message = left(format('retrying after attempt %s (error %s: %s)',
            f.send_attempts, code_text, detail), 500)
      where m.id = f.id;
    else
      if f.kind = 'suppress' then
        perform private.suppress_opted_out(f.org_id, f.lead_id, f.to_phone, code_text,
          format('Twilio error %s on reply %s', code_text, f.id));
      elsif f.kind = 'invalid_recipient' then
        update public.leads l set status = 'invalid'
        where l.org_id = f.org_id and l.id = f.lead_id and l.status <> 'invalid';
      end if;
      update public.messages m
      set send_state = null, lease_expires_at = null, status = 'failed', error_code = f.code,
          error_message = left(case f.kind
            when 'suppress' then format('the recipient opted out (Twilio %s)', code_text)
            when 'invalid_recipient' then format(
              'not a number that can receive texts (Twilio %s: %s)', code_text, detail)
            when 'retry' then format('gave up after %s attempts (error %s: %s)',
              f.send_attempts, code_text, detail)
            else format('Twilio error %s: %s', code_text, detail) end, 500)
      where m.id = f.id;
    end if;
    n := n + 1;
  end loop;
  return n;
end;
$$;
comment on function private.record_reply_failures(uuid[], uuid[], integer[], text[], text[], bigint[], timestamptz) is
  'For the sender: records failed sends of claimed replies (opt-out, invalid number, retry
   with backoff, or failure), token checked.';

create function private.record_reply_unknown(
  message_ids uuid[],
  claim_tokens uuid[],
  reasons text[]
) returns integer
language sql
security definer
set search_path = ''
as $$
  with marked as (
    update public.messages m
    set send_state = 'unknown', lease_expires_at = null,
        error_message = left('outcome unknown: ' || coalesce(c.reason, 'no answer')
          || '; it may have been sent, so it is not sent again', 500)
    from unnest(message_ids, claim_tokens, reasons) as c (id, token, reason)
    where m.id = c.id and m.claim_token = c.token and m.send_state = 'claimed'
    returning 1
  )
  select count(*)::integer from marked;
$$;
comment on function private.record_reply_unknown(uuid[], uuid[], text[]) is
  'For the sender: replies whose request may have reached Twilio become unknown.';

create function private.release_replies(message_ids uuid[], claim_tokens uuid[])
returns integer
language sql
security definer
set search_path = ''
as $$
  with released as (
    update public.messages m
    set send_state = 'waiting', claim_token = null, lease_expires_at = null, not_before = now(),
        send_attempts = greatest(m.send_attempts - 1, 0)
    from unnest(message_ids, claim_tokens) as c (id, token)
    where m.id = c.id and m.claim_token = c.token and m.send_state = 'claimed'
    returning 1
  )
  select count(*)::integer from released;
$$;
comment on function private.release_replies(uuid[], uuid[]) is
  'For the sender: replies it never attempted go back to the outbox (token checked).';

-- Leases that ran out with no outcome, of campaign targets and of replies: unknown.
create or replace function private.expire_leases(at timestamptz default now()) returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  targets integer;
  replies integer;
begin
  update public.campaign_targets t
  set status = 'unknown',
      status_reason = 'outcome unknown: the lease expired before the sender recorded a result; '
        'it may have been sent, so it is never sent again'
  where t.status = 'claimed' and t.lease_expires_at <= expire_leases.at;
  get diagnostics targets = row_count;
  update public.messages m
  set send_state = 'unknown', lease_expires_at = null,
      error_message = 'outcome unknown: the lease expired before the sender recorded a result; '
        'it may have been sent, so it is not sent again'
  where m.send_state = 'claimed' and m.lease_expires_at <= expire_leases.at;
  get diagnostics replies = row_count;
  return targets + replies;
end;
$$;

-- Whether anything is waiting for a send slot now: a tick that finds nothing to claim
-- (another tick holds the numbers' next slots) keeps going while this holds, so that
-- overlapping ticks hand over without a pause.
create function private.sender_has_due_work(at timestamptz default now()) returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1 from public.campaigns c
    where c.status = 'running' and exists (
      select 1 from public.campaign_targets t
      where t.org_id = c.org_id and t.campaign_id = c.id and t.status = 'pending'
        and t.not_before <= sender_has_due_work.at
    )
  ) or exists (
    select 1 from public.messages m
    where m.send_state = 'waiting' and m.not_before <= sender_has_due_work.at
  );
$$;
comment on function private.sender_has_due_work(timestamptz) is
  'For the tick: whether a running campaign''s target or a reply is due (claimable now or
   waiting only for a send slot).';

revoke all on function private.sender_has_due_work(timestamptz) from public;
grant execute on function private.sender_has_due_work(timestamptz) to sms_system;
revoke all on function private.retry_at(integer, interval, timestamptz) from public;
revoke all on function private.max_send_attempts() from public;
revoke all on function private.suppress_opted_out(uuid, uuid, text, text, text) from public;
revoke all on function private.claim_replies(integer, interval, timestamptz, timestamptz)
  from public;
revoke all on function private.sendable_replies(uuid[], uuid[]) from public;
revoke all on function private.record_reply_sent(uuid[], uuid[], text[], text[], timestamptz)
  from public;
revoke all on function private.record_reply_failures(uuid[], uuid[], integer[], text[], text[], bigint[], timestamptz)
  from public;
revoke all on function private.record_reply_unknown(uuid[], uuid[], text[]) from public;
revoke all on function private.release_replies(uuid[], uuid[]) from public;
grant execute on function private.claim_replies(integer, interval, timestamptz, timestamptz)
  to sms_system;
grant execute on function private.sendable_replies(uuid[], uuid[]) to sms_system;
grant execute on function private.record_reply_sent(uuid[], uuid[], text[], text[], timestamptz)
  to sms_system;
grant execute on function private.record_reply_failures(uuid[], uuid[], integer[], text[], text[], bigint[], timestamptz)
  to sms_system;
grant execute on function private.record_reply_unknown(uuid[], uuid[], text[]) to sms_system;
grant execute on function private.release_replies(uuid[], uuid[]) to sms_system;
