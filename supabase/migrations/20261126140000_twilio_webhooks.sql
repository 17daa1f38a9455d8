-- =============================================================================
-- What Twilio tells us: inbound messages (the keyword engine decides what a recipient's
-- words mean for what we may send them) and status callbacks (a message's status only
-- moves forward; error codes become suppressions, invalid leads and delivery problems).
-- Both are called by the `twilio` Edge Function as sms_system after it has verified
-- Twilio's signature; both are idempotent on the MessageSid.
--
-- Also here: one Realtime broadcast per conversation change on org:<id> (never one per
-- status callback), and the database webhook that wakes the sender when an operator
-- writes a reply, so it goes out within seconds rather than at the next cron tick.
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Organization settings: extra opt-out keywords and the HELP answer
-- -----------------------------------------------------------------------------

alter table public.organizations
  add column opt_out_keywords text[] not null default '{}'
    constraint organizations_opt_out_keywords_size
      check (cardinality(opt_out_keywords) <= 50
        and char_length(array_to_string(opt_out_keywords, ' ')) <= 1000),
  add column help_text text
    constraint organizations_help_text_length
      check (char_length(btrim(help_text)) between 1 and 320);
comment on column public.organizations.opt_out_keywords is
  'Words or phrases that opt a recipient out in addition to the standard ones (STOP, END,
   QUIT, CANCEL, UNSUBSCRIBE, REVOKE, OPT OUT, STOPALL, …); matched case- and
   punctuation-insensitively as the whole reply or inside a short one.';
comment on column public.organizations.help_text is
  'The answer to HELP / INFO; null: "<org name>: reply STOP to opt out, START to opt back
   in. Msg & data rates may apply."';

grant update (opt_out_keywords, help_text) on public.organizations to authenticated;

-- -----------------------------------------------------------------------------
-- Messages: what a reply meant, what we answered, when each status came
-- -----------------------------------------------------------------------------

alter table public.messages
  add column intent text
    constraint messages_intent_valid check (intent in ('opt_out', 'opt_in', 'help')),
  add column auto_reply text
    constraint messages_auto_reply_length check (char_length(auto_reply) <= 640),
  add column status_times jsonb not null default '{}'
    constraint messages_status_times_object check (jsonb_typeof(status_times) = 'object'),
  add constraint messages_intent_inbound check (intent is null or direction = 'inbound');
comment on column public.messages.intent is
  'An inbound reply the keyword engine recognised: opt_out, opt_in or help; null otherwise.';
comment on column public.messages.auto_reply is
  'The confirmation or help text answered to an inbound reply (in the webhook''s TwiML).';
comment on column public.messages.status_times is
  'When Twilio reported each status ({"sent": …, "delivered": …}), late ones included.';

-- The status order is an immutable CASE on its argument that names no object: without a
-- search_path of its own the planner inlines it (a status callback ranks statuses four
-- times: twice in private.record_message_status, twice in the row trigger).
alter function private.message_status_rank(public.message_status) reset search_path;

-- -----------------------------------------------------------------------------
-- Delivery problems Twilio reports in status callbacks (30003-30007)
-- -----------------------------------------------------------------------------

create table public.delivery_problems (
  id bigint generated always as identity primary key,
  org_id uuid not null references public.organizations (id) on delete cascade,
  message_id uuid not null references public.messages (id) on delete cascade,
  phone_number_id uuid,
  lead_id uuid,
  error_code integer not null,
  kind text not null constraint delivery_problems_kind_valid check (kind in (
    'unreachable', 'blocked', 'unknown_destination', 'landline', 'carrier_filtered')),
  occurred_at timestamptz not null,
  created_at timestamptz not null default now(),
  constraint delivery_problems_message_key unique (message_id),
  constraint delivery_problems_phone_number_fkey foreign key (org_id, phone_number_id)
    references public.phone_numbers (org_id, id) on delete set null (phone_number_id),
  constraint delivery_problems_lead_fkey foreign key (org_id, lead_id)
    references public.leads (org_id, id) on delete set null (lead_id)
);
comment on table public.delivery_problems is
  'One row per message a carrier did not deliver for a reason that says something about the
   sending number or the lead: 30003 unreachable, 30004 blocked, 30005 unknown destination,
   30006 landline, 30007 carrier filtering (spam). Number health reads it.';

create index delivery_problems_org_id_phone_number_id_occurred_at_idx
  on public.delivery_problems (org_id, phone_number_id, occurred_at);
create index delivery_problems_org_id_lead_id_idx on public.delivery_problems (org_id, lead_id);
create index delivery_problems_org_id_occurred_at_idx
  on public.delivery_problems (org_id, occurred_at desc);

alter table public.delivery_problems enable row level security;
revoke all on public.delivery_problems from anon, authenticated, service_role;
grant select on public.delivery_problems to authenticated;
grant select, insert, update, delete on public.delivery_problems to service_role;

create policy delivery_problems_select_policy on public.delivery_problems
  for select to authenticated
  using (org_id = any (array(select private.org_ids_with_role())));

-- -----------------------------------------------------------------------------
-- The keyword engine
-- -----------------------------------------------------------------------------

-- Lower case, apostrophes dropped (don't → dont), everything but letters and digits a
-- single space.
create function private.normalize_reply(body text) returns text
language sql
immutable
parallel safe
set search_path = ''
as $$
  select btrim(regexp_replace(
    translate(lower(coalesce(body, '')), '''’‘`´ʼ', ''),
    '[^[:alnum:]]+', ' ', 'g'))
$$;
comment on function private.normalize_reply(text) is
  'A reply as the keyword engine reads it: lower case, no apostrophes, words separated by
   single spaces, nothing else.';

create function private.standard_opt_out_keywords() returns text[]
language sql
immutable
parallel safe
set search_path = ''
as $$
  -- The FCC's (47 CFR 64.1200(a)(10)): stop, quit, end, revoke, opt out, cancel,
  -- unsubscribe; CTIA's and Twilio's: stopall, stop all, optout, opt-out.
  select array['stop', 'stopall', 'stop all', 'quit', 'end', 'revoke', 'opt out', 'optout',
    'cancel', 'unsubscribe']
$$;
comment on function private.standard_opt_out_keywords() is
  'Opt-out keywords every organization honours (FCC, CTIA, Twilio), normalised.';

-- What a reply means for what we may send: 'opt_out', 'opt_in' (START, UNSTOP; YES only
-- from a recipient who opted out), 'help' (HELP, INFO), or null (a message for the
-- operators). An opt-out is recognised:
--   1. as the whole reply, give or take politeness ("STOP", "Stop please!", "unsubscribe
--      me", "END.", "Remove", "unsub") — the standard keywords and the organization's own;
--   2. in words a reasonable person reads as revocation, anywhere in the reply ("please
--      stop with all these texts", "remove me from your list", "don't text me again", "I
--      don't want these texts", "wrong number", "no more messages", "leave me alone", "I
--      already opted out", "cease and desist"), or a reply that opens or closes with STOP
--      however long it is ("STOP I already bought a house"; not "is it near a bus stop");
--   3. in a short reply (six words at most) that holds one of the unambiguous keywords
--      (stop, stopall, unsubscribe, revoke, opt out; "stop by" is not one), or, when the
--      reply is not a question, end, quit or cancel within four words ("ok END" but not
--      "when does it end?").
-- In doubt it reads an opt-out: a lost lead costs less than a text after a revocation.
create function private.reply_intent(body text, org_keywords text[], opted_out boolean)
returns text
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
declare
  reply text := private.normalize_reply(body);
  words text[];
  core text;
  custom text[];
begin
  if reply = '' then
    return null;
  end if;
  words := string_to_array(reply, ' ');
  -- The reply without politeness around it.
  core := array_to_string(array(
    select w from unnest(words) w
    where w not in ('please', 'pls', 'plz', 'now', 'thanks', 'thank', 'you', 'thx', 'ty',
                    'ok', 'okay', 'me', 'asap', 'sir', 'maam')
  ), ' ');
  custom := array(
    select private.normalize_reply(k) from unnest(coalesce(org_keywords, '{}')) k
    where private.normalize_reply(k) <> ''
  );

  -- 1. A keyword as the whole reply.
  if core = any (private.standard_opt_out_keywords()) or core in ('remove', 'unsub')
    or core = any (custom) or reply = any (custom) then
    return 'opt_out';
  end if;
  if core in ('start', 'unstop') or (opted_out and core in ('yes', 'y')) then
    return 'opt_in';
  end if;
  if core in ('help', 'info') then
    return 'help';
  end if;

  -- 2. Revocation in so many words.
  if reply ~ '\m(stop|quit|cease)(?! (by|in|over|at|past|for|through)\M)( \w+){0,3} (texting|txting|texts|text|txts|messaging|messages|msgs|msging|sending|contacting|calling|bothering|spamming|harassing)\M'
    or reply ~ '\mend( (it|all|the|these|your|those|this))? (texting|txting|texts|text|txts|messaging|messages|msgs|msging|sending|contacting|calling|bothering|spamming|harassing)\M'
    or reply ~ '\m(remove|delete|unsubscribe|erase) (me|my number|my phone|this number|my info)\M'
    or reply ~ '\m(take|drop) (me|my number|my phone|this number|my info) (off|from|out)\M'
    or reply ~ '\m(dont|do not|never|stop) (ever )?(text|txt|message|msg|contact|call|send|sms|texting)(( me| this number| again| anymore)\M|$)'
    or reply ~ '\mno (more )?(texts|txts|messages|msgs|texting|sms)\M'
    or reply ~ '\m(dont|do not) want (any more |anymore |any |more |these |your |those |the )?(texts|txts|messages|msgs|texting|sms|calls)\M'
    or reply ~ '\m(leave me alone|wrong number|wrong person|wrong phone|lose my number|not my number|opt(ed)? (me )?out|optout|unsubscrib\w*|unsub|stopall|stop all|revoke|cease and desist)\M'
    -- A reply that opens or closes with the keyword, however long ("STOP I already bought
    -- a house", "why do you keep texting me? Stop."), but not a bus stop.
    or reply ~ '^(stop|stopall|unsubscribe|revoke|opt out|optout)\M(?! (by|in|over|at|past|for|through)\M)'
    or reply ~ '(?<!\m(bus|pit|truck|rest|next|last|first|full|one) )\mstop$'
    or lower(coalesce(body, '')) ~ '\mwrong\s*(#|num\M|no\M)'
  then
    return 'opt_out';
  end if;
  if cardinality(custom) > 0 and cardinality(words) <= 6 and exists (
    select 1 from unnest(custom) k where ' ' || reply || ' ' like '% ' || k || ' %'
  ) then
    return 'opt_out';
  end if;

  -- 3. A keyword inside a short reply.
  if cardinality(words) <= 6 and reply ~ '(?<!\m(bus|pit|truck|rest|next|last|first|full|one) )\mstop\M(?! (by|in|over|at|past|for|through))' then
    return 'opt_out';
  end if;
  if cardinality(words) <= 4 and strpos(coalesce(body, ''), '?') = 0
    and reply ~ '\m(end|quit|cancel)\M' then
    return 'opt_out';
  end if;
  return null;
end;
$$;
comment on function private.reply_intent(text, text[], boolean) is
  'What an inbound reply means: opt_out (keywords, revocation phrases, keywords in short
   replies), opt_in (START, UNSTOP; YES after an opt-out), help (HELP, INFO) or null.';

-- The words we answer with. Each names the organization (CTIA: the sender is identified).
create function private.keyword_reply(org public.organizations, intent text) returns text
language sql
stable
parallel safe
set search_path = ''
as $$
  select case intent
    when 'opt_out' then format(
      '%s: You are unsubscribed and will receive no more messages from us. Reply START to resubscribe.',
      org.name)
    when 'opt_in' then format(
      '%s: You are resubscribed and may receive messages again. Reply STOP to opt out, HELP for help.',
      org.name)
    when 'help' then coalesce(btrim(org.help_text), format(
      '%s: Reply STOP to opt out, START to opt back in. Msg & data rates may apply.',
      org.name))
  end
$$;
comment on function private.keyword_reply(public.organizations, text) is
  'The confirmation (opt_out, opt_in) or help text an inbound keyword is answered with.';

-- Every pending target of a number in every campaign of the organization, canceled.
create function private.cancel_pending_targets(for_org uuid, for_phone text, reason text)
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  canceled integer;
begin
  update public.campaign_targets t
  set status = 'canceled', status_reason = left(reason, 500)
  where t.org_id = for_org and t.phone = for_phone and t.status = 'pending';
  get diagnostics canceled = row_count;
  return canceled;
end;
$$;
comment on function private.cancel_pending_targets(uuid, text, text) is
  'Cancels every pending campaign target of a phone number in an organization (an opt-out);
   returns how many.';

-- -----------------------------------------------------------------------------
-- Inbound messages
-- -----------------------------------------------------------------------------

-- Outcomes: 'received' (written, with the reply's intent and our answer), 'duplicate'
-- (the MessageSid was received before: same intent and answer, nothing written),
-- 'unknown_number' (To is none of our numbers: nothing written), 'bad_sender' (From is not
-- a phone number: nothing written).
create function private.receive_inbound(
  message_sid text,
  from_phone text,
  to_phone text,
  body text,
  at timestamptz default now()
) returns table (outcome text, org_id uuid, intent text, reply text)
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  num public.phone_numbers;
  org public.organizations;
  earlier record;
  lead_id uuid;
  lead_status text;
  conversation uuid;
  opted_out boolean;
  meaning text;
  answer text;
  canceled integer;
  text_in text := left(coalesce(receive_inbound.body, ''), 1600);
begin
  if message_sid !~ '^(SM|MM)[0-9a-f]{32}$' then
    raise exception 'MessageSid: % is not a message SID', left(message_sid, 40)
      using errcode = '22023';
  end if;
  select * into num from public.phone_numbers n where n.phone = receive_inbound.to_phone;
  if num.id is null then
    return query select 'unknown_number', null::uuid, null::text, null::text;
    return;
  end if;
  select * into org from public.organizations o where o.id = num.org_id;
  if from_phone is null or from_phone !~ '^\+[1-9][0-9]{7,14}$' then
    return query select 'bad_sender', org.id, null::text, null::text;
    return;
  end if;

  -- Twilio's retries and duplicates of one message: one at a time, the later ones see the
  -- first and write nothing.
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended(message_sid, 0));
  select m.intent, m.auto_reply into earlier from public.messages m
  where m.twilio_sid = message_sid;
  if found then
    return query select 'duplicate', org.id, earlier.intent, earlier.auto_reply;
    return;
  end if;

  -- A keyword changes suppressions: take the organization's suppression lock before any
  -- lead write (which takes it shared), so two STOPs at once queue instead of deadlocking
  -- on the upgrade. (YES is an opt-in only from someone opted out: decided under the lock.)
  if private.reply_intent(text_in, org.opt_out_keywords, true) in ('opt_out', 'opt_in') then
    perform pg_catalog.pg_advisory_xact_lock(private.suppression_lock_key(org.id));
  end if;
  opted_out := exists (
    select 1 from public.suppressions s
    where s.org_id = org.id and s.phone = from_phone and s.source = 'recipient_stop'
      and s.lifted_at is null
  );
  meaning := private.reply_intent(text_in, org.opt_out_keywords, opted_out);
  answer := private.keyword_reply(org, meaning);

  -- The lead, created when a stranger writes first. A number the organization does not
  -- text (another country) gets no lead: its message is kept, its keywords honoured.
  select l.id, l.status into lead_id, lead_status from public.leads l
  where l.org_id = org.id and l.phone = from_phone;
  if lead_id is null then
    begin
      insert into public.leads (org_id, phone, status, notes)
      values (org.id, from_phone, 'replied', 'Created by an inbound message')
      on conflict (org_id, phone) do nothing
      returning id, status into lead_id, lead_status;
    exception when sqlstate '22023' then
      lead_id := null;
    end;
    if lead_id is null then
      select l.id, l.status into lead_id, lead_status from public.leads l
      where l.org_id = org.id and l.phone = from_phone;
    end if;
  elsif lead_status in ('new', 'contacted') then
    update public.leads l set status = 'replied' where l.id = lead_id;
  end if;

  if meaning = 'opt_out' then
    -- The suppression takes the organization's suppression lock: a claim in progress
    -- finishes first, every later claim and pre-send check sees it.
    insert into public.suppressions (org_id, phone, source, reason)
    values (org.id, from_phone, 'recipient_stop',
      left(format('The recipient replied %L (%s)', left(text_in, 200), message_sid), 500))
    on conflict (org_id, phone, source) where lifted_at is null do nothing;
    insert into public.consent_events
      (org_id, lead_id, phone, kind, channel, raw_text, source, occurred_at)
    values (org.id, lead_id, from_phone, 'revoked', 'sms', left(text_in, 2000),
      'inbound reply ' || message_sid, least(at, now()));
    canceled := private.cancel_pending_targets(org.id, from_phone,
      'canceled: the recipient opted out by text');
    perform realtime.send(
      jsonb_build_object('lead_id', lead_id, 'phone_last4', right(from_phone, 4),
        'canceled_targets', canceled, 'at', at),
      'lead.opted_out', 'org:' || org.id::text, true);
  elsif meaning = 'opt_in' then
    update public.suppressions s
    set lifted_at = now(), lift_reason = 'the recipient opted back in by text'
    where s.org_id = org.id and s.phone = from_phone and s.source = 'recipient_stop'
      and s.lifted_at is null;
    insert into public.consent_events
      (org_id, lead_id, phone, kind, channel, raw_text, source, occurred_at)
    values (org.id, lead_id, from_phone, 'captured', 'sms', left(text_in, 2000),
      'inbound reply ' || message_sid, least(at, now()));
    perform realtime.send(
      jsonb_build_object('lead_id', lead_id, 'phone_last4', right(from_phone, 4), 'at', at),
      'lead.opted_in', 'org:' || org.id::text, true);
  end if;

  -- The thread: one per lead and number, reopened, one more unread message.
  if lead_id is not null then
    insert into public.conversations as c
      (org_id, lead_id, phone_number_id, unread_count, last_message_at, status)
    values (org.id, lead_id, num.id, 1, at, 'open')
    on conflict on constraint conversations_lead_number_key do update
    set unread_count = c.unread_count + 1,
        last_message_at = greatest(c.last_message_at, excluded.last_message_at),
        status = 'open'
    returning c.id into conversation;
  end if;

  insert into public.messages (org_id, direction, conversation_id, lead_id, phone_number_id,
    from_phone, to_phone, body, twilio_sid, status, received_at, created_at, intent,
    auto_reply, status_times)
  values (org.id, 'inbound', conversation, lead_id, num.id, from_phone, num.phone, text_in,
    message_sid, 'received', at, at, meaning, answer,
    jsonb_build_object('received', at));

  return query select 'received', org.id, meaning, answer;
end;
$$;
comment on function private.receive_inbound(text, text, text, text, timestamptz) is
  'For the twilio webhook (as sms_system): records an inbound message (lead and conversation
   found or created, unread count bumped, thread reopened) and acts on its keywords (opt-out:
   suppression, ledger entry, pending targets canceled; opt-in: suppression lifted, ledger
   entry); returns the outcome, the intent and the answer to send back. Idempotent on the
   MessageSid.';

-- -----------------------------------------------------------------------------
-- Status callbacks
-- -----------------------------------------------------------------------------

-- The kind of delivery problem an error code reports (null: none we track).
create function private.delivery_problem_kind(error_code integer) returns text
language sql
immutable
parallel safe
set search_path = ''
as $$
  select case error_code
    when 30003 then 'unreachable'
    when 30004 then 'blocked'
    when 30005 then 'unknown_destination'
    when 30006 then 'landline'
    when 30007 then 'carrier_filtered'
  end
$$;
comment on function private.delivery_problem_kind(integer) is
  'Twilio 30003-30007 as delivery problems: unreachable, blocked, unknown_destination,
   landline, carrier_filtered.';

-- Outcomes: 'updated' (the status moved forward), 'recorded' (a late or repeated status:
-- only its time was kept), 'unchanged' (nothing new), 'unknown' (no message with that SID),
-- 'ignored' (a status we do not track, e.g. 'read').
create function private.record_message_status(
  message_sid text,
  status text,
  error_code integer default null,
  error_message text default null,
  at timestamptz default now(),
  price numeric default null,
  price_unit text default null
) returns text
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  reported public.message_status;
  reported_rank integer;
  msg record;
  problem text;
begin
  if record_message_status.status not in ('queued', 'accepted', 'sending', 'sent', 'delivered',
      'undelivered', 'failed', 'canceled') then
    return 'ignored';
  end if;
  reported := record_message_status.status::public.message_status;
  reported_rank := private.message_status_rank(reported);

  -- One statement (a status callback is the busiest thing Twilio sends us): the row is
  -- locked, read as it was (o) and, when the callback says something new, written.
  update public.messages m
  set status = case when o.forward then reported else m.status end,
      status_times = case when m.status_times ? record_message_status.status
        then m.status_times
        else m.status_times || jsonb_build_object(record_message_status.status, at) end,
      sent_at = case when o.forward and reported in ('sent', 'delivered')
        then coalesce(m.sent_at, at) else m.sent_at end,
      delivered_at = case when o.forward and reported = 'delivered' then at
        else m.delivered_at end,
      failed_at = case when o.forward and reported in ('undelivered', 'failed') then at
        else m.failed_at end,
      canceled_at = case when o.forward and reported = 'canceled' then at
        else m.canceled_at end,
      error_code = case when o.forward and reported in ('undelivered', 'failed')
        then record_message_status.error_code else m.error_code end,
      error_message = case when o.forward and reported in ('undelivered', 'failed')
        then left(record_message_status.error_message, 500) else m.error_message end,
      price = coalesce(record_message_status.price, m.price),
      price_unit = coalesce(record_message_status.price_unit, m.price_unit)
  from (
    select x.ctid as row_id,
      private.message_status_rank(x.status) < reported_rank as forward
    from public.messages x
    where x.twilio_sid = message_sid and x.direction = 'outbound'
    for no key update
  ) o
  where m.ctid = o.row_id
    and (o.forward or not (m.status_times ? record_message_status.status)
      or (record_message_status.price is not null
        and record_message_status.price is distinct from m.price))
  returning o.forward, m.id, m.org_id, m.lead_id, m.phone_number_id, m.to_phone
  into msg;

  if msg.id is null then
    -- Nothing new (a duplicate), or no outbound message with this SID.
    return case when exists (
      select 1 from public.messages m
      where m.twilio_sid = message_sid and m.direction = 'outbound'
    ) then 'unchanged' else 'unknown' end;
  end if;
  if not msg.forward then
    return 'recorded';
  end if;

  if reported in ('undelivered', 'failed') and record_message_status.error_code is not null then
    if record_message_status.error_code = 21610 then
      perform private.suppress_opted_out(msg.org_id, msg.lead_id, msg.to_phone, '21610',
        'status callback ' || message_sid);
      perform private.cancel_pending_targets(msg.org_id, msg.to_phone,
        'canceled: Twilio reports the recipient opted out of this sender (21610)');
    end if;
    problem := private.delivery_problem_kind(record_message_status.error_code);
    if problem is not null then
      insert into public.delivery_problems
        (org_id, message_id, phone_number_id, lead_id, error_code, kind, occurred_at)
      values (msg.org_id, msg.id, msg.phone_number_id, msg.lead_id,
        record_message_status.error_code, problem, at)
      on conflict (message_id) do nothing;
      if problem in ('unknown_destination', 'landline') then
        update public.leads l set status = 'invalid'
        where l.org_id = msg.org_id and l.id = msg.lead_id and l.status <> 'invalid';
      end if;
    end if;
  end if;
  return 'updated';
end;
$$;
comment on function private.record_message_status(text, text, integer, text, timestamptz,
  numeric, text) is
  'For the twilio webhook (as sms_system): a status callback. The status only moves forward
   (a late one keeps only its time); failures map their error code: 21610 suppresses the
   number, 30003-30007 are delivery problems, 30005/30006 make the lead invalid. Returns
   updated, recorded, unchanged, unknown or ignored.';

-- -----------------------------------------------------------------------------
-- Realtime: one broadcast per conversation change on org:<id>
-- -----------------------------------------------------------------------------

-- A new thread with unread messages, more or fewer unread, a new status or assignee: what
-- an inbox shows. (An outbound campaign message that only moves last_message_at is not a
-- change an inbox needs pushed; status callbacks never touch conversations.)
create function private.broadcast_conversation_change() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' and new.unread_count = 0 then
    return null;
  end if;
  if tg_op = 'UPDATE' and new.unread_count = old.unread_count and new.status = old.status
    and new.assignee_id is not distinct from old.assignee_id then
    return null;
  end if;
  perform realtime.send(
    jsonb_build_object('conversation_id', new.id, 'lead_id', new.lead_id,
      'phone_number_id', new.phone_number_id, 'status', new.status,
      'assignee_id', new.assignee_id, 'unread_count', new.unread_count,
      'last_message_at', new.last_message_at),
    'conversation.changed', 'org:' || new.org_id::text, true);
  return null;
end;
$$;
comment on function private.broadcast_conversation_change() is
  'Broadcasts conversation.changed on org:<id> when a thread''s unread count, status or
   assignee changes (a new inbound message, marked read, assigned, closed, reopened).';

create trigger conversations_broadcast_change after insert or update on public.conversations
  for each row execute function private.broadcast_conversation_change();

-- -----------------------------------------------------------------------------
-- The database webhook for replies: a short tick right away
-- -----------------------------------------------------------------------------

create table private.sender_wakeups (
  id boolean primary key default true constraint sender_wakeups_single check (id),
  last_at timestamptz not null
);
comment on table private.sender_wakeups is
  'When a reply last woke the sender (one row): wake-ups at most one a second.';
insert into private.sender_wakeups (last_at) values ('-infinity');

create function private.wake_sender_for_replies() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  url text;
  secret text;
begin
  update private.sender_wakeups w set last_at = now()
  where w.id and w.last_at < now() - interval '1 second';
  if not found then
    return null;
  end if;
  select s.decrypted_secret into url from vault.decrypted_secrets s
  where s.name = 'campaign_tick_url';
  select s.decrypted_secret into secret from vault.decrypted_secrets s
  where s.name = 'campaign_tick_secret';
  if url is null or secret is null then
    return null;
  end if;
  -- A short tick: it sends the reply (claimed before any campaign target) and whatever is
  -- due in the next seconds; the cron's ticks carry the campaigns.
  perform net.http_post(
    url := url,
    body := '{"budget_ms": 5000}'::jsonb,
    headers := jsonb_build_object('Authorization', 'Bearer ' || secret,
                                  'Content-Type', 'application/json'),
    timeout_milliseconds := 30000);
  return null;
end;
$$;
comment on function private.wake_sender_for_replies() is
  'Database webhook: a member''s reply posts a 5-second campaign-tick (pg_net, URL and
   secret from Vault) so it goes out within seconds; at most one a second.';

-- Row-level with a WHEN clause: campaign and inbound messages never call the function.
create trigger messages_wake_sender after insert on public.messages
  for each row when (new.send_state = 'waiting')
  execute function private.wake_sender_for_replies();

-- -----------------------------------------------------------------------------
-- Grants
-- -----------------------------------------------------------------------------

revoke all on function private.normalize_reply(text) from public;
revoke all on function private.standard_opt_out_keywords() from public;
revoke all on function private.reply_intent(text, text[], boolean) from public;
revoke all on function private.keyword_reply(public.organizations, text) from public;
revoke all on function private.cancel_pending_targets(uuid, text, text) from public;
revoke all on function private.receive_inbound(text, text, text, text, timestamptz)
  from public;
revoke all on function private.delivery_problem_kind(integer) from public;
revoke all on function private.record_message_status(text, text, integer, text, timestamptz,
  numeric, text) from public;
revoke all on function private.broadcast_conversation_change() from public;
revoke all on function private.wake_sender_for_replies() from public;

grant execute on function private.receive_inbound(text, text, text, text, timestamptz)
  to sms_system;
grant execute on function private.record_message_status(text, text, integer, text,
  timestamptz, numeric, text) to sms_system;
grant execute on function private.reply_intent(text, text[], boolean) to sms_system;
