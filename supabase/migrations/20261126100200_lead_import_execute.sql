-- =============================================================================
-- Executing a staged import, set-based, as the importing user under RLS: one pass maps
-- and validates every row, then duplicates are settled and the new leads inserted in
-- one statement. Idempotent: a completed import answers its stored result.
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Triggers: an import's status only moves along its lifecycle
-- -----------------------------------------------------------------------------

create function private.guard_import_status() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.status = old.status then
    return new;
  end if;
  if not (
    (old.status in ('staged', 'failed') and new.status = 'executing')
    or (old.status = 'executing' and new.status in ('completed', 'failed', 'staged'))
  ) then
    raise exception 'import % is %: it cannot become %', old.id, old.status, new.status
      using errcode = '55000';
  end if;
  return new;
end;
$$;
comment on function private.guard_import_status() is
  'staged/failed → executing → completed | failed | staged (all-or-nothing refused); completed is final.';
revoke all on function private.guard_import_status() from public;

create trigger lead_imports_guard_status before update of status on public.lead_imports
  for each row execute function private.guard_import_status();

-- -----------------------------------------------------------------------------
-- Helpers
-- -----------------------------------------------------------------------------

-- Lower-case, trimmed, distinct, sorted tags from a list and a cell ("hot; buyer, vip").
create function private.import_tags(cell text, extra text[]) returns text[]
language sql
immutable
parallel safe
set search_path = ''
as $$
  select coalesce(array_agg(distinct t order by t), '{}')
  from (
    select lower(btrim(x)) as t
    from unnest(coalesce(regexp_split_to_array(cell, '[,;|]'), '{}') || coalesce(extra, '{}')) x
  ) tags
  where t <> '';
$$;
comment on function private.import_tags(text, text[]) is
  'The tags of an imported row: its tags cell split on , ; | plus the import''s tags, tidied.';

-- The rows of a staged import as they would be stored: mapped, normalised and checked,
-- each with its problems ([{field, value, message}], empty when the row is valid).
-- mapping: {"phone": "<header>", "first_name": …, "custom_fields": {"<key>": "<header>"}}.
create function private.mapped_import_rows(
  target uuid,
  mapping jsonb,
  extra_tags text[] default '{}',
  max_rows integer default null
) returns table (
  row_number integer,
  raw_phone text,
  phone text,
  first_name text,
  last_name text,
  email text,
  address text,
  city text,
  state text,
  zip text,
  tags text[],
  consent_source text,
  consent_at timestamptz,
  custom_fields jsonb,
  problems jsonb
)
language plpgsql
stable
set search_path = ''
as $$
#variable_conflict use_column
declare
  imp public.lead_imports;
  country text;
  idx jsonb := '{}'::jsonb;
  custom jsonb := '{}'::jsonb;
  field text;
  header text;
begin
  select * into imp from public.lead_imports i where i.id = target;
  if not found then
    raise exception 'no import % in your organizations', target using errcode = 'PT404';
  end if;
  if jsonb_typeof(mapping) is distinct from 'object' then
    raise exception 'mapping must be an object of field → column name' using errcode = '22023';
  end if;

  -- Our fields → 0-based column positions.
  for field, header in select m.key, m.value from jsonb_each_text(mapping - 'custom_fields') m loop
    if field not in ('phone', 'first_name', 'last_name', 'email', 'address', 'city', 'state',
                     'zip', 'tags', 'consent_source', 'consent_at') then
      raise exception 'mapping: "%" is not a lead field', field using errcode = '22023';
    end if;
    if header is not null then
      if array_position(imp.columns, header) is null then
        raise exception 'mapping.%: the file has no column "%"', field, header
          using errcode = '22023';
      end if;
      idx := idx || jsonb_build_object(field, array_position(imp.columns, header) - 1);
    end if;
  end loop;
  if not idx ? 'phone' then
    raise exception 'mapping.phone: say which column holds the phone number'
      using errcode = '22023';
  end if;
  for field, header in
    select m.key, m.value from jsonb_each_text(coalesce(mapping -> 'custom_fields', '{}')) m
  loop
    if array_position(imp.columns, header) is null then
      raise exception 'mapping.custom_fields.%: the file has no column "%"', field, header
        using errcode = '22023';
    end if;
    custom := custom || jsonb_build_object(field, array_position(imp.columns, header) - 1);
  end loop;
  country := private.org_default_country(imp.org_id);

  return query
  select x.row_number, x.raw_phone, x.phone, x.first_name, x.last_name, x.email, x.address,
    x.city, x.state, x.zip, x.tags, x.consent_source, x.consent_at, x.custom_fields,
    coalesce((
      select jsonb_agg(jsonb_build_object('field', e.field, 'value', left(e.value, 200),
                                          'message', e.message) order by e.field)
      from (values
        ('phone', x.raw_phone, case
          when x.raw_phone is null then 'no phone number'
          when x.phone_problem is not null then 'not a valid phone number: ' || x.phone_problem end),
        ('email', x.email, case
          when x.email !~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$'
            or char_length(x.email) > 320
          then 'not an email address' end),
        ('state', x.state_raw, case
          when x.state_raw is not null and x.state is null
          then 'not a US state, territory or military code' end),
        ('zip', x.zip_raw, case
          when x.zip !~ '^[0-9]{5}(-[0-9]{4})?$' then 'not a ZIP code (5 digits or ZIP+4)' end),
        ('consent_at', x.consent_at_raw, case
          when x.consent_at_raw is not null and x.consent_at is null
          then 'not a date (use 2024-03-01, 2024-03-01T14:30:00Z or 3/1/2024 2:30 PM)'
          when x.consent_at > now() + interval '1 day' then 'in the future' end),
        ('first_name', x.first_name, case when char_length(x.first_name) > 100
          then 'longer than 100 characters' end),
        ('last_name', x.last_name, case when char_length(x.last_name) > 100
          then 'longer than 100 characters' end),
        ('address', x.address, case when char_length(x.address) > 300
          then 'longer than 300 characters' end),
        ('city', x.city, case when char_length(x.city) > 100
          then 'longer than 100 characters' end),
        ('consent_source', x.consent_source, case when char_length(x.consent_source) > 200
          then 'longer than 200 characters' end),
        ('tags', array_to_string(x.tags, '; '), case
          when cardinality(x.tags) > 50 then 'more than 50 tags'
          when exists (select 1 from unnest(x.tags) t where char_length(t) > 64)
          then 'a tag is longer than 64 characters' end),
        ('custom_fields', null, case when pg_column_size(x.custom_fields) > 16384
          then 'custom fields larger than 16 kB' end)
      ) as e (field, value, message)
      where e.message is not null
    ), '[]')
  from (
    select
      r.row_number,
      c.raw_phone,
      p.phone,
      p.problem as phone_problem,
      c.first_name, c.last_name, c.email, c.address, c.city, c.state_raw,
      u.code as state,
      c.zip_raw,
      case when c.zip_raw ~ '^[0-9]{9}$' then left(c.zip_raw, 5) || '-' || right(c.zip_raw, 4)
           when c.zip_raw ~ '^[0-9]{4}$' then '0' || c.zip_raw  -- spreadsheets drop the 0
           else c.zip_raw end as zip,
      private.import_tags(c.tags_raw, extra_tags) as tags,
      c.consent_source,
      c.consent_at_raw,
      private.parse_timestamp(c.consent_at_raw) as consent_at,
      c.custom_fields
    from public.lead_import_rows r
    cross join lateral (
      select
        nullif(btrim(r.cells ->> (idx ->> 'phone')::integer), '') as raw_phone,
        nullif(btrim(r.cells ->> (idx ->> 'first_name')::integer), '') as first_name,
        nullif(btrim(r.cells ->> (idx ->> 'last_name')::integer), '') as last_name,
        nullif(btrim(r.cells ->> (idx ->> 'email')::integer), '') as email,
        nullif(btrim(r.cells ->> (idx ->> 'address')::integer), '') as address,
        nullif(btrim(r.cells ->> (idx ->> 'city')::integer), '') as city,
        nullif(btrim(r.cells ->> (idx ->> 'state')::integer), '') as state_raw,
        nullif(btrim(r.cells ->> (idx ->> 'zip')::integer), '') as zip_raw,
        nullif(btrim(r.cells ->> (idx ->> 'tags')::integer), '') as tags_raw,
        nullif(btrim(r.cells ->> (idx ->> 'consent_source')::integer), '') as consent_source,
        nullif(btrim(r.cells ->> (idx ->> 'consent_at')::integer), '') as consent_at_raw,
        coalesce((
          select jsonb_object_agg(k.key, btrim(r.cells ->> k.value::integer))
          from jsonb_each_text(custom) k
          where nullif(btrim(r.cells ->> k.value::integer), '') is not null
        ), '{}') as custom_fields
    ) c
    cross join lateral private.parse_phone(c.raw_phone, country, false) p
    -- A code is one index probe; a full name (rarer) scans the 59 names.
    cross join lateral (
      select coalesce(
        (select s.code from private.us_states s where s.code = upper(c.state_raw)),
        (select s.code from private.us_states s where lower(s.name) = lower(c.state_raw))
      ) as code
    ) u
    where r.org_id = imp.org_id and r.import_id = imp.id
    order by r.row_number
    limit max_rows
  ) x;
end;
$$;
comment on function private.mapped_import_rows(uuid, jsonb, text[], integer) is
  'A staged import''s rows as they would be stored, each with its problems: what preview shows
   and execute commits.';

-- Execution, phase 1: every row of an executing import mapped and checked into the
-- transaction's work tables, each problem recorded with its row and field.
create function private.validate_lead_import(
  target uuid,
  mapping jsonb,
  extra_tags text[] default '{}'
) returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  imp public.lead_imports;
  n_rows integer;
  n_invalid integer;
begin
  select * into imp from public.lead_imports i where i.id = target;
  if not found then
    raise exception 'no import % in your organizations', target using errcode = 'PT404';
  end if;
  if imp.status <> 'executing' then
    raise exception 'import % is %, not executing', target, imp.status using errcode = '55000';
  end if;
  delete from public.lead_import_errors e where e.org_id = imp.org_id and e.import_id = imp.id;

  -- The work tables, described for plpgsql_check (a no-op at run time).
  perform 'PRAGMA:TABLE: import_rows (row_number integer, raw_phone text, phone text, first_name text, last_name text, email text, address text, city text, state text, zip text, tags text[], consent_source text, consent_at timestamptz, custom_fields jsonb, problems jsonb)';
  perform 'PRAGMA:TABLE: import_valid (row_number integer, raw_phone text, phone text, first_name text, last_name text, email text, address text, city text, state text, zip text, tags text[], consent_source text, consent_at timestamptz, custom_fields jsonb, problems jsonb, occurrence bigint, first_row integer)';

  -- 1. Every row mapped and checked, once; 2. each problem kept with its row and field.
  drop table if exists pg_temp.import_rows, pg_temp.import_valid;
  create temp table import_rows on commit drop as
  select * from private.mapped_import_rows(target, mapping, extra_tags);
  get diagnostics n_rows = row_count;

  insert into public.lead_import_errors (org_id, import_id, row_number, field, value, message)
  select imp.org_id, imp.id, x.row_number, e ->> 'field', e ->> 'value', e ->> 'message'
  from import_rows x
  cross join lateral jsonb_array_elements(x.problems) e;

  create temp table import_valid on commit drop as
  select x.*,
    row_number() over (partition by x.phone order by x.row_number) as occurrence,
    first_value(x.row_number) over (partition by x.phone order by x.row_number) as first_row
  from import_rows x
  where x.problems = '[]';
  -- Work tables have no statistics until analysed: without them the duplicate checks
  -- that follow can plan a nested loop over every row (minutes for a large file).
  analyze pg_temp.import_rows;
  analyze pg_temp.import_valid;
  select n_rows - count(*) into n_invalid from import_valid;

  return jsonb_build_object('rows', n_rows, 'invalid', n_invalid);
end;
$$;
comment on function private.validate_lead_import(uuid, jsonb, text[]) is
  'Phase 1 of executing an import: rows mapped and checked, problems recorded (same transaction
   as phase 2).';

-- Execution, phase 2 (same transaction, after validate_lead_import): duplicates settled,
-- existing leads skipped or updated, new leads inserted, the outcome recorded and announced.
create function private.commit_lead_import(
  target uuid,
  mapping jsonb,
  on_duplicate text default 'skip',
  extra_tags text[] default '{}',
  all_or_nothing boolean default false
) returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  imp public.lead_imports;
  n_rows integer;
  n_invalid integer;
  n_duplicates integer;
  n_inserted integer := 0;
  n_updated integer := 0;
  n_suppressed integer;
  n_suppressed_updated integer := 0;
  n_refused integer := 0;
  outcome jsonb;
begin
  perform 'PRAGMA:TABLE: import_rows (row_number integer, raw_phone text, phone text, first_name text, last_name text, email text, address text, city text, state text, zip text, tags text[], consent_source text, consent_at timestamptz, custom_fields jsonb, problems jsonb)';
  perform 'PRAGMA:TABLE: import_valid (row_number integer, raw_phone text, phone text, first_name text, last_name text, email text, address text, city text, state text, zip text, tags text[], consent_source text, consent_at timestamptz, custom_fields jsonb, problems jsonb, occurrence bigint, first_row integer)';
  if on_duplicate not in ('skip', 'update') then
    raise exception 'on_duplicate must be skip or update, not %', on_duplicate
      using errcode = '22023';
  end if;
  select * into imp from public.lead_imports i where i.id = target and i.status = 'executing';
  if not found or to_regclass('pg_temp.import_valid') is null then
    raise exception 'import % has not been validated in this transaction', target
      using errcode = '55000', hint = 'Call private.validate_lead_import first.';
  end if;
  select count(*) into n_rows from import_rows;
  select n_rows - count(*) into n_invalid from import_valid;

  if all_or_nothing and n_invalid > 0 then
    update public.lead_imports i
    set status = 'staged', error_count = n_invalid, processed_rows = n_rows
    where i.id = imp.id;
    return jsonb_build_object(
      'committed', false, 'rows', n_rows, 'invalid', n_invalid,
      'errors', private.import_errors_json(imp.org_id, imp.id, 100));
  end if;

  -- 3. Duplicates inside the file: the first row of a number wins.
  insert into public.lead_import_errors (org_id, import_id, row_number, field, value, message)
  select imp.org_id, imp.id, v.row_number, 'phone', v.raw_phone,
    format('duplicate: the same number as row %s', v.first_row)
  from import_valid v where v.occurrence > 1;

  -- 4. Numbers that are leads already: skipped, or updated with the row's non-empty values.
  if on_duplicate = 'update' then
    -- A merge that would take a lead past its limits is reported, not attempted.
    insert into public.lead_import_errors (org_id, import_id, row_number, field, value, message)
    select imp.org_id, imp.id, v.row_number, m.field, null, m.message
    from import_valid v
    join public.leads l on l.org_id = imp.org_id and l.phone = v.phone
    cross join lateral (values
      ('tags', case when cardinality(array(select distinct t from unnest(l.tags || v.tags) t)) > 50
        then 'merged with the lead''s tags, more than 50 tags' end),
      ('custom_fields', case when pg_column_size(l.custom_fields || v.custom_fields) > 16384
        then 'merged with the lead''s custom fields, larger than 16 kB' end)
    ) as m (field, message)
    where v.occurrence = 1 and m.message is not null;
    get diagnostics n_refused = row_count;

    with changed as (
      update public.leads l
    set first_name = coalesce(v.first_name, l.first_name),
        last_name = coalesce(v.last_name, l.last_name),
        email = coalesce(v.email, l.email),
        address = coalesce(v.address, l.address),
        city = coalesce(v.city, l.city),
        state = coalesce(v.state, l.state),
        zip = coalesce(v.zip, l.zip),
        tags = array(select distinct t from unnest(l.tags || v.tags) t order by 1),
        custom_fields = l.custom_fields || v.custom_fields,
        consent_source = coalesce(v.consent_source, l.consent_source),
        consent_captured_at = coalesce(v.consent_at, l.consent_captured_at)
      from import_valid v
      where v.occurrence = 1 and l.org_id = imp.org_id and l.phone = v.phone
        and not exists (
          select 1 from public.lead_import_errors e
          where e.org_id = imp.org_id and e.import_id = imp.id and e.row_number = v.row_number
        )
      returning l.suppressed
    )
    select count(*), count(*) filter (where changed.suppressed)
    into n_updated, n_suppressed_updated
    from changed;
  else
    insert into public.lead_import_errors (org_id, import_id, row_number, field, value, message)
    select imp.org_id, imp.id, v.row_number, 'phone', v.raw_phone,
      'duplicate: already a lead (skipped)'
    from import_valid v
    join public.leads l on l.org_id = imp.org_id and l.phone = v.phone
    where v.occurrence = 1;
  end if;

  -- 5. The new leads, prepared here set-based (the per-row trigger steps aside for them),
  -- ordered against concurrent opt-outs like every lead write.
  perform pg_catalog.pg_advisory_xact_lock_shared(private.suppression_lock_key(imp.org_id));
  perform set_config('sct.prepared_import_id', imp.id::text, true);
  insert into public.leads (
    org_id, phone, first_name, last_name, email, address, city, state, zip, time_zone,
    zip_time_zone, phone_time_zone, tags, custom_fields, suppressed, consent_source,
    consent_captured_at, import_id, created_by
  )
  select imp.org_id, v.phone, v.first_name, v.last_name, v.email, v.address, v.city, v.state,
    v.zip, coalesce(z.time_zone, a.time_zone), z.time_zone, a.time_zone, v.tags,
    v.custom_fields,
    exists (select 1 from public.suppressions s
            where s.org_id = imp.org_id and s.phone = v.phone and s.lifted_at is null),
    v.consent_source, v.consent_at, imp.id, auth.uid()
  from import_valid v
  left join lateral (
    select t.time_zone from private.zip_time_zones t
    where t.zip_from <= left(v.zip, 5) and left(v.zip, 5) <= t.zip_to
    order by t.zip_from desc limit 1
  ) z on v.zip is not null
  left join private.area_code_time_zones a
    on v.phone like '+1%' and a.area_code = substr(v.phone, 3, 3)
  where v.occurrence = 1
  order by v.row_number
  on conflict (org_id, phone) do nothing;
  get diagnostics n_inserted = row_count;
  perform set_config('sct.prepared_import_id', '', true);

  select count(*) into n_duplicates from public.lead_import_errors e
  where e.org_id = imp.org_id and e.import_id = imp.id and e.message like 'duplicate:%';
  -- Imported (inserted or updated) leads whose number is suppressed.
  select count(*) + n_suppressed_updated into n_suppressed from public.leads l
  where l.org_id = imp.org_id and l.import_id = imp.id and l.suppressed;
  -- Rows refused at the merge count as invalid (distinct rows).
  select n_invalid + count(distinct e.row_number) into n_invalid
  from public.lead_import_errors e
  where e.org_id = imp.org_id and e.import_id = imp.id and n_refused > 0
    and e.message like 'merged with the lead%';

  outcome := jsonb_build_object(
    'committed', true, 'rows', n_rows, 'inserted', n_inserted, 'updated', n_updated,
    'duplicates', n_duplicates, 'invalid', n_invalid, 'suppressed', n_suppressed,
    'errors', private.import_errors_json(imp.org_id, imp.id, 100));

  update public.lead_imports i
  set status = 'completed', mapping = commit_lead_import.mapping,
      on_duplicate = commit_lead_import.on_duplicate, all_or_nothing = commit_lead_import.all_or_nothing,
      tags = extra_tags, inserted = n_inserted, updated = n_updated, duplicates = n_duplicates,
      invalid = n_invalid, suppressed = n_suppressed,
      error_count = (select count(*) from public.lead_import_errors e
                     where e.org_id = imp.org_id and e.import_id = imp.id),
      processed_rows = n_rows, result = outcome, completed_at = now()
  where i.id = imp.id;

  -- The raw upload has served its purpose; the errors keep what was not imported.
  delete from public.lead_import_rows r where r.org_id = imp.org_id and r.import_id = imp.id;

  perform private.audit_lead_import(imp.id);
  perform private.broadcast_to_org(imp.org_id, 'lead_import.completed',
    jsonb_build_object('import_id', imp.id, 'status', 'completed') || (outcome - 'errors'));
  return outcome;
end;
$$;
comment on function private.commit_lead_import(uuid, jsonb, text, text[], boolean) is
  'Phase 2 of executing an import: deduplicate, skip or update, insert, record, announce.';

-- Both phases in one call.
create function private.execute_lead_import(
  target uuid,
  mapping jsonb,
  on_duplicate text default 'skip',
  extra_tags text[] default '{}',
  all_or_nothing boolean default false
) returns jsonb
language plpgsql
set search_path = ''
as $$
begin
  perform private.validate_lead_import(target, mapping, extra_tags);
  return private.commit_lead_import(target, mapping, on_duplicate, extra_tags, all_or_nothing);
end;
$$;
comment on function private.execute_lead_import(uuid, jsonb, text, text[], boolean) is
  'Validates, deduplicates and inserts a staged import set-based, as the calling user.';

-- The first errors of an import, as execute answers them.
create function private.import_errors_json(org uuid, import uuid, max_rows integer)
returns jsonb
language sql
stable
set search_path = ''
as $$
  select coalesce(jsonb_agg(jsonb_build_object(
    'row', e.row_number, 'field', e.field, 'value', e.value, 'message', e.message)
    order by e.row_number, e.field), '[]')
  from (
    select * from public.lead_import_errors e
    where e.org_id = org and e.import_id = import
    order by e.row_number, e.field
    limit max_rows
  ) e;
$$;
comment on function private.import_errors_json(uuid, uuid, integer) is
  'The first max_rows errors of an import as [{row, field, value, message}].';

-- One audit entry for an import's new leads (each keeps its import_id).
create function private.audit_lead_import(import uuid) returns void
language sql
security definer
set search_path = ''
as $$
  insert into public.audit_log (org_id, actor_id, actor_role, table_name, row_id, action, after)
  select i.org_id, auth.uid(),
    coalesce(nullif(current_setting('role', true), 'none'), session_user),
    'leads', 'import:' || i.id::text, 'insert',
    jsonb_build_object('import_id', i.id, 'file_name', i.file_name, 'inserted', i.inserted,
                       'updated', i.updated, 'rows', i.row_count)
  from public.lead_imports i
  where i.id = import and private.has_role_on_org(i.org_id, '{admin,campaign_manager}');
$$;
comment on function private.audit_lead_import(uuid) is
  'Audits an import''s inserted leads as one entry: who, which file, how many.';

revoke all on function private.import_tags(text, text[]) from public;
revoke all on function private.mapped_import_rows(uuid, jsonb, text[], integer) from public;
grant execute on function private.mapped_import_rows(uuid, jsonb, text[], integer)
  to authenticated;
revoke all on function private.execute_lead_import(uuid, jsonb, text, text[], boolean) from public;
revoke all on function private.validate_lead_import(uuid, jsonb, text[]) from public;
revoke all on function private.commit_lead_import(uuid, jsonb, text, text[], boolean) from public;
grant execute on function private.validate_lead_import(uuid, jsonb, text[]) to authenticated;
grant execute on function private.commit_lead_import(uuid, jsonb, text, text[], boolean)
  to authenticated;
revoke all on function private.import_errors_json(uuid, uuid, integer) from public;
revoke all on function private.audit_lead_import(uuid) from public;
grant execute on function private.import_tags(text, text[]) to authenticated, service_role;
grant execute on function private.execute_lead_import(uuid, jsonb, text, text[], boolean)
  to authenticated;
grant execute on function private.import_errors_json(uuid, uuid, integer)
  to authenticated, service_role;
grant execute on function private.audit_lead_import(uuid) to authenticated;
