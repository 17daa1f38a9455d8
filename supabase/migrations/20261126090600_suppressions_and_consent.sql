-- =============================================================================
-- Suppressions and the consent ledger. A suppression keeps a number from ever being
-- texted by the organization; it is lifted (never deleted) with a reason, and one
-- created by the recipient's own opt-out can only be lifted by the recipient's
-- opt-in, which the system records. The consent ledger is the append-only history
-- of consent captured and revoked, with the words that did it.
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Types
-- -----------------------------------------------------------------------------

create type public.suppression_source as enum ('recipient_stop', 'manual', 'dnc', 'carrier', 'invalid');
comment on type public.suppression_source is
  'recipient_stop: the recipient opted out; manual: a member added it; dnc: a Do-Not-Call list;
   carrier: the carrier reported the number unreachable or opted out; invalid: not textable.';

create type public.consent_kind as enum ('captured', 'revoked');
comment on type public.consent_kind is 'Whether a consent event gave or took away consent.';

create type public.consent_channel as enum ('sms', 'web_form', 'import', 'manual', 'phone_call', 'other');
comment on type public.consent_channel is 'How a consent event reached us.';

-- -----------------------------------------------------------------------------
-- Tables
-- -----------------------------------------------------------------------------

create table public.suppressions (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references public.organizations (id) on delete cascade,
  phone text not null
    constraint suppressions_phone_e164 check (phone ~ '^\+[1-9][0-9]{7,14}$'),
  source public.suppression_source not null,
  reason text constraint suppressions_reason_length check (char_length(reason) <= 500),
  created_by uuid references public.profiles (id) on delete set null,
  created_at timestamptz not null default now(),
  lifted_at timestamptz,
  lifted_by uuid references public.profiles (id) on delete set null,
  lift_reason text constraint suppressions_lift_reason_length
    check (char_length(lift_reason) <= 500),
  updated_at timestamptz not null default now(),
  constraint suppressions_lift_has_reason check (lifted_at is null or lift_reason is not null)
);
comment on table public.suppressions is
  'Numbers the organization must not text. Active while lifted_at is null; lifted, never deleted.';
comment on column public.suppressions.lift_reason is 'Why it was lifted (required to lift).';

create unique index suppressions_org_id_phone_source_active_key
  on public.suppressions (org_id, phone, source) where lifted_at is null;
create index suppressions_org_id_phone_idx on public.suppressions (org_id, phone);
create index suppressions_org_id_created_at_idx on public.suppressions (org_id, created_at desc);
create index suppressions_created_by_idx on public.suppressions (created_by);
create index suppressions_lifted_by_idx on public.suppressions (lifted_by);

create table public.consent_events (
  id bigint generated always as identity primary key,
  org_id uuid not null references public.organizations (id) on delete cascade,
  lead_id uuid,
  phone text not null
    constraint consent_events_phone_e164 check (phone ~ '^\+[1-9][0-9]{7,14}$'),
  kind public.consent_kind not null,
  channel public.consent_channel not null,
  raw_text text constraint consent_events_raw_text_length check (char_length(raw_text) <= 2000),
  source text constraint consent_events_source_length check (char_length(source) <= 300),
  recorded_by uuid references public.profiles (id) on delete set null,
  occurred_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  constraint consent_events_lead_fkey foreign key (org_id, lead_id)
    references public.leads (org_id, id) on delete set null (lead_id)
);
comment on table public.consent_events is
  'Append-only ledger of consent captured and revoked per number, with the words that did it.';
comment on column public.consent_events.raw_text is
  'The recipient''s own words (STOP, START…) or the consent language they agreed to.';
comment on column public.consent_events.source is 'Where it happened: form URL, import, message SID…';

create index consent_events_org_id_phone_occurred_at_idx
  on public.consent_events (org_id, phone, occurred_at desc);
create index consent_events_org_id_lead_id_idx on public.consent_events (org_id, lead_id);
create index consent_events_recorded_by_idx on public.consent_events (recorded_by);

-- -----------------------------------------------------------------------------
-- Grants
-- -----------------------------------------------------------------------------

revoke all on public.suppressions, public.consent_events from anon, authenticated, service_role;

-- Members add suppressions (RLS: not viewers; only manual and dnc); admins lift manual ones.
grant select on public.suppressions to authenticated;
grant insert (org_id, phone, source, reason) on public.suppressions to authenticated;
grant update (lifted_at, lift_reason) on public.suppressions to authenticated;

-- Admins and campaign managers record consent; nobody edits the ledger.
grant select on public.consent_events to authenticated;
grant insert (org_id, lead_id, phone, kind, channel, raw_text, source, occurred_at)
  on public.consent_events to authenticated;

grant select, insert, update on public.suppressions to service_role;
grant select, insert on public.consent_events to service_role;

-- -----------------------------------------------------------------------------
-- Triggers
-- -----------------------------------------------------------------------------

create trigger suppressions_set_updated_at before update on public.suppressions
  for each row execute function private.set_updated_at();

create function private.prepare_suppression() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  -- A user's account deleted: its foreign keys null created_by and lifted_by, nothing else.
  if tg_op = 'UPDATE' and pg_catalog.pg_trigger_depth() > 1
    and (to_jsonb(new) - '{created_by,lifted_by,updated_at}'::text[])
      = (to_jsonb(old) - '{created_by,lifted_by,updated_at}'::text[]) then
    return new;
  end if;
  -- Ordered against lead writes of the organization (see private.prepare_lead).
  perform pg_catalog.pg_advisory_xact_lock(private.suppression_lock_key(new.org_id));
  if tg_op = 'INSERT' then
    new.phone := private.normalize_phone(
      new.phone, private.org_default_country(new.org_id), 'suppressions.phone', true);
    new.created_by := (select auth.uid());
    new.reason := nullif(btrim(new.reason), '');
    if new.lifted_at is not null then
      raise exception 'a suppression cannot be created lifted' using errcode = '22023';
    end if;
    return new;
  end if;

  if new.org_id <> old.org_id or new.phone <> old.phone or new.source <> old.source
    or new.created_at <> old.created_at or new.created_by is distinct from old.created_by
    or new.reason is distinct from old.reason then
    raise exception 'a suppression cannot be changed, only lifted' using errcode = '42501';
  end if;
  if old.lifted_at is not null then
    raise exception 'this suppression was already lifted on %', old.lifted_at
      using errcode = '42501';
  end if;
  if new.lifted_at is null then
    new.lift_reason := old.lift_reason;
    return new;
  end if;
  new.lift_reason := nullif(btrim(new.lift_reason), '');
  if new.lift_reason is null or char_length(new.lift_reason) < 3 then
    raise exception 'suppressions.lift_reason: say why the suppression is lifted'
      using errcode = '22023', column = 'lift_reason', table = 'suppressions';
  end if;
  -- Only the recipient's own opt-in, recorded by the system, lifts their opt-out.
  if old.source = 'recipient_stop' and current_user in ('authenticated', 'anon', 'service_role') then
    raise exception 'an opt-out by the recipient can only be lifted by the recipient''s opt-in'
      using errcode = '42501', hint = 'The recipient can text START to opt back in.';
  end if;
  new.lifted_at := now();
  new.lifted_by := (select auth.uid());
  return new;
end;
$$;
comment on function private.prepare_suppression() is
  'Normalises new suppressions; lets an existing one only be lifted, once, with a reason,
   and a recipient_stop only by the system.';

create trigger suppressions_prepare before insert or update on public.suppressions
  for each row execute function private.prepare_suppression();

create function private.refuse_suppression_delete() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  -- Deleting the organization cascades here (trigger depth > 1); anything else is refused.
  if pg_catalog.pg_trigger_depth() > 1 then
    return old;
  end if;
  raise exception 'suppressions are lifted, never deleted'
    using errcode = '42501', hint = 'Set lifted_at with a lift_reason instead.';
end;
$$;
comment on function private.refuse_suppression_delete() is
  'Keeps every suppression as evidence: lifting replaces deleting.';

create trigger suppressions_refuse_delete before delete on public.suppressions
  for each row execute function private.refuse_suppression_delete();

-- Leads follow their number's suppressions, set-based.
create function private.sync_leads_suppressed() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  update public.leads l
  set suppressed = exists (
    select 1 from public.suppressions s
    where s.org_id = l.org_id and s.phone = l.phone and s.lifted_at is null
  )
  from (select distinct c.org_id, c.phone from changed_rows c) c
  where l.org_id = c.org_id and l.phone = c.phone
    and l.suppressed is distinct from exists (
      select 1 from public.suppressions s
      where s.org_id = l.org_id and s.phone = l.phone and s.lifted_at is null
    );
  return null;
end;
$$;
comment on function private.sync_leads_suppressed() is
  'Recomputes leads.suppressed for the numbers whose suppressions changed.';

create trigger suppressions_sync_leads_on_insert after insert on public.suppressions
  referencing new table as changed_rows
  for each statement execute function private.sync_leads_suppressed();
create trigger suppressions_sync_leads_on_update after update on public.suppressions
  referencing new table as changed_rows
  for each statement execute function private.sync_leads_suppressed();

select private.attach_audit('public.suppressions', 'id');

create function private.prepare_consent_event() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.phone := private.normalize_phone(new.phone,
    case when new.phone like '+%' then 'US' else private.org_default_country(new.org_id) end,
    'consent_events.phone', true);
  new.recorded_by := auth.uid();
  if new.occurred_at > now() + interval '5 minutes' then
    raise exception 'consent_events.occurred_at: % is in the future', new.occurred_at
      using errcode = '22023', column = 'occurred_at', table = 'consent_events';
  end if;
  return new;
end;
$$;
comment on function private.prepare_consent_event() is
  'Normalises the number of a consent event and records who entered it.';

create trigger consent_events_prepare before insert on public.consent_events
  for each row execute function private.prepare_consent_event();

create function private.refuse_consent_event_change() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if tg_op = 'DELETE' and pg_catalog.pg_trigger_depth() > 1 then
    return old;
  end if;
  -- Deleting a lead or a user's account nulls lead_id or recorded_by through their foreign
  -- keys: the event itself stays.
  if tg_op = 'UPDATE' and pg_catalog.pg_trigger_depth() > 1
    and (to_jsonb(new) - '{lead_id,recorded_by}'::text[])
      = (to_jsonb(old) - '{lead_id,recorded_by}'::text[]) then
    return new;
  end if;
  raise exception 'the consent ledger is append-only: % is not allowed', lower(tg_op)
    using errcode = '42501';
end;
$$;
comment on function private.refuse_consent_event_change() is
  'Keeps the consent ledger append-only (cascades from deleted leads, users and organizations
   aside).';

create trigger consent_events_append_only before update or delete on public.consent_events
  for each row execute function private.refuse_consent_event_change();
create trigger consent_events_no_truncate before truncate on public.consent_events
  for each statement execute function private.refuse_audit_log_change();

-- Consent that arrives with a lead (a form, an import) goes into the ledger too.
create function private.record_lead_consent() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.consent_events
    (org_id, lead_id, phone, kind, channel, raw_text, source, occurred_at)
  select n.org_id, n.id, n.phone, 'captured',
    case when n.import_id is null then 'manual' else 'import' end::public.consent_channel,
    n.consent_evidence, n.consent_source, least(coalesce(n.consent_captured_at, now()), now())
  from new_rows n
  where n.consent_source is not null or n.consent_captured_at is not null
    or n.consent_evidence is not null;
  return null;
end;
$$;
comment on function private.record_lead_consent() is
  'Adds a consent-captured ledger entry for each new lead that carries consent.';

create trigger leads_record_consent after insert on public.leads
  referencing new table as new_rows
  for each statement execute function private.record_lead_consent();

revoke all on function private.prepare_suppression() from public;
revoke all on function private.refuse_suppression_delete() from public;
revoke all on function private.sync_leads_suppressed() from public;
revoke all on function private.prepare_consent_event() from public;
revoke all on function private.refuse_consent_event_change() from public;
revoke all on function private.record_lead_consent() from public;

-- -----------------------------------------------------------------------------
-- Enable RLS and policies
-- -----------------------------------------------------------------------------

alter table public.suppressions enable row level security;
alter table public.consent_events enable row level security;

create policy suppressions_select_policy on public.suppressions
  for select to authenticated
  using (org_id = any (array(select private.org_ids_with_role())));

create policy suppressions_insert_policy on public.suppressions
  for insert to authenticated
  with check (
    org_id = any (array(select private.org_ids_with_role('{admin,campaign_manager,operator}')))
    and source in ('manual', 'dnc')
  );

-- Admins lift manual suppressions only.
create policy suppressions_update_policy on public.suppressions
  for update to authenticated
  using (
    org_id = any (array(select private.org_ids_with_role('{admin}')))
    and source = 'manual'
  )
  with check (org_id = any (array(select private.org_ids_with_role('{admin}'))));

create policy consent_events_select_policy on public.consent_events
  for select to authenticated
  using (org_id = any (array(select private.org_ids_with_role())));

create policy consent_events_insert_policy on public.consent_events
  for insert to authenticated
  with check (org_id = any (array(select private.org_ids_with_role('{admin,campaign_manager}'))));

-- -----------------------------------------------------------------------------
-- RPCs
-- -----------------------------------------------------------------------------

create function public.lift_suppression(suppression_id uuid, reason text)
returns public.suppressions
language plpgsql
set search_path = ''
as $$
declare
  lifted public.suppressions;
begin
  update public.suppressions s
  set lifted_at = now(), lift_reason = lift_suppression.reason
  where s.id = suppression_id and s.lifted_at is null
  returning * into lifted;
  if lifted.id is null then
    raise exception 'no active manual suppression % that you may lift', suppression_id
      using errcode = 'PT404',
        hint = 'Admins lift manual suppressions; recipient opt-outs end only with their opt-in.';
  end if;
  return lifted;
end;
$$;
comment on function public.lift_suppression(uuid, text) is
  'Lifts a manual suppression with a reason (admins; runs under the caller''s RLS).';

revoke all on function public.lift_suppression(uuid, text) from public, anon;
grant execute on function public.lift_suppression(uuid, text) to authenticated, service_role;
