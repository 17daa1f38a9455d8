-- =============================================================================
-- Leads and the imports they come from. A lead is one phone number per
-- organization, stored in E.164, with its US state, ZIP, the IANA time zones its
-- ZIP and its area code point to (both kept: the sender needs the window to be open
-- in each), tags, custom fields, a pipeline status and the consent it was
-- collected with. Triggers normalise and validate every write, with messages that
-- name the field; the suppression flag is kept true by the database.
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Types
-- -----------------------------------------------------------------------------

create type public.lead_status as enum (
  'new', 'contacted', 'replied', 'interested', 'not_interested', 'converted', 'invalid'
);
comment on type public.lead_status is
  'Where a lead stands; invalid: the number cannot receive texts (never targeted).';

create type public.import_status as enum ('staged', 'executing', 'completed', 'failed');
comment on type public.import_status is
  'staged: uploaded and previewed; executing: rows being committed; then completed or failed.';

-- -----------------------------------------------------------------------------
-- Tables
-- -----------------------------------------------------------------------------

create table private.us_states (
  code text primary key constraint us_states_code_format check (code ~ '^[A-Z]{2}$'),
  name text not null unique
);
comment on table private.us_states is
  'USPS two-letter codes of the states, DC, territories and military addresses (Publication 28).';

insert into private.us_states (code, name) values
  ('AL', 'Alabama'), ('AK', 'Alaska'), ('AZ', 'Arizona'), ('AR', 'Arkansas'),
  ('CA', 'California'), ('CO', 'Colorado'), ('CT', 'Connecticut'), ('DE', 'Delaware'),
  ('DC', 'District of Columbia'), ('FL', 'Florida'), ('GA', 'Georgia'), ('HI', 'Hawaii'),
  ('ID', 'Idaho'), ('IL', 'Illinois'), ('IN', 'Indiana'), ('IA', 'Iowa'), ('KS', 'Kansas'),
  ('KY', 'Kentucky'), ('LA', 'Louisiana'), ('ME', 'Maine'), ('MD', 'Maryland'),
  ('MA', 'Massachusetts'), ('MI', 'Michigan'), ('MN', 'Minnesota'), ('MS', 'Mississippi'),
  ('MO', 'Missouri'), ('MT', 'Montana'), ('NE', 'Nebraska'), ('NV', 'Nevada'),
  ('NH', 'New Hampshire'), ('NJ', 'New Jersey'), ('NM', 'New Mexico'), ('NY', 'New York'),
  ('NC', 'North Carolina'), ('ND', 'North Dakota'), ('OH', 'Ohio'), ('OK', 'Oklahoma'),
  ('OR', 'Oregon'), ('PA', 'Pennsylvania'), ('RI', 'Rhode Island'),
  ('SC', 'South Carolina'), ('SD', 'South Dakota'), ('TN', 'Tennessee'), ('TX', 'Texas'),
  ('UT', 'Utah'), ('VT', 'Vermont'), ('VA', 'Virginia'), ('WA', 'Washington'),
  ('WV', 'West Virginia'), ('WI', 'Wisconsin'), ('WY', 'Wyoming'),
  ('AS', 'American Samoa'), ('GU', 'Guam'), ('MP', 'Northern Mariana Islands'),
  ('PR', 'Puerto Rico'), ('VI', 'U.S. Virgin Islands'), ('UM', 'U.S. Minor Outlying Islands'),
  ('AA', 'Armed Forces Americas'), ('AE', 'Armed Forces Europe'),
  ('AP', 'Armed Forces Pacific');

revoke all on private.us_states from anon, authenticated, service_role;
grant select on private.us_states to authenticated, service_role, sms_system;

create table public.lead_imports (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references public.organizations (id) on delete cascade,
  file_name text not null constraint lead_imports_file_name_length
    check (char_length(file_name) between 1 and 255),
  status public.import_status not null default 'staged',
  row_count integer not null default 0 constraint lead_imports_row_count_nonnegative
    check (row_count >= 0),
  inserted integer not null default 0 constraint lead_imports_inserted_nonnegative
    check (inserted >= 0),
  updated integer not null default 0 constraint lead_imports_updated_nonnegative
    check (updated >= 0),
  duplicates integer not null default 0 constraint lead_imports_duplicates_nonnegative
    check (duplicates >= 0),
  invalid integer not null default 0 constraint lead_imports_invalid_nonnegative
    check (invalid >= 0),
  suppressed integer not null default 0 constraint lead_imports_suppressed_nonnegative
    check (suppressed >= 0),
  mapping jsonb constraint lead_imports_mapping_object
    check (mapping is null or jsonb_typeof(mapping) = 'object'),
  error text,
  created_by uuid references public.profiles (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  completed_at timestamptz,
  constraint lead_imports_org_id_id_key unique (org_id, id)
);
comment on table public.lead_imports is
  'An uploaded lead list: its status and counters, which the frontend watches as it runs.';
comment on column public.lead_imports.mapping is
  'Our field → the file''s column, as applied when the import ran.';

create index lead_imports_org_id_created_at_idx on public.lead_imports (org_id, created_at desc);
create index lead_imports_created_by_idx on public.lead_imports (created_by);

create table public.leads (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references public.organizations (id) on delete cascade,
  phone text not null constraint leads_phone_e164 check (phone ~ '^\+[1-9][0-9]{7,14}$'),
  first_name text constraint leads_first_name_length check (char_length(first_name) <= 100),
  last_name text constraint leads_last_name_length check (char_length(last_name) <= 100),
  email text constraint leads_email_format
    check (char_length(email) <= 320 and email ~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$'),
  address text constraint leads_address_length check (char_length(address) <= 300),
  city text constraint leads_city_length check (char_length(city) <= 100),
  state text constraint leads_state_fkey references private.us_states (code),
  zip text constraint leads_zip_format check (zip ~ '^[0-9]{5}(-[0-9]{4})?$'),
  time_zone text,
  zip_time_zone text,
  phone_time_zone text,
  tags text[] not null default '{}'
    constraint leads_tags_limits check (cardinality(tags) <= 50),
  custom_fields jsonb not null default '{}'
    constraint leads_custom_fields_object
      check (jsonb_typeof(custom_fields) = 'object' and pg_column_size(custom_fields) <= 16384),
  -- text checked against the enum, not the enum itself: text equality is leakproof, so a
  -- filter on status can use leads_org_id_status_created_at_idx under RLS (enum equality
  -- cannot, and listing by status would walk every lead of the organization).
  status text not null default 'new'
    constraint leads_status_valid check (status::public.lead_status is not null),
  notes text constraint leads_notes_length check (char_length(notes) <= 10000),
  suppressed boolean not null default false,
  consent_source text constraint leads_consent_source_length
    check (char_length(consent_source) <= 200),
  consent_captured_at timestamptz,
  consent_evidence text constraint leads_consent_evidence_length
    check (char_length(consent_evidence) <= 2000),
  import_id uuid,
  phone_number_id uuid,
  created_by uuid references public.profiles (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint leads_org_id_id_key unique (org_id, id),
  constraint leads_org_id_phone_key unique (org_id, phone),
  constraint leads_import_fkey foreign key (org_id, import_id)
    references public.lead_imports (org_id, id) on delete set null (import_id),
  constraint leads_phone_number_fkey foreign key (org_id, phone_number_id)
    references public.phone_numbers (org_id, id) on delete set null (phone_number_id)
);
comment on table public.leads is 'A person the organization may text: one per phone number.';
comment on column public.leads.phone is 'E.164, normalised on every write; unique per organization.';
comment on column public.leads.state is 'USPS code; full state names are accepted and converted.';
comment on column public.leads.time_zone is
  'IANA zone used for quiet hours: the ZIP''s when known, else the area code''s.';
comment on column public.leads.zip_time_zone is 'IANA zone of the ZIP code (derived).';
comment on column public.leads.phone_time_zone is 'IANA zone of the phone''s area code (derived).';
comment on column public.leads.tags is 'Lower-case, trimmed, distinct, sorted; at most 50.';
comment on column public.leads.suppressed is
  'True while an active suppression covers the phone; kept by triggers, never by users.';
comment on column public.leads.consent_source is
  'Where consent to text was captured (web form URL, open house sign-in, …).';
comment on column public.leads.consent_evidence is 'What proves the consent (form text, IP, …).';
comment on column public.leads.phone_number_id is
  'Sticky sending number: the lead keeps hearing from the same number.';

create index leads_org_id_created_at_idx on public.leads (org_id, created_at desc);
create index leads_org_id_status_created_at_idx on public.leads (org_id, status, created_at desc);
create index leads_org_id_import_id_idx on public.leads (org_id, import_id);
create index leads_org_id_phone_number_id_idx on public.leads (org_id, phone_number_id);
create index leads_org_id_state_idx on public.leads (org_id, state);
create index leads_tags_idx on public.leads using gin (tags);
create index leads_created_by_idx on public.leads (created_by);

-- -----------------------------------------------------------------------------
-- Grants: members read; admins and campaign managers write; operators may change
-- notes, status and tags only (a trigger holds them to it, since column grants
-- cannot differ by role). Derived columns are the database's own.
-- -----------------------------------------------------------------------------

revoke all on public.lead_imports, public.leads from anon, authenticated, service_role;

grant select, delete on public.lead_imports to authenticated;
grant insert (org_id, file_name, mapping) on public.lead_imports to authenticated;
grant update (
  file_name, status, row_count, inserted, updated, duplicates, invalid, suppressed, mapping,
  error, completed_at
) on public.lead_imports to authenticated;

grant select, delete on public.leads to authenticated;
grant insert (
  org_id, phone, first_name, last_name, email, address, city, state, zip, tags, custom_fields,
  status, notes, consent_source, consent_captured_at, consent_evidence, import_id,
  phone_number_id
) on public.leads to authenticated;
grant update (
  phone, first_name, last_name, email, address, city, state, zip, tags, custom_fields, status,
  notes, consent_source, consent_captured_at, consent_evidence, import_id, phone_number_id
) on public.leads to authenticated;

grant select, insert, update, delete on public.lead_imports, public.leads to service_role;

-- -----------------------------------------------------------------------------
-- Triggers
-- -----------------------------------------------------------------------------

create trigger lead_imports_set_updated_at before update on public.lead_imports
  for each row execute function private.set_updated_at();
create trigger leads_set_updated_at before update on public.leads
  for each row execute function private.set_updated_at();

-- The advisory lock that orders lead writes and suppression changes of one organization.
create function private.suppression_lock_key(org uuid) returns bigint
language sql
immutable
parallel safe
set search_path = ''
as $$
  select pg_catalog.hashtextextended('suppressions:' || org::text, 0);
$$;
comment on function private.suppression_lock_key(uuid) is
  'Advisory lock key: lead writes share it, suppression changes take it exclusively, so a
   lead and a suppression of the same number never miss each other.';
revoke all on function private.suppression_lock_key(uuid) from public;
grant execute on function private.suppression_lock_key(uuid) to authenticated, service_role, sms_system;

-- Normalises what people type, validates with messages naming the field, derives the
-- time zones and the suppression flag.
create function private.prepare_lead() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  state_input text := nullif(btrim(new.state), '');
  state_code text;
begin
  if tg_op = 'INSERT' or new.phone is distinct from old.phone then
    new.phone := private.normalize_phone(
      new.phone, private.org_default_country(new.org_id), 'leads.phone');
    -- Serialises with suppressions of this organization (which take the lock exclusively):
    -- a STOP committed while this lead is being written is seen below, or sees the lead.
    perform pg_catalog.pg_advisory_xact_lock_shared(private.suppression_lock_key(new.org_id));
  end if;

  new.zip := nullif(btrim(new.zip), '');
  if new.zip ~ '^[0-9]{9}$' then
    new.zip := left(new.zip, 5) || '-' || right(new.zip, 4);
  end if;
  if new.zip !~ '^[0-9]{5}(-[0-9]{4})?$' then
    raise exception 'leads.zip: "%" is not a ZIP code', left(new.zip, 20)
      using errcode = '22023', column = 'zip', table = 'leads',
        hint = 'Use 5 digits (02134) or ZIP+4 (02134-1234).';
  end if;

  -- The time zones follow the ZIP and the phone. (Called as plain expressions: inside a
  -- query, a SQL function would be planned again for every row.)
  if tg_op = 'INSERT' or new.zip is distinct from old.zip or new.phone is distinct from old.phone
  then
    new.zip_time_zone := private.time_zone_for_zip(new.zip);
    new.phone_time_zone := private.time_zone_for_phone(new.phone);
  else
    new.zip_time_zone := old.zip_time_zone;
    new.phone_time_zone := old.phone_time_zone;
  end if;
  new.time_zone := coalesce(new.zip_time_zone, new.phone_time_zone);
  if tg_op = 'UPDATE' and new.state is not distinct from old.state then
    state_input := null;
    state_code := old.state;
  end if;

  -- One statement for the lookups: whatever was supplied, the suppression flag is the
  -- truth about the number.
  select
    exists (
      select 1 from public.suppressions s
      where s.org_id = new.org_id and s.phone = new.phone and s.lifted_at is null
    ),
    case when state_input is not null then (
      select u.code from private.us_states u
      where u.code = upper(state_input) or lower(u.name) = lower(state_input)
    ) else state_code end,
    case when new.tags is null or new.tags = '{}' then '{}'::text[]
      when tg_op = 'UPDATE' and new.tags = old.tags then old.tags
      else coalesce(array(
      select distinct lower(btrim(t)) from unnest(new.tags) t
      where t is not null and btrim(t) <> '' order by 1
    ), '{}') end
  into new.suppressed, state_code, new.tags;

  if state_input is not null and state_code is null then
    raise exception 'leads.state: "%" is not a US state, territory or military code',
      left(state_input, 40)
      using errcode = '22023', column = 'state', table = 'leads',
        hint = 'Use the two-letter USPS code (CA) or the full name (California).';
  end if;
  new.state := state_code;

  if exists (select 1 from unnest(new.tags) t where char_length(t) > 64) then
    raise exception 'leads.tags: a tag is longer than 64 characters'
      using errcode = '22023', column = 'tags', table = 'leads';
  end if;

  new.first_name := nullif(btrim(new.first_name), '');
  new.last_name := nullif(btrim(new.last_name), '');
  new.address := nullif(btrim(new.address), '');
  new.city := nullif(btrim(new.city), '');
  new.notes := nullif(btrim(new.notes), '');
  new.email := nullif(btrim(new.email), '');
  if new.email !~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$' then
    raise exception 'leads.email: "%" is not an email address', left(new.email, 60)
      using errcode = '22023', column = 'email', table = 'leads';
  end if;

  if tg_op = 'INSERT' then
    new.created_by := auth.uid();
  end if;
  return new;
end;
$$;
comment on function private.prepare_lead() is
  'Normalises and validates a lead (phone, email, state, ZIP, tags) and derives its time zones
   and suppression flag.';

create trigger leads_prepare before insert or update on public.leads
  for each row execute function private.prepare_lead();

-- Operators may change a lead's notes, status and tags, nothing else.
create function private.guard_operator_lead_update() returns trigger
language plpgsql
set search_path = ''
as $$
declare
  changed text[];
begin
  -- Two checks, not one expression: other roles may not execute has_role_on_org.
  if current_user <> 'authenticated' then
    return new;
  end if;
  if private.has_role_on_org(new.org_id, '{admin,campaign_manager}') then
    return new;
  end if;
  select array_agg(n.key order by n.key) into changed
  from jsonb_each(to_jsonb(new)) n
  where n.key not in ('notes', 'status', 'tags', 'updated_at', 'suppressed')
    and n.value is distinct from to_jsonb(old) -> n.key;
  if changed is not null then
    raise exception 'operators may change only notes, status and tags of a lead, not %',
      array_to_string(changed, ', ')
      using errcode = '42501';
  end if;
  return new;
end;
$$;
comment on function private.guard_operator_lead_update() is
  'Holds operators to the columns they may edit (notes, status, tags).';

create trigger leads_guard_operator_update after update on public.leads
  for each row execute function private.guard_operator_lead_update();

create function private.stamp_created_by() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.created_by := (select auth.uid());
  return new;
end;
$$;
comment on function private.stamp_created_by() is
  'Records the signed-in user who created a row (null for system work).';

create trigger lead_imports_stamp_created_by before insert on public.lead_imports
  for each row execute function private.stamp_created_by();

revoke all on function private.prepare_lead() from public;
revoke all on function private.guard_operator_lead_update() from public;
revoke all on function private.stamp_created_by() from public;

select private.attach_audit('public.leads', 'id');

-- -----------------------------------------------------------------------------
-- Enable RLS and policies
-- -----------------------------------------------------------------------------

alter table public.lead_imports enable row level security;
alter table public.leads enable row level security;

create policy lead_imports_select_policy on public.lead_imports
  for select to authenticated
  using (org_id = any (array(select private.org_ids_with_role())));

create policy lead_imports_insert_policy on public.lead_imports
  for insert to authenticated
  with check (org_id = any (array(select private.org_ids_with_role('{admin,campaign_manager}'))));

create policy lead_imports_update_policy on public.lead_imports
  for update to authenticated
  using (org_id = any (array(select private.org_ids_with_role('{admin,campaign_manager}'))))
  with check (org_id = any (array(select private.org_ids_with_role('{admin,campaign_manager}'))));

create policy lead_imports_delete_policy on public.lead_imports
  for delete to authenticated
  using (org_id = any (array(select private.org_ids_with_role('{admin,campaign_manager}'))));

create policy leads_select_policy on public.leads
  for select to authenticated
  using (org_id = any (array(select private.org_ids_with_role())));

create policy leads_insert_policy on public.leads
  for insert to authenticated
  with check (org_id = any (array(select private.org_ids_with_role('{admin,campaign_manager}'))));

create policy leads_update_policy on public.leads
  for update to authenticated
  using (
    org_id = any (array(select private.org_ids_with_role('{admin,campaign_manager,operator}')))
  )
  with check (
    org_id = any (array(select private.org_ids_with_role('{admin,campaign_manager,operator}')))
  );

create policy leads_delete_policy on public.leads
  for delete to authenticated
  using (org_id = any (array(select private.org_ids_with_role('{admin,campaign_manager}'))));
