-- =============================================================================
-- Lead import: an upload is staged row by row (raw cells, as the file had them), then
-- executed set-based: every row mapped, normalised and validated at once, bad rows
-- recorded with their row number and field, duplicates dropped inside the file and
-- against existing leads (skipped or updated), suppressed numbers flagged, and the new
-- leads inserted in one statement. All of it as the importing user, under RLS.
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Tables
-- -----------------------------------------------------------------------------

alter table public.lead_imports
  add column encoding text,
  add column delimiter text constraint lead_imports_delimiter_check
    check (delimiter in (',', ';', E'\t', '|')),
  add column has_header boolean not null default true,
  add column columns text[] not null default '{}',
  add column on_duplicate text constraint lead_imports_on_duplicate_check
    check (on_duplicate in ('skip', 'update')),
  add column all_or_nothing boolean not null default false,
  add column tags text[] not null default '{}',
  add column error_count integer not null default 0
    constraint lead_imports_error_count_nonnegative check (error_count >= 0),
  add column processed_rows integer not null default 0
    constraint lead_imports_processed_rows_nonnegative check (processed_rows >= 0),
  add column started_at timestamptz,
  add column result jsonb;
comment on column public.lead_imports.columns is 'The file''s column names (Column 1… without a header).';
comment on column public.lead_imports.processed_rows is 'Rows validated so far (progress).';
comment on column public.lead_imports.result is
  'What execute answered: counters and the first errors (returned again by a repeated execute).';

create table public.lead_import_rows (
  org_id uuid not null,
  import_id uuid not null,
  row_number integer not null constraint lead_import_rows_row_number_positive
    check (row_number > 0),
  cells jsonb not null constraint lead_import_rows_cells_array
    check (jsonb_typeof(cells) = 'array'),
  primary key (org_id, import_id, row_number),
  constraint lead_import_rows_import_fkey foreign key (org_id, import_id)
    references public.lead_imports (org_id, id) on delete cascade
);
comment on table public.lead_import_rows is
  'Staged rows of an upload: its cells as text, by the row number the file shows.';

create table public.lead_import_errors (
  org_id uuid not null,
  import_id uuid not null,
  row_number integer not null,
  field text not null,
  value text,
  message text not null,
  primary key (org_id, import_id, row_number, field),
  constraint lead_import_errors_import_fkey foreign key (org_id, import_id)
    references public.lead_imports (org_id, id) on delete cascade
);
comment on table public.lead_import_errors is
  'Why rows of an import were not imported: row number, field, value and message.';

-- -----------------------------------------------------------------------------
-- Grants: the importing user stages and executes under RLS.
-- -----------------------------------------------------------------------------

revoke all on public.lead_import_rows, public.lead_import_errors
  from anon, authenticated, service_role;
grant select, insert, delete on public.lead_import_rows to authenticated;
grant select, insert, delete on public.lead_import_errors to authenticated;
grant select, insert, update, delete on public.lead_import_rows, public.lead_import_errors
  to service_role;
grant insert (encoding, delimiter, has_header, columns, row_count)
  on public.lead_imports to authenticated;
-- What an import computes set-based for the leads it inserts; for any other insert the
-- leads_prepare_insert trigger overwrites these columns.
grant insert (time_zone, zip_time_zone, phone_time_zone, suppressed, created_by)
  on public.leads to authenticated;
grant update (
  encoding, delimiter, has_header, columns, on_duplicate, all_or_nothing, tags, error_count,
  processed_rows, started_at, result
) on public.lead_imports to authenticated;

-- -----------------------------------------------------------------------------
-- Enable RLS and policies: admins and campaign managers import.
-- -----------------------------------------------------------------------------

alter table public.lead_import_rows enable row level security;
alter table public.lead_import_errors enable row level security;

create policy lead_import_rows_select_policy on public.lead_import_rows
  for select to authenticated
  using (org_id = any (array(select private.org_ids_with_role('{admin,campaign_manager}'))));
create policy lead_import_rows_insert_policy on public.lead_import_rows
  for insert to authenticated
  with check (org_id = any (array(select private.org_ids_with_role('{admin,campaign_manager}'))));
create policy lead_import_rows_delete_policy on public.lead_import_rows
  for delete to authenticated
  using (org_id = any (array(select private.org_ids_with_role('{admin,campaign_manager}'))));

create policy lead_import_errors_select_policy on public.lead_import_errors
  for select to authenticated
  using (org_id = any (array(select private.org_ids_with_role('{admin,campaign_manager}'))));
create policy lead_import_errors_insert_policy on public.lead_import_errors
  for insert to authenticated
  with check (org_id = any (array(select private.org_ids_with_role('{admin,campaign_manager}'))));
create policy lead_import_errors_delete_policy on public.lead_import_errors
  for delete to authenticated
  using (org_id = any (array(select private.org_ids_with_role('{admin,campaign_manager}'))));

-- The private Realtime channels of the caller's organizations: org:<id>.
create function private.org_topics() returns setof text
language sql
stable
security definer
set search_path = ''
as $$
  select 'org:' || o::text from private.org_ids_with_role() o;
$$;
comment on function private.org_topics() is
  'Realtime topics the caller may receive: org:<id> of each organization they belong to.';
revoke all on function private.org_topics() from public;
grant execute on function private.org_topics() to authenticated;

-- Members receive their organization's private broadcasts.
create policy messages_select_org_topics_policy on realtime.messages
  for select to authenticated
  using (
    extension = 'broadcast'
    and (select realtime.topic()) = any (array(select private.org_topics()))
  );

-- -----------------------------------------------------------------------------
-- Triggers: leads an import has prepared set-based skip the per-row preparation
-- -----------------------------------------------------------------------------

-- The import computes, set-based and with the same helpers, everything prepare_lead
-- computes row by row; for the rows it inserts it sets sct.prepared_import_id for its
-- transaction (a setting no API role can change: PostgREST offers no way to).
drop trigger leads_prepare on public.leads;
create trigger leads_prepare_insert before insert on public.leads
  for each row
  when (new.import_id is null
    or current_setting('sct.prepared_import_id', true) is distinct from new.import_id::text)
  execute function private.prepare_lead();
create trigger leads_prepare_update before update on public.leads
  for each row execute function private.prepare_lead();

-- An import's leads are audited as one entry (who imported how many, from which file);
-- each lead keeps its provenance in import_id.
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

-- -----------------------------------------------------------------------------
-- Helpers
-- -----------------------------------------------------------------------------

-- Announces an event on the organization's private channel, for members only.
create function private.broadcast_to_org(org uuid, event text, payload jsonb) returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  if auth.uid() is not null and not private.has_role_on_org(org) then
    raise exception 'not a member of organization %', org using errcode = '42501';
  end if;
  perform realtime.send(payload, event, 'org:' || org::text, true);
end;
$$;
comment on function private.broadcast_to_org(uuid, text, jsonb) is
  'Sends a Realtime broadcast on the private channel org:<id> (callers must be members).';

-- A timestamp as lists write it: ISO 8601 (with or without time and offset) or US
-- M/D/YYYY with an optional h:mm[:ss] [AM|PM]; naive times are UTC. Null when unreadable.
create function private.parse_timestamp(raw text) returns timestamptz
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
declare
  value text := btrim(raw);
  m text[];
  y integer;
  mo integer;
  d integer;
  h integer := 0;
  mi integer := 0;
  s numeric := 0;
begin
  if value is null or value = '' then
    return null;
  end if;
  m := regexp_match(value,
    '^([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2}(?:\.[0-9]+)?))?)?(Z|[+-][0-9]{2}:?[0-9]{2})?$');
  if m is not null then
    y := m[1]::integer; mo := m[2]::integer; d := m[3]::integer;
    h := coalesce(m[4]::integer, 0); mi := coalesce(m[5]::integer, 0);
    s := coalesce(m[6]::numeric, 0);
  else
    m := regexp_match(value,
      '^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4}|[0-9]{2})(?: ([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))? ?([AaPp][Mm])?)?$');
    if m is null then
      return null;
    end if;
    mo := m[1]::integer; d := m[2]::integer; y := m[3]::integer;
    if y < 100 then
      y := y + 2000;
    end if;
    h := coalesce(m[4]::integer, 0); mi := coalesce(m[5]::integer, 0);
    s := coalesce(m[6]::numeric, 0);
    if upper(m[7]) = 'PM' and h < 12 then
      h := h + 12;
    elsif upper(m[7]) = 'AM' and h = 12 then
      h := 0;
    end if;
    m[7] := null;
  end if;
  if mo not between 1 and 12 or d < 1 or h > 23 or mi > 59 or s >= 60
    or d > extract(day from (make_date(y, mo, 1) + interval '1 month - 1 day')) then
    return null;
  end if;
  -- ISO offsets in the text keep their usual sign (a time zone argument would be POSIX).
  return format('%s-%s-%s %s:%s:%s%s', y, mo, d, h, mi, s,
    case when m[7] is null or m[7] = 'Z' then '+00'
         else regexp_replace(m[7], '^([+-][0-9]{2}):?([0-9]{2})$', '\1:\2') end)::timestamptz;
end;
$$;
comment on function private.parse_timestamp(text) is
  'Reads an ISO 8601 or US M/D/YYYY [h:mm AM] date-time (UTC when naive); null if unreadable.';

revoke all on function private.broadcast_to_org(uuid, text, jsonb) from public;
revoke all on function private.parse_timestamp(text) from public;
grant execute on function private.broadcast_to_org(uuid, text, jsonb)
  to authenticated, service_role, sms_system;
grant execute on function private.parse_timestamp(text) to authenticated, service_role;
