-- =============================================================================
-- Replayed webhooks: Twilio retries a webhook that failed within seconds (at most a few
-- minutes with connection overrides), and a retry is answered as the first request was
-- (both endpoints are idempotent on MessageSid). The same signed request long after that is
-- not Twilio's retry but someone replaying what they captured: it is refused, and changes
-- nothing either way.
-- =============================================================================

create function private.webhook_replay_window() returns interval
language sql
immutable
parallel safe
set search_path = ''
as $$ select interval '10 minutes' $$;
comment on function private.webhook_replay_window() is
  'How long after the first a repeat of a Twilio webhook is taken as Twilio''s retry (and
   answered as the first was); later, it is a replay and refused.';
revoke all on function private.webhook_replay_window() from public;

-- An inbound message: its SID first received longer ago than the window is a replay.
create function private.receive_inbound_once(
  message_sid text,
  from_phone text,
  to_phone text,
  body text,
  at timestamptz default now()
) returns table (outcome text, org_id uuid, intent text, reply text, first_at timestamptz)
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  first_received timestamptz;
begin
  select m.created_at into first_received from public.messages m
  where m.twilio_sid = receive_inbound_once.message_sid and m.direction = 'inbound';
  if first_received < receive_inbound_once.at - private.webhook_replay_window() then
    return query select 'replayed', null::uuid, null::text, null::text, first_received;
    return;
  end if;
  return query
  select r.outcome, r.org_id, r.intent, r.reply, first_received
  from private.receive_inbound(receive_inbound_once.message_sid, receive_inbound_once.from_phone,
    receive_inbound_once.to_phone, receive_inbound_once.body, receive_inbound_once.at) r;
end;
$$;
comment on function private.receive_inbound_once(text, text, text, text, timestamptz) is
  'For the twilio webhook (as sms_system): private.receive_inbound, unless the MessageSid
   was received longer ago than private.webhook_replay_window() (outcome replayed, nothing
   written).';
revoke all on function private.receive_inbound_once(text, text, text, text, timestamptz)
  from public;
grant execute on function private.receive_inbound_once(text, text, text, text, timestamptz)
  to sms_system;

-- A status callback: a status already recorded for the message, longer ago than the
-- window, reported again is a replay. (Only a callback that changes nothing is looked at
-- twice: the busy path stays one statement.)
create function private.record_message_status_once(
  message_sid text,
  status text,
  error_code integer default null,
  error_message text default null,
  at timestamptz default now()
) returns text
language plpgsql
security definer
set search_path = ''
as $$
declare
  outcome text;
  first_at timestamptz;
begin
  outcome := private.record_message_status(message_sid, status, error_code, error_message, at);
  if outcome <> 'unchanged' then
    return outcome;
  end if;
  select (m.status_times ->> record_message_status_once.status)::timestamptz into first_at
  from public.messages m
  where m.twilio_sid = record_message_status_once.message_sid and m.direction = 'outbound';
  if first_at < record_message_status_once.at - private.webhook_replay_window() then
    return 'replayed';
  end if;
  return outcome;
end;
$$;
comment on function private.record_message_status_once(text, text, integer, text, timestamptz)
  is
  'For the twilio webhook (as sms_system): private.record_message_status; a repeat of a
   status recorded longer ago than private.webhook_replay_window() is replayed.';
revoke all on function private.record_message_status_once(text, text, integer, text,
  timestamptz) from public;
grant execute on function private.record_message_status_once(text, text, integer, text,
  timestamptz) to sms_system;
