-- =============================================================================
-- Import speed. Measured on 100,000 rows: phone parsing, the state lookup, date parsing
-- and the per-row work of the consent ledger and the audit trigger dominated an import.
-- Phone parsing takes the common North American spellings without rewriting them; a state
-- code is found by its index; the ledger and the audit trail skip work they do not need
-- for rows an import has already prepared.
-- =============================================================================

create or replace function private.parse_phone(
  raw text,
  default_country text default 'US',
  any_country boolean default false,
  out phone text,
  out problem text
)
language plpgsql
stable
parallel safe
set search_path = ''
as $$
declare
  value text;
  digits text;
  home_code text;
  number_code text;
begin
  if raw is null then
    return;
  end if;
  -- The organization's calling code; the United States' is known without a lookup.
  home_code := case when upper(default_country) = 'US' then '1' else coalesce(
    (select c.calling_code from private.country_calling_codes c
     where c.country = upper(default_country)),
    '1') end;
  -- Fast path, no rewriting: a North American number as imports and Twilio write it
  -- (+14155550123) or as lists usually do ((415) 555-0123, 415.555.0123, 1-415-555-0123).
  if home_code = '1' or any_country then
    if raw ~ '^\+1[2-9][0-9]{2}[2-9][0-9]{6}$' then
      digits := substr(raw, 3);
    elsif raw ~ '^ *(\+?1[ .-]?)?\(?[2-9][0-9]{2}\)?[ .-]?[2-9][0-9]{2}[ .-]?[0-9]{4} *$'
      and home_code = '1' then
      digits := right(regexp_replace(raw, '[^0-9]', '', 'g'), 10);
    end if;
    if digits is not null then
      problem := private.nanp_problem(digits);
      if problem is null then
        phone := '+1' || digits;
      end if;
      return;
    end if;
  end if;

  -- What pasting from spreadsheets and phones brings along: full-width digits and signs,
  -- Unicode dashes, no-break spaces, tabs and line breaks.
  value := translate(raw,
    '０１２３４５６７８９＋（）‐‑‒–—―−' || chr(160) || chr(8239) || chr(8199),
    '0123456789+()-------   ');
  value := btrim(regexp_replace(value, '[[:space:]]+', ' ', 'g'));

  if problem is not null then
    null;
  elsif value = '' then
    problem := 'it is empty';
  elsif value ~ '[A-Za-z]' then
    problem := 'it contains letters (extensions and vanity numbers cannot receive texts)';
  elsif value ~ '.\+' then
    problem := 'a + may only lead the number';
  elsif value !~ '^\+?[0-9 ().\-/]+$' then
    problem := 'it contains characters other than digits, spaces and ( ) . - /';
  elsif left(value, 1) = '+' then
    -- "+44 (0)20 …": the (0) is the national trunk prefix, written for local callers.
    digits := regexp_replace(regexp_replace(value, '\(\s*0\s*\)', ''), '[^0-9]', '', 'g');
    if left(digits, 1) = '1' then
      number_code := '1';
    else
      select c.calling_code into number_code
      from private.country_calling_codes c
      where digits like c.calling_code || '%'
      order by length(c.calling_code) desc
      limit 1;
    end if;
    if length(digits) not between 8 and 15 or left(digits, 1) = '0' then
      problem := 'an E.164 number has a country code and 8 to 15 digits in all';
    elsif number_code is null then
      problem := 'its country code is not assigned';
    elsif number_code <> home_code and not any_country then
      problem := format(
        'country code +%s is not accepted: the organization texts numbers of %s (+%s)',
        number_code, upper(default_country), home_code);
    elsif number_code = '1' then
      if length(digits) <> 11 then
        problem := 'a +1 (NANP) number has exactly 10 digits after the +1';
      else
        digits := substr(digits, 2);
        problem := private.nanp_problem(digits);
      end if;
    elsif substr(digits, length(number_code) + 1, 1) = '0'
      and number_code not in ('39', '378', '379') then
      problem := format('the 0 after +%s is a national trunk prefix: leave it out', number_code);
    else
      phone := '+' || digits;
      return;
    end if;
  elsif home_code <> '1' then
    problem := format('write numbers outside North America in E.164 form (+%s…)', home_code);
  else
    digits := regexp_replace(value, '[^0-9]', '', 'g');
    if length(digits) = 11 and left(digits, 1) = '1' then
      digits := substr(digits, 2);
    end if;
    if length(digits) = 10 then
      problem := private.nanp_problem(digits);
    else
      problem := format(
        'a North American number has 10 digits (or 11 starting with 1), not %s',
        length(digits));
    end if;
  end if;

  if problem is null then
    phone := '+1' || digits;
  end if;
end;
$$;

-- Consent events and suppressions accept any country's E.164 number: the organization's
-- country only matters for a national spelling.
create or replace function private.prepare_consent_event() returns trigger
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

-- The rows of a staged import as they would be stored (as before), with the state found by
-- its code's index before any name is compared.
create or replace function private.mapped_import_rows(
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

-- An import's insert of its prepared leads is not audited row by row (see
-- private.audit_lead_import): skip it without building a document per row.
create or replace function private.audit_changes() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  key_column text := tg_argv[0];
  org_column text := coalesce(tg_argv[1], 'org_id');
  actor uuid := (select auth.uid());
  actor_role text := coalesce(nullif(current_setting('role', true), 'none'), session_user);
  prepared_import text := nullif(current_setting('sct.prepared_import_id', true), '');
begin
  if tg_op = 'INSERT' and prepared_import is not null and tg_table_name = 'leads' then
    -- The import's own insert (the setting is on for that statement only): audited as one
    -- entry by private.audit_lead_import.
    return null;
  elsif tg_op = 'INSERT' then
    insert into public.audit_log (org_id, actor_id, actor_role, table_name, row_id, action, after)
    select (r.doc ->> org_column)::uuid, actor, actor_role, tg_table_name, r.doc ->> key_column,
      'insert', r.doc
    from (select to_jsonb(n) as doc from new_rows n) r;
  elsif tg_op = 'DELETE' then
    insert into public.audit_log (org_id, actor_id, actor_role, table_name, row_id, action, before)
    select (r.doc ->> org_column)::uuid, actor, actor_role, tg_table_name, r.doc ->> key_column,
      'delete', r.doc
    from (select to_jsonb(o) as doc from old_rows o) r;
  else
    -- Old and new rows are paired on their typed key and organization (a hash join; a
    -- user's memberships in two organizations stay apart), then only changed columns kept.
    execute format($sql$
      insert into public.audit_log
        (org_id, actor_id, actor_role, table_name, row_id, action, before, after)
      select n.%2$I, $1, $2, $3, n.%1$I::text, 'update', d.before, d.after
      from new_rows n
      join old_rows o on o.%1$I = n.%1$I and o.%2$I = n.%2$I
      -- offset 0: build each row's documents once, not once per key compared below.
      cross join lateral (select to_jsonb(o) as old_doc, to_jsonb(n) as new_doc offset 0) j
      cross join lateral (
        select jsonb_object_agg(k, j.old_doc -> k) as before,
               jsonb_object_agg(k, j.new_doc -> k) as after
        from jsonb_object_keys(j.new_doc) k
        where k <> 'updated_at' and j.old_doc -> k is distinct from j.new_doc -> k
      ) d
      where d.after is not null
    $sql$, key_column, org_column)
    using actor, actor_role, tg_table_name;
  end if;
  return null;
end;
$$;
