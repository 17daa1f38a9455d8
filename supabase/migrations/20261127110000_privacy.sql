-- =============================================================================
-- Privacy requests: an admin exports everything held about a phone number
-- (public.export_phone_data) or erases a lead (public.erase_lead): the lead, its
-- conversations and campaign targets are deleted, its messages keep their counts but lose
-- their text and its number, its suppressions and consent events go, and the audit trail
-- keeps that the rows changed but not what they held. An opt-out survives erasure as a
-- keyed hash of the number (HMAC-SHA-256 under a key kept in Vault): a lead with that
-- number, written later by anyone (an import, a form, an inbound text), is suppressed again
-- at once, so a person who said STOP is never texted again. Each request is recorded in
-- public.privacy_requests, itself audited.
-- =============================================================================

-- -----------------------------------------------------------------------------
-- The key, and the hash of a number
-- -----------------------------------------------------------------------------

select vault.create_secret(encode(extensions.gen_random_bytes(32), 'hex'), 'privacy_hash_key',
  'HMAC key of the phone numbers of erased leads who had opted out (public.erase_lead)')
where not exists (select 1 from vault.secrets s where s.name = 'privacy_hash_key');

-- The keyed hash of an organization's number: without the key, a list of hashes says
-- nothing about the numbers behind them.
create function private.phone_digest(org uuid, phone text, key text) returns bytea
language sql
immutable
parallel safe
set search_path = ''
as $$
  select extensions.hmac(org::text || ':' || phone, key, 'sha256')
$$;
comment on function private.phone_digest(uuid, text, text) is
  'HMAC-SHA-256 of org:phone under the privacy key (private.privacy_key()).';
revoke all on function private.phone_digest(uuid, text, text) from public;

create function private.privacy_key() returns text
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  key text;
begin
  select s.decrypted_secret into key from vault.decrypted_secrets s
  where s.name = 'privacy_hash_key';
  if key is null then
    raise exception 'Vault has no privacy_hash_key: erased opt-outs cannot be checked'
      using errcode = '55000';
  end if;
  return key;
end;
$$;
comment on function private.privacy_key() is
  'The HMAC key of erased opt-outs, from Vault (privacy_hash_key); 55000 when missing.';
revoke all on function private.privacy_key() from public;

-- -----------------------------------------------------------------------------
-- Erased opt-outs, and their recall when the number comes back
-- -----------------------------------------------------------------------------

create table private.erased_opt_outs (
  org_id uuid not null references public.organizations (id) on delete cascade,
  phone_digest bytea not null,
  sources public.suppression_source[] not null,
  erased_at timestamptz not null default now(),
  primary key (org_id, phone_digest)
);
comment on table private.erased_opt_outs is
  'The suppressions of erased leads, as keyed hashes of their numbers: a lead written later
   with such a number is suppressed again (private.recall_erased_opt_outs).';

-- After leads are written: any whose number hashes to an erased opt-out of its
-- organization gets its suppression back (set-based; nothing is hashed for an organization
-- that never erased an opted-out lead).
create function private.recall_erased_opt_outs() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  key text;
begin
  -- (An erasure in progress removes the number itself.)
  if pg_catalog.current_setting('sct.erasing', true) = 'on' or not exists (
    select 1 from private.erased_opt_outs e
    where e.org_id in (select distinct n.org_id from new_rows n)
  ) then
    return null;
  end if;
  key := private.privacy_key();
  insert into public.suppressions (org_id, phone, source, reason)
  select distinct n.org_id, n.phone, source,
    format('suppressed (%s) before their data was erased on %s', source,
      to_char(e.erased_at at time zone 'UTC', 'YYYY-MM-DD'))
  from new_rows n
  join private.erased_opt_outs e
    on e.org_id = n.org_id and e.phone_digest = private.phone_digest(n.org_id, n.phone, key)
  cross join unnest(e.sources) as source
  where not n.suppressed
  on conflict (org_id, phone, source) where lifted_at is null do nothing;
  return null;
end;
$$;
comment on function private.recall_erased_opt_outs() is
  'Trigger (leads, after insert or update, per statement): suppresses again, with the same
   sources, the numbers of erased leads that were suppressed.';
revoke all on function private.recall_erased_opt_outs() from public;

create trigger leads_recall_erased_opt_outs_insert after insert on public.leads
  referencing new table as new_rows
  for each statement execute function private.recall_erased_opt_outs();
create trigger leads_recall_erased_opt_outs_update after update on public.leads
  referencing new table as new_rows
  for each statement execute function private.recall_erased_opt_outs();

-- -----------------------------------------------------------------------------
-- Requests, recorded (and audited)
-- -----------------------------------------------------------------------------

create table public.privacy_requests (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references public.organizations (id) on delete cascade,
  kind text not null constraint privacy_requests_kind_valid check (kind in ('export', 'erase')),
  -- The number, hashed: the record of an erasure keeps nothing of what it erased.
  phone_digest bytea not null,
  requested_by uuid references public.profiles (id) on delete set null,
  requested_at timestamptz not null default now(),
  reason text constraint privacy_requests_reason_length check (char_length(reason) <= 500),
  summary jsonb not null default '{}'
);
comment on table public.privacy_requests is
  'Exports and erasures of a person''s data, by whom and when, with what each covered; the
   number only as its keyed hash.';
create index privacy_requests_org_id_requested_at_idx
  on public.privacy_requests (org_id, requested_at desc);
create index privacy_requests_requested_by_idx on public.privacy_requests (requested_by);

alter table public.privacy_requests enable row level security;
create policy privacy_requests_select_policy on public.privacy_requests
  for select to authenticated
  using (org_id = any (array(select private.org_ids_with_role('{admin}'))));
revoke all on public.privacy_requests from anon, authenticated, service_role;
grant select on public.privacy_requests to authenticated, service_role;
select private.attach_audit('public.privacy_requests', 'id');

-- The admin's organization for a request about a number, and the number in E.164.
create function private.authorize_privacy_request(org uuid, phone text, out org_id uuid,
  out e164 text)
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  parsed record;
begin
  org_id := private.caller_org(org);
  if not private.has_role_on_org(org_id, '{admin}') then
    raise exception 'only an admin of the organization handles privacy requests'
      using errcode = '42501';
  end if;
  parsed := private.parse_phone(phone, private.org_default_country(org_id), true);
  if parsed.phone is null then
    raise exception 'phone: % is not a phone number (%)', coalesce(to_jsonb(phone)::text, 'null'),
      coalesce(parsed.problem, 'nothing given')
      using errcode = '22023', column = 'phone';
  end if;
  e164 := parsed.phone;
end;
$$;
comment on function private.authorize_privacy_request(uuid, text) is
  'The organization (the caller must be its admin: 42501) and the number in E.164 (22023
   when it is not one) of a privacy request.';
revoke all on function private.authorize_privacy_request(uuid, text) from public;
grant execute on function private.authorize_privacy_request(uuid, text) to authenticated;

-- -----------------------------------------------------------------------------
-- Export
-- -----------------------------------------------------------------------------

create function public.export_phone_data(phone text, org_id uuid default null) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  request record;
  lead_ids uuid[];
  suppression_ids uuid[];
  result jsonb;
begin
  request := private.authorize_privacy_request(export_phone_data.org_id, export_phone_data.phone);
  lead_ids := array(select l.id from public.leads l
    where l.org_id = request.org_id and l.phone = request.e164);
  suppression_ids := array(select s.id from public.suppressions s
    where s.org_id = request.org_id and s.phone = request.e164);
  result := jsonb_build_object(
    'phone', request.e164,
    'org_id', request.org_id,
    'exported_at', now(),
    'leads', coalesce((select jsonb_agg(to_jsonb(l) order by l.created_at)
      from public.leads l where l.id = any (lead_ids)), '[]'),
    'conversations', coalesce((select jsonb_agg(to_jsonb(c) order by c.created_at)
      from public.conversations c
      where c.org_id = request.org_id and c.lead_id = any (lead_ids)), '[]'),
    'messages', coalesce((select jsonb_agg(to_jsonb(m) order by m.created_at, m.id)
      from public.messages m
      where m.org_id = request.org_id and (m.lead_id = any (lead_ids)
        or (m.direction = 'outbound' and m.to_phone = request.e164)
        or (m.direction = 'inbound' and m.from_phone = request.e164))), '[]'),
    'consent_events', coalesce((select jsonb_agg(to_jsonb(e) order by e.occurred_at, e.id)
      from public.consent_events e
      where e.org_id = request.org_id and e.phone = request.e164), '[]'),
    'suppressions', coalesce((select jsonb_agg(to_jsonb(s) order by s.created_at)
      from public.suppressions s where s.id = any (suppression_ids)), '[]'),
    'campaign_targets', coalesce((select jsonb_agg(to_jsonb(t) - 'claim_token' order by t.id)
      from public.campaign_targets t
      where t.org_id = request.org_id and t.lead_id = any (lead_ids)), '[]'),
    'audit_log', coalesce((select jsonb_agg(to_jsonb(a) order by a.occurred_at, a.id)
      from public.audit_log a
      where a.org_id = request.org_id and (
        (a.table_name = 'leads' and a.row_id = any (lead_ids::text[]))
        or (a.table_name = 'suppressions' and a.row_id = any (suppression_ids::text[])))), '[]'));
  insert into public.privacy_requests (org_id, kind, phone_digest, requested_by, summary)
  values (request.org_id, 'export',
    private.phone_digest(request.org_id, request.e164, private.privacy_key()), auth.uid(),
    jsonb_build_object('leads', jsonb_array_length(result -> 'leads'),
      'messages', jsonb_array_length(result -> 'messages'),
      'consent_events', jsonb_array_length(result -> 'consent_events'),
      'suppressions', jsonb_array_length(result -> 'suppressions'),
      'audit_log', jsonb_array_length(result -> 'audit_log')));
  return result;
end;
$$;
comment on function public.export_phone_data(text, uuid) is
  'For an organization''s admin: everything held about a phone number as JSON (leads,
   conversations, messages, consent events, suppressions, campaign targets, audit entries
   of its leads and suppressions); recorded in privacy_requests.';
revoke all on function public.export_phone_data(text, uuid) from public, anon;
grant execute on function public.export_phone_data(text, uuid) to authenticated;

-- -----------------------------------------------------------------------------
-- Erasure
-- -----------------------------------------------------------------------------

-- A message of an erased lead keeps its place in the counts, without its text or number.
alter table public.messages add column erased_at timestamptz;
comment on column public.messages.erased_at is
  'When the lead''s data was erased (public.erase_lead): the text and the lead''s number are
   gone, the counts stay.';
alter table public.messages alter column from_phone drop not null;
alter table public.messages alter column to_phone drop not null;
alter table public.messages add constraint messages_phones_present
  check (erased_at is not null or (from_phone is not null and to_phone is not null));

-- What erasure may change in the append-only records (only while public.erase_lead runs).
create or replace function private.refuse_consent_event_change() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if tg_op = 'DELETE' and (pg_catalog.pg_trigger_depth() > 1
    or pg_catalog.current_setting('sct.erasing', true) = 'on') then
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

create or replace function private.refuse_suppression_delete() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  -- Deleting the organization cascades here (trigger depth > 1); an erasure removes the
  -- erased person's (public.erase_lead keeps them as a keyed hash); anything else is refused.
  if pg_catalog.pg_trigger_depth() > 1
    or pg_catalog.current_setting('sct.erasing', true) = 'on' then
    return old;
  end if;
  raise exception 'suppressions are lifted, never deleted'
    using errcode = '42501', hint = 'Set lifted_at with a lift_reason instead.';
end;
$$;

create or replace function private.refuse_audit_log_change() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  -- An erasure blanks what erased rows held (public.erase_lead); the entries stay.
  if tg_op = 'UPDATE' and pg_catalog.current_setting('sct.erasing', true) = 'on'
    and (to_jsonb(new) - '{before,after}'::text[]) = (to_jsonb(old) - '{before,after}'::text[])
  then
    return new;
  end if;
  raise exception 'the audit log is append-only: % is not allowed', lower(tg_op)
    using errcode = '42501';
end;
$$;

-- Erases a lead: see the top of this file. Returns what was erased.
create function public.erase_lead(lead_id uuid, reason text default null) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  lead public.leads;
  sources public.suppression_source[];
  suppression_ids uuid[];
  erased jsonb;
  n_messages integer;
  n_consent integer;
  n_suppressions integer;
  n_audit integer;
  blank constant jsonb := '{"erased": true}'::jsonb;
begin
  select * into lead from public.leads l where l.id = erase_lead.lead_id;
  if lead.id is null or not private.has_role_on_org(lead.org_id) then
    raise exception 'lead % not found', erase_lead.lead_id using errcode = 'P0002';
  end if;
  perform private.authorize_privacy_request(lead.org_id, lead.phone);
  select * into lead from public.leads l where l.id = erase_lead.lead_id for update;

  -- The opt-out that must outlive the data: every active suppression of the number.
  perform pg_catalog.pg_advisory_xact_lock(private.suppression_lock_key(lead.org_id));
  sources := array(select distinct s.source from public.suppressions s
    where s.org_id = lead.org_id and s.phone = lead.phone and s.lifted_at is null);
  suppression_ids := array(select s.id from public.suppressions s
    where s.org_id = lead.org_id and s.phone = lead.phone);
  if cardinality(sources) > 0 then
    insert into private.erased_opt_outs as e (org_id, phone_digest, sources)
    values (lead.org_id, private.phone_digest(lead.org_id, lead.phone, private.privacy_key()),
      sources)
    on conflict (org_id, phone_digest) do update
    set sources = array(select distinct x from unnest(e.sources || excluded.sources) x),
        erased_at = now();
  end if;

  perform pg_catalog.set_config('sct.erasing', 'on', true);
  -- Messages keep their counts, not their text nor the lead's number.
  update public.messages m
  set body = null, auto_reply = null, error_message = null, erased_at = now(),
      to_phone = case when m.direction = 'outbound' then null else m.to_phone end,
      from_phone = case when m.direction = 'inbound' then null else m.from_phone end
  where m.org_id = lead.org_id and (m.lead_id = lead.id
    or (m.direction = 'outbound' and m.to_phone = lead.phone)
    or (m.direction = 'inbound' and m.from_phone = lead.phone));
  get diagnostics n_messages = row_count;
  delete from public.consent_events e where e.org_id = lead.org_id and e.phone = lead.phone;
  get diagnostics n_consent = row_count;
  delete from public.suppressions s where s.org_id = lead.org_id and s.phone = lead.phone;
  get diagnostics n_suppressions = row_count;
  -- Its conversations and campaign targets go with it (their foreign keys cascade).
  delete from public.leads l where l.id = lead.id;
  -- The audit trail keeps each entry, not what the rows held.
  update public.audit_log a set before = case when a.before is null then null else blank end,
    after = case when a.after is null then null else blank end
  where a.org_id = lead.org_id and (
    (a.table_name = 'leads' and a.row_id = lead.id::text)
    or (a.table_name = 'suppressions' and a.row_id = any (suppression_ids::text[])));
  get diagnostics n_audit = row_count;
  perform pg_catalog.set_config('sct.erasing', '', true);

  erased := jsonb_build_object('lead_id', lead.id, 'messages', n_messages,
    'consent_events', n_consent, 'suppressions', n_suppressions, 'audit_entries', n_audit,
    'opt_out_kept', cardinality(sources) > 0);
  insert into public.privacy_requests (org_id, kind, phone_digest, requested_by, reason,
    summary)
  values (lead.org_id, 'erase',
    private.phone_digest(lead.org_id, lead.phone, private.privacy_key()), auth.uid(),
    nullif(btrim(erase_lead.reason), ''), erased);
  return erased;
end;
$$;
comment on function public.erase_lead(uuid, text) is
  'For an organization''s admin: erases a lead (deleted with its conversations and
   targets; its messages without text or number; its suppressions, consent events and
   the content of its audit entries removed), keeping an opt-out as a keyed hash so the
   number is suppressed again if it ever comes back; recorded in privacy_requests.';
revoke all on function public.erase_lead(uuid, text) from public, anon;
grant execute on function public.erase_lead(uuid, text) to authenticated;
