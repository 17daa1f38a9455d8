-- =============================================================================
-- Do-not-call lists: a national or state registry extract, the organization's own list, or
-- a list of known litigators, loaded as suppressions (source dnc) that name their list.
-- Suppressions already apply everywhere (a lead with a suppressed number is flagged at
-- import and on every write; the claim never sends to one); loading a list re-scrubs the
-- organization at once: its leads on the list are flagged, their pending campaign targets
-- skipped with the list's name, and the counts are kept on the list and returned.
-- =============================================================================

create type public.dnc_list_kind as enum ('national_registry', 'state_registry', 'internal',
  'litigator');
comment on type public.dnc_list_kind is
  'Where a do-not-call list comes from: the national or a state registry (an extract), the
   organization''s own list, or known TCPA litigators.';

create table public.dnc_lists (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references public.organizations (id) on delete cascade,
  name text not null
    constraint dnc_lists_name_length check (char_length(name) between 1 and 200),
  kind public.dnc_list_kind not null,
  source text constraint dnc_lists_source_length check (char_length(source) <= 500),
  loaded_by uuid references public.profiles (id) on delete set null,
  loaded_at timestamptz not null default now(),
  numbers integer not null default 0,
  added integer not null default 0,
  leads_flagged integer not null default 0,
  targets_skipped integer not null default 0,
  constraint dnc_lists_org_id_id_key unique (org_id, id)
);
comment on table public.dnc_lists is
  'Do-not-call lists loaded as suppressions (public.load_dnc_list), with what loading each
   did: numbers on it, suppressions added, leads flagged, pending targets skipped.';
comment on column public.dnc_lists.source is
  'Where the list came from: registry download, file name, date of the extract…';
comment on column public.dnc_lists.added is
  'Numbers suppressed by this list (the others were on a do-not-call list already).';

create index dnc_lists_org_id_loaded_at_idx on public.dnc_lists (org_id, loaded_at desc);
create index dnc_lists_loaded_by_idx on public.dnc_lists (loaded_by);

alter table public.dnc_lists enable row level security;
create policy dnc_lists_select_policy on public.dnc_lists
  for select to authenticated
  using (org_id = any (array(select private.org_ids_with_role())));
revoke all on public.dnc_lists from anon, authenticated, service_role;
grant select on public.dnc_lists to authenticated, service_role;

create function private.refuse_dnc_list_change() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  -- Deleting the organization cascades here (trigger depth > 1); anything else is refused.
  if tg_op = 'DELETE' and pg_catalog.pg_trigger_depth() > 1 then
    return old;
  end if;
  raise exception 'a do-not-call list is a record of what was loaded: it is never changed'
    using errcode = '42501', hint = 'Lift its suppressions one by one, with a reason.';
end;
$$;
comment on function private.refuse_dnc_list_change() is
  'Keeps each loaded do-not-call list as evidence (an organization''s deletion excepted).';
create trigger dnc_lists_refuse_change before update or delete on public.dnc_lists
  for each row when (pg_catalog.current_setting('sct.loading_dnc_list', true)
    is distinct from 'on' or pg_catalog.pg_trigger_depth() > 1)
  execute function private.refuse_dnc_list_change();

select private.attach_audit('public.dnc_lists', 'id');

-- A suppression names the list that put it there.
alter table public.suppressions add column dnc_list_id uuid;
alter table public.suppressions add constraint suppressions_dnc_list_fkey
  foreign key (org_id, dnc_list_id) references public.dnc_lists (org_id, id);
create index suppressions_org_id_dnc_list_id_idx on public.suppressions (org_id, dnc_list_id);
alter table public.suppressions add constraint suppressions_dnc_list_source
  check (dnc_list_id is null or source = 'dnc');
comment on column public.suppressions.dnc_list_id is
  'The do-not-call list that suppressed the number (source dnc), when it came from one.';

-- Loads a list: every entry must be a phone number (else nothing is loaded, and the error
-- names the first bad entries by position); duplicates count once; a number already on a
-- do-not-call list keeps that one. Admins and campaign managers only.
create function public.load_dnc_list(
  org_id uuid,
  name text,
  kind public.dnc_list_kind,
  phones text[],
  source text default null
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  org uuid := load_dnc_list.org_id;
  list public.dnc_lists;
  bad text;
  bad_count integer;
  normalized text[];
  flagged integer;
  skipped integer;
  added_count integer;
  max_numbers constant integer := 1000000;
begin
  if not private.has_role_on_org(org, '{admin,campaign_manager}') then
    raise exception 'only an admin or a campaign manager of the organization loads do-not-call lists'
      using errcode = '42501';
  end if;
  if nullif(btrim(load_dnc_list.name), '') is null then
    raise exception 'name: give the list a name' using errcode = '22023', column = 'name';
  end if;
  if load_dnc_list.kind is null then
    raise exception 'kind: one of national_registry, state_registry, internal, litigator'
      using errcode = '22023', column = 'kind';
  end if;
  if coalesce(cardinality(phones), 0) = 0 then
    raise exception 'phones: the list has no numbers' using errcode = '22023', column = 'phones';
  end if;
  if cardinality(phones) > max_numbers then
    raise exception 'phones: % numbers; load at most % at a time', cardinality(phones), max_numbers
      using errcode = '22023', column = 'phones';
  end if;

  with parsed as (
    select p.n, p.raw, x.phone, x.problem
    from unnest(phones) with ordinality as p (raw, n)
    cross join lateral private.parse_phone(p.raw, private.org_default_country(org), true) x
  )
  select
    array_agg(distinct parsed.phone) filter (where parsed.phone is not null),
    count(*) filter (where parsed.phone is null),
    string_agg(format('#%s %s: %s', parsed.n, coalesce(to_jsonb(parsed.raw)::text, 'null'),
      coalesce(parsed.problem, 'no number')), '; ' order by parsed.n)
      filter (where parsed.phone is null and parsed.n <= 1000)
  into normalized, bad_count, bad
  from parsed;
  if bad_count > 0 then
    raise exception 'phones: % entries are not phone numbers, nothing was loaded', bad_count
      using errcode = '22023', column = 'phones',
        detail = left(bad, 2000);
  end if;

  perform pg_catalog.set_config('sct.loading_dnc_list', 'on', true);
  insert into public.dnc_lists (org_id, name, kind, source, loaded_by, numbers)
  values (org, btrim(load_dnc_list.name), load_dnc_list.kind,
    nullif(btrim(load_dnc_list.source), ''), auth.uid(),
    cardinality(normalized))
  returning * into list;

  -- Re-scrub: the organization's leads on the list not flagged yet (the suppressions'
  -- trigger flags them), and their pending campaign targets, skipped with the reason.
  select count(*) into flagged from public.leads l
  where l.org_id = org and l.phone = any (normalized) and not l.suppressed;

  insert into public.suppressions (org_id, phone, source, reason, dnc_list_id)
  select org, p, 'dnc', format('on the do-not-call list "%s" (%s)', list.name, list.kind), list.id
  from unnest(normalized) p
  on conflict (org_id, phone, source) where lifted_at is null do nothing;
  get diagnostics added_count = row_count;

  update public.campaign_targets t
  set status = 'skipped',
      status_reason = format('suppressed: on the do-not-call list "%s"', list.name)
  where t.org_id = org and t.status = 'pending' and t.phone = any (normalized);
  get diagnostics skipped = row_count;

  update public.dnc_lists d
  set added = added_count, leads_flagged = flagged, targets_skipped = skipped
  where d.id = list.id
  returning * into list;
  perform pg_catalog.set_config('sct.loading_dnc_list', '', true);

  return jsonb_build_object('id', list.id, 'name', list.name, 'kind', list.kind,
    'numbers', list.numbers, 'added', list.added,
    'already_suppressed', list.numbers - list.added,
    'leads_flagged', list.leads_flagged, 'targets_skipped', list.targets_skipped);
end;
$$;
comment on function public.load_dnc_list(uuid, text, public.dnc_list_kind, text[], text) is
  'Loads a do-not-call list as suppressions (source dnc) and re-scrubs the organization:
   returns numbers, added, already_suppressed, leads_flagged, targets_skipped. Every entry
   must parse as a phone number, or nothing is loaded (22023 naming the bad ones). Admins
   and campaign managers.';
revoke all on function public.load_dnc_list(uuid, text, public.dnc_list_kind, text[], text)
  from public, anon;
grant execute on function public.load_dnc_list(uuid, text, public.dnc_list_kind, text[], text)
  to authenticated;
