-- =============================================================================
-- Conversations and messages. Every text in or out is a message; a conversation is
-- the thread between one lead and one of the organization's sending numbers.
-- Members other than viewers answer (a reply is a queued outbound message the
-- sender picks up), assign and close threads; the system records everything else.
-- A message's status only moves forward.
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Types
-- -----------------------------------------------------------------------------

create type public.conversation_status as enum ('open', 'closed');
comment on type public.conversation_status is 'Whether a thread still needs attention.';

create type public.message_direction as enum ('inbound', 'outbound');
comment on type public.message_direction is 'inbound: from the lead; outbound: to the lead.';

create type public.message_status as enum (
  'queued', 'accepted', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'canceled',
  'received'
);
comment on type public.message_status is
  'Twilio''s message statuses we track; delivered, undelivered, failed, canceled and received
   are final.';

create type public.message_encoding as enum ('gsm7', 'ucs2');
comment on type public.message_encoding is 'GSM-7 (160/153 per segment) or UCS-2 (70/67).';

-- -----------------------------------------------------------------------------
-- Tables
-- -----------------------------------------------------------------------------

create table public.conversations (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null,
  lead_id uuid not null,
  phone_number_id uuid not null,
  -- text checked against the enum: leakproof equality, so status filters use indexes under RLS.
  status text not null default 'open'
    constraint conversations_status_valid check (status::public.conversation_status is not null),
  assignee_id uuid,
  unread_count integer not null default 0
    constraint conversations_unread_count_nonnegative check (unread_count >= 0),
  last_message_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint conversations_org_id_id_key unique (org_id, id),
  constraint conversations_lead_number_key unique (org_id, lead_id, phone_number_id),
  constraint conversations_lead_fkey foreign key (org_id, lead_id)
    references public.leads (org_id, id) on delete cascade,
  constraint conversations_phone_number_fkey foreign key (org_id, phone_number_id)
    references public.phone_numbers (org_id, id) on delete restrict,
  constraint conversations_assignee_fkey foreign key (org_id, assignee_id)
    references public.memberships (org_id, user_id) on delete set null (assignee_id)
);
comment on table public.conversations is
  'The thread between one lead and one sending number: unread count, assignee, status.';
comment on column public.conversations.assignee_id is
  'The member answering this thread; must belong to the organization.';
comment on column public.conversations.unread_count is
  'Inbound messages not yet read; members may only reset it to 0.';

create index conversations_org_id_status_last_message_at_idx
  on public.conversations (org_id, status, last_message_at desc);
create index conversations_org_id_phone_number_id_idx
  on public.conversations (org_id, phone_number_id);
create index conversations_org_id_assignee_id_idx on public.conversations (org_id, assignee_id);

create table public.messages (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references public.organizations (id) on delete cascade,
  direction public.message_direction not null,
  conversation_id uuid,
  lead_id uuid,
  phone_number_id uuid,
  from_phone text not null
    constraint messages_from_phone_e164 check (from_phone ~ '^\+[1-9][0-9]{7,14}$'),
  to_phone text not null
    constraint messages_to_phone_e164 check (to_phone ~ '^\+[1-9][0-9]{7,14}$'),
  body text constraint messages_body_length check (char_length(body) <= 1600),
  segments smallint constraint messages_segments_positive check (segments > 0),
  encoding public.message_encoding,
  twilio_sid text constraint messages_twilio_sid_format
    check (twilio_sid ~ '^(SM|MM)[0-9a-f]{32}$'),
  status public.message_status not null,
  error_code integer,
  error_message text constraint messages_error_message_length
    check (char_length(error_message) <= 500),
  price numeric(10, 5),
  price_unit text constraint messages_price_unit_format check (price_unit ~ '^[A-Z]{3}$'),
  campaign_id uuid,
  campaign_target_id bigint,
  template_variant_id uuid,
  sent_by uuid references public.profiles (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  sent_at timestamptz,
  delivered_at timestamptz,
  failed_at timestamptz,
  received_at timestamptz,
  canceled_at timestamptz,
  constraint messages_direction_status check (
    (direction = 'inbound') = (status = 'received')
  ),
  constraint messages_conversation_fkey foreign key (org_id, conversation_id)
    references public.conversations (org_id, id) on delete set null (conversation_id),
  constraint messages_lead_fkey foreign key (org_id, lead_id)
    references public.leads (org_id, id) on delete set null (lead_id),
  constraint messages_phone_number_fkey foreign key (org_id, phone_number_id)
    references public.phone_numbers (org_id, id) on delete set null (phone_number_id),
  constraint messages_campaign_fkey foreign key (org_id, campaign_id)
    references public.campaigns (org_id, id) on delete set null (campaign_id),
  constraint messages_campaign_target_fkey foreign key (org_id, campaign_target_id)
    references public.campaign_targets (org_id, id) on delete set null (campaign_target_id),
  constraint messages_template_variant_fkey foreign key (org_id, template_variant_id)
    references public.template_variants (org_id, id) on delete set null (template_variant_id)
);
comment on table public.messages is
  'Every text sent or received, with Twilio''s SID, status history, cost and origin.';
comment on column public.messages.created_at is 'When the message was queued or received.';
comment on column public.messages.segments is 'SMS segments billed (computed when rendered).';
comment on column public.messages.sent_by is 'The member who wrote a reply; null for campaigns.';
comment on column public.messages.failed_at is 'When it became undelivered or failed.';

create unique index messages_twilio_sid_key on public.messages (twilio_sid);
create index messages_org_id_conversation_id_created_at_idx
  on public.messages (org_id, conversation_id, created_at);
create index messages_org_id_lead_id_idx on public.messages (org_id, lead_id);
create index messages_org_id_phone_number_id_created_at_idx
  on public.messages (org_id, phone_number_id, created_at);
create index messages_org_id_campaign_id_idx on public.messages (org_id, campaign_id);
create index messages_org_id_campaign_target_id_idx
  on public.messages (org_id, campaign_target_id);
create index messages_org_id_template_variant_id_idx
  on public.messages (org_id, template_variant_id);
create index messages_org_id_created_at_idx on public.messages (org_id, created_at desc);
create index messages_sent_by_idx on public.messages (sent_by);

-- -----------------------------------------------------------------------------
-- Grants: members read; a reply is an insert of (org_id, conversation_id, body);
-- assigning, closing and reading a thread are updates of those columns.
-- -----------------------------------------------------------------------------

revoke all on public.conversations, public.messages from anon, authenticated, service_role;
grant select on public.conversations, public.messages to authenticated;
grant update (status, assignee_id, unread_count) on public.conversations to authenticated;
grant insert (org_id, conversation_id, body) on public.messages to authenticated;

grant select, insert, update, delete on public.conversations, public.messages to service_role;

-- -----------------------------------------------------------------------------
-- Triggers
-- -----------------------------------------------------------------------------

create trigger conversations_set_updated_at before update on public.conversations
  for each row execute function private.set_updated_at();
create trigger messages_set_updated_at before update on public.messages
  for each row execute function private.set_updated_at();

-- Members may mark a thread read, not invent unread messages.
create function private.guard_conversation_update() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if current_user = 'authenticated' and new.unread_count <> old.unread_count
    and new.unread_count <> 0 then
    raise exception 'conversations.unread_count: members may only reset it to 0'
      using errcode = '42501';
  end if;
  return new;
end;
$$;
comment on function private.guard_conversation_update() is
  'Lets members only reset unread_count to 0 (mark read).';
revoke all on function private.guard_conversation_update() from public;

create trigger conversations_guard_update before update on public.conversations
  for each row execute function private.guard_conversation_update();

-- A member's reply: the database fills in everything but the words, from the thread,
-- and refuses a reply to a number that opted out.
create function private.prepare_reply() returns trigger
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
  if thread.suppressed then
    raise exception 'this recipient opted out or is suppressed: no message can be sent'
      using errcode = '55000';
  end if;
  if thread.number_status = 'disabled' then
    raise exception 'the sending number % is disabled', thread.number_phone
      using errcode = '55000';
  end if;
  new.direction := 'outbound';
  new.status := 'queued';
  new.lead_id := thread.lead_id;
  new.phone_number_id := thread.phone_number_id;
  new.from_phone := thread.number_phone;
  new.to_phone := thread.lead_phone;
  new.sent_by := (select auth.uid());
  return new;
end;
$$;
comment on function private.prepare_reply() is
  'Completes a member''s reply from its conversation and refuses one to a suppressed number.';
revoke all on function private.prepare_reply() from public;

create trigger messages_prepare_reply before insert on public.messages
  for each row execute function private.prepare_reply();

-- Status only moves forward, and each status records when it was reached.
create function private.message_status_rank(status public.message_status) returns integer
language sql
immutable
parallel safe
set search_path = ''
as $$
  select case status
    when 'queued' then 0
    when 'accepted' then 1
    when 'sending' then 2
    when 'sent' then 3
    else 4
  end;
$$;
comment on function private.message_status_rank(public.message_status) is
  'Order of message statuses: queued < accepted < sending < sent < any final status.';
revoke all on function private.message_status_rank(public.message_status) from public;
grant execute on function private.message_status_rank(public.message_status)
  to authenticated, service_role, sms_system;

create function private.advance_message_status() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if tg_op = 'UPDATE' and new.status is distinct from old.status then
    if private.message_status_rank(new.status) <= private.message_status_rank(old.status) then
      raise exception 'message % cannot go from % back or sideways to %',
        old.id, old.status, new.status
        using errcode = '23514',
          hint = 'Update only where the new status ranks higher (private.message_status_rank).';
    end if;
  end if;
  if tg_op = 'INSERT' or new.status is distinct from old.status then
    case new.status
      when 'sent' then new.sent_at := coalesce(new.sent_at, now());
      when 'delivered' then
        new.sent_at := coalesce(new.sent_at, now());
        new.delivered_at := coalesce(new.delivered_at, now());
      when 'undelivered', 'failed' then new.failed_at := coalesce(new.failed_at, now());
      when 'received' then new.received_at := coalesce(new.received_at, now());
      when 'canceled' then new.canceled_at := coalesce(new.canceled_at, now());
      else null;
    end case;
  end if;
  return new;
end;
$$;
comment on function private.advance_message_status() is
  'Refuses status changes that go backwards or leave a final status; stamps each status time.';
revoke all on function private.advance_message_status() from public;

create trigger messages_advance_status before insert or update of status on public.messages
  for each row execute function private.advance_message_status();

-- Deleting an organization would reach its sending numbers before the conversations that
-- keep them (through leads): remove the conversations first.
create trigger organizations_delete_conversations before delete on public.organizations
  for each row execute function private.delete_organization_rows('conversations');

-- -----------------------------------------------------------------------------
-- Enable RLS and policies
-- -----------------------------------------------------------------------------

alter table public.conversations enable row level security;
alter table public.messages enable row level security;

create policy conversations_select_policy on public.conversations
  for select to authenticated
  using (org_id = any (array(select private.org_ids_with_role())));

create policy conversations_update_policy on public.conversations
  for update to authenticated
  using (
    org_id = any (array(select private.org_ids_with_role('{admin,campaign_manager,operator}')))
  )
  with check (
    org_id = any (array(select private.org_ids_with_role('{admin,campaign_manager,operator}')))
  );

create policy messages_select_policy on public.messages
  for select to authenticated
  using (org_id = any (array(select private.org_ids_with_role())));

create policy messages_insert_policy on public.messages
  for insert to authenticated
  with check (
    org_id = any (array(select private.org_ids_with_role('{admin,campaign_manager,operator}')))
  );
