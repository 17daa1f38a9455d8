-- =============================================================================
-- Sending numbers: the organization's Twilio numbers, with their throughput
-- limits and health. A number belongs to one organization (inbound messages find
-- their organization by the number they were sent to). Admins manage them.
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Types
-- -----------------------------------------------------------------------------

create type public.phone_number_status as enum ('active', 'paused', 'disabled');
comment on type public.phone_number_status is
  'active: in rotation; paused: kept out of rotation for now; disabled: never used to send.';

create type public.number_health as enum ('unknown', 'good', 'moderate', 'poor');
comment on type public.number_health is
  'Delivery health of a sending number from its recent delivery, filtering and opt-out rates.';

-- -----------------------------------------------------------------------------
-- Tables
-- -----------------------------------------------------------------------------

create table public.phone_numbers (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references public.organizations (id) on delete cascade,
  phone text not null
    constraint phone_numbers_phone_e164 check (phone ~ '^\+[1-9][0-9]{7,14}$'),
  friendly_name text constraint phone_numbers_friendly_name_length
    check (char_length(friendly_name) <= 100),
  twilio_sid text not null
    constraint phone_numbers_twilio_sid_format check (twilio_sid ~ '^PN[0-9a-f]{32}$'),
  messaging_service_sid text constraint phone_numbers_messaging_service_sid_format
    check (messaging_service_sid ~ '^MG[0-9a-f]{32}$'),
  -- text checked against the enum, not the enum itself: text equality is leakproof, so a
  -- filter on status can use an index under RLS (enum equality cannot).
  status text not null default 'active'
    constraint phone_numbers_status_valid check (status::public.phone_number_status is not null),
  messages_per_second numeric(6, 2) not null default 1
    constraint phone_numbers_messages_per_second_range
      check (messages_per_second > 0 and messages_per_second <= 1000),
  daily_cap integer constraint phone_numbers_daily_cap_positive check (daily_cap > 0),
  health public.number_health not null default 'unknown',
  health_score numeric(5, 2) constraint phone_numbers_health_score_range
    check (health_score between 0 and 100),
  health_checked_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint phone_numbers_org_id_id_key unique (org_id, id)
);
comment on table public.phone_numbers is 'The organization''s Twilio numbers that send campaigns.';
comment on column public.phone_numbers.phone is
  'E.164; unique across organizations, since inbound messages are routed by it.';
comment on column public.phone_numbers.messages_per_second is
  'Most messages this number may send per second (10DLC and toll-free limits vary).';
comment on column public.phone_numbers.daily_cap is
  'Most messages this number may send per day; null when only the rate limits it.';
comment on column public.phone_numbers.health_score is
  '0–100 from the rolling delivery, carrier-filtering and opt-out rates; null until measured.';

create unique index phone_numbers_phone_key on public.phone_numbers (phone);
create unique index phone_numbers_twilio_sid_key on public.phone_numbers (twilio_sid);
create index phone_numbers_org_id_status_idx on public.phone_numbers (org_id, status);

-- -----------------------------------------------------------------------------
-- Grants: every member reads; admins write (RLS).
-- -----------------------------------------------------------------------------

revoke all on public.phone_numbers from anon, authenticated, service_role;
grant select, delete on public.phone_numbers to authenticated;
grant insert (
  org_id, phone, friendly_name, twilio_sid, messaging_service_sid, status,
  messages_per_second, daily_cap
) on public.phone_numbers to authenticated;
grant update (
  phone, friendly_name, twilio_sid, messaging_service_sid, status, messages_per_second,
  daily_cap
) on public.phone_numbers to authenticated;
grant select, insert, update, delete on public.phone_numbers to service_role;

-- -----------------------------------------------------------------------------
-- Triggers
-- -----------------------------------------------------------------------------

create trigger phone_numbers_set_updated_at before update on public.phone_numbers
  for each row execute function private.set_updated_at();

create function private.normalize_phone_numbers_phone() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.phone := private.normalize_phone(
    new.phone, private.org_default_country(new.org_id), 'phone_numbers.phone');
  return new;
end;
$$;
comment on function private.normalize_phone_numbers_phone() is
  'Stores a sending number in E.164, or refuses it with the reason.';
revoke all on function private.normalize_phone_numbers_phone() from public;

create trigger phone_numbers_normalize_phone before insert or update of phone
  on public.phone_numbers
  for each row execute function private.normalize_phone_numbers_phone();

select private.attach_audit('public.phone_numbers', 'id');

-- -----------------------------------------------------------------------------
-- Enable RLS and policies
-- -----------------------------------------------------------------------------

alter table public.phone_numbers enable row level security;

create policy phone_numbers_select_policy on public.phone_numbers
  for select to authenticated
  using (org_id = any (array(select private.org_ids_with_role())));

create policy phone_numbers_insert_policy on public.phone_numbers
  for insert to authenticated
  with check (org_id = any (array(select private.org_ids_with_role('{admin}'))));

create policy phone_numbers_update_policy on public.phone_numbers
  for update to authenticated
  using (org_id = any (array(select private.org_ids_with_role('{admin}'))))
  with check (org_id = any (array(select private.org_ids_with_role('{admin}'))));

create policy phone_numbers_delete_policy on public.phone_numbers
  for delete to authenticated
  using (org_id = any (array(select private.org_ids_with_role('{admin}'))));
