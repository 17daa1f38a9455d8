-- =============================================================================
-- Import work tables analysed: the benchmark caught a second large upload into one
-- organization whose commit planned a nested loop over the unanalysed work table and ran
-- for minutes. Analysing both work tables after they are filled gives hash joins.
-- =============================================================================

create or replace function private.validate_lead_import(
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
