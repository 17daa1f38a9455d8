-- Schema rules: the conventions of DESIGN.md §4 checked over the whole catalog, so that a future
-- migration breaking one fails here. Each rule is one SQL function in schema `tests` returning its
-- offenders (sorted, one line each, naming the object); the rule holds when the list is empty.
-- Our schemas are `public` and `private`; extension-owned objects (pg_depend deptype 'e') and the
-- `tests` schema are ignored. The second part creates deliberately bad objects (and one good
-- table) and asserts each rule names exactly the bad ones, proving the checks can fail.
begin;
set search_path to public, extensions;
select plan(29);

\ir _helpers.sql

-- ============================================================================================
-- The rules. Every function runs with `search_path = ''`, so names print schema-qualified
-- (`public.t`, `auth.uid()`) whatever the caller's search_path.
-- ============================================================================================

-- Whether an object belongs to an extension (its own schema objects are not ours to judge).
create function tests.extension_owned(catalog regclass, object_id oid) returns boolean
language sql stable set search_path = '' as $$
  select exists (
    select 1 from pg_catalog.pg_depend d
    where d.classid = catalog and d.objid = object_id and d.deptype = 'e'
  )
$$;

-- Our tables, views, materialized views and foreign tables: schema, kind, extension membership.
create function tests.our_relations() returns setof pg_catalog.pg_class
language sql stable set search_path = '' as $$
  select c.*
  from pg_catalog.pg_class c
  join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  where n.nspname in ('public', 'private')
    and c.relkind in ('r', 'p', 'v', 'm', 'f')
    and not tests.extension_owned('pg_catalog.pg_class', c.oid)
$$;

-- Our functions and procedures.
create function tests.our_functions() returns setof pg_catalog.pg_proc
language sql stable set search_path = '' as $$
  select p.*
  from pg_catalog.pg_proc p
  join pg_catalog.pg_namespace n on n.oid = p.pronamespace
  where n.nspname in ('public', 'private')
    and not tests.extension_owned('pg_catalog.pg_proc', p.oid)
$$;

-- Policies on tables of every schema but `tests`, except on extension-owned tables.
create function tests.our_policies(all_schemas boolean default false)
returns table (policy_id oid, table_id oid, table_name text, policy_name text, cmd "char",
               roles oid[], expr text)
language sql stable set search_path = '' as $$
  select pol.oid, c.oid, c.relname::text, pol.polname::text, pol.polcmd, pol.polroles,
         concat_ws(' ', pg_catalog.pg_get_expr(pol.polqual, pol.polrelid),
                        pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid))
  from pg_catalog.pg_policy pol
  join pg_catalog.pg_class c on c.oid = pol.polrelid
  join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  where not tests.extension_owned('pg_catalog.pg_class', c.oid)
    and n.nspname <> 'tests'
    and (all_schemas or n.nspname in ('public', 'private'))
$$;

-- The table columns each index key position (1-based) uses: the column itself, or for an
-- expression (`lower(email)`) every column of the table it names. INCLUDE columns are not keys.
create function tests.index_key_columns()
returns table (table_id oid, index_id oid, pos integer, attnum smallint, attname text)
language sql stable set search_path = '' as $$
  select i.indrelid, i.indexrelid, k.pos::integer, a.attnum, a.attname::text
  from pg_catalog.pg_index i
  cross join lateral unnest((i.indkey::smallint[])[0:i.indnkeyatts - 1])
    with ordinality as k (attnum, pos)
  join pg_catalog.pg_attribute a
    on a.attrelid = i.indrelid and a.attnum > 0 and not a.attisdropped
   and (a.attnum = k.attnum
        or (k.attnum = 0
            and pg_catalog.pg_get_indexdef(i.indexrelid, k.pos::integer, false)
                ~ ('\m' || a.attname || '\M')))
$$;

-- Rule 1: every table in public has RLS enabled and at least one policy.
create function tests.rls_offenders() returns text[]
language sql stable set search_path = '' as $$
  select coalesce(array_agg(o order by o collate "C"), '{}') from (
    select format('%s: row level security is not enabled', c.oid::regclass) as o
    from tests.our_relations() c
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
      and not c.relrowsecurity
    union all
    select format('%s: has no policy', c.oid::regclass)
    from tests.our_relations() c
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
      and not exists (select 1 from pg_catalog.pg_policy p where p.polrelid = c.oid)
  ) x
$$;

-- Rule 2: every table in public and private has a primary key.
create function tests.primary_key_offenders() returns text[]
language sql stable set search_path = '' as $$
  select coalesce(array_agg(format('%s: has no primary key', c.oid::regclass)
                            order by c.oid::regclass::text), '{}')
  from tests.our_relations() c
  where c.relkind in ('r', 'p')
    and not exists (
      select 1 from pg_catalog.pg_constraint k where k.conrelid = c.oid and k.contype = 'p'
    )
$$;

-- Rule 3: every security definer function pins search_path to '' (proconfig `search_path=""`).
create function tests.definer_search_path_offenders() returns text[]
language sql stable set search_path = '' as $$
  select coalesce(array_agg(o order by o collate "C"), '{}') from (
    select format('%s: security definer with proconfig %s, not {search_path=""}',
                  p.oid::regprocedure, coalesce(p.proconfig::text, 'null')) as o
    from tests.our_functions() p
    where p.prosecdef
      and not coalesce('search_path=""' = any (p.proconfig), false)
  ) x
$$;

-- Rule 4: views in public run as the caller (security_invoker = true), so RLS applies;
-- materialized views are not allowed in public at all (RLS cannot protect them).
create function tests.view_offenders() returns text[]
language sql stable set search_path = '' as $$
  select coalesce(array_agg(o order by o collate "C"), '{}') from (
    select format('%s: view without security_invoker = true', c.oid::regclass) as o
    from tests.our_relations() c
    where c.relnamespace = 'public'::regnamespace and c.relkind = 'v'
      and not coalesce((select pg_catalog.bool(opt.option_value)
                        from pg_catalog.pg_options_to_table(c.reloptions) opt
                        where opt.option_name = 'security_invoker'), false)
    union all
    select format('%s: materialized view in public (RLS cannot protect it)', c.oid::regclass)
    from tests.our_relations() c
    where c.relnamespace = 'public'::regnamespace and c.relkind = 'm'
  ) x
$$;

-- Rule 5: policies call auth.uid()/jwt()/role()/email() and private.* functions only as a
-- scalar subquery: `(select auth.uid())` deparses as `( SELECT auth.uid() AS uid)`,
-- `array(select private.fn())` as `ARRAY( SELECT private.fn() AS fn)`. Any other occurrence is
-- evaluated per row.
create function tests.policy_call_offenders() returns text[]
language sql stable set search_path = '' as $$
  select coalesce(array_agg(o order by o collate "C"), '{}') from (
    select distinct format('%s on %s: %s() is not wrapped in (select …)',
                           p.policy_name, p.table_id::regclass, m[1]) as o
    from tests.our_policies(all_schemas => true) p
    cross join lateral regexp_matches(
      p.expr, '(?<!SELECT )\m(auth\.(?:uid|jwt|role|email)|private\.\w+)\(', 'g') m
  ) x
$$;

-- Rule 6: policies on our tables are `to authenticated` and named
-- `<table>_<op>_policy` or `<table>_<op>_<qualifier>_policy`, op matching the command.
create function tests.policy_role_and_name_offenders() returns text[]
language sql stable set search_path = '' as $$
  with p as (
    select pol.*,
           case pol.cmd when 'r' then 'select' when 'a' then 'insert' when 'w' then 'update'
                        when 'd' then 'delete' when '*' then 'all' end as op
    from tests.our_policies() pol
  )
  select coalesce(array_agg(o order by o collate "C"), '{}') from (
    select format('%s on %s: roles are %s, not {authenticated}', p.policy_name,
                  p.table_id::regclass,
                  array(select case r when 0 then 'public' else r::regrole::text end
                        from unnest(p.roles) r order by 1)) as o
    from p
    where p.roles is distinct from array['authenticated'::regrole::oid]
    union all
    select format('%s on %s: name is not %s_%s[_<qualifier>]_policy', p.policy_name,
                  p.table_id::regclass, p.table_name, p.op)
    from p
    where not (left(p.policy_name, length(p.table_name) + 1) = p.table_name || '_'
               and substr(p.policy_name, length(p.table_name) + 2)
                   ~ ('^' || p.op || '(_[a-z0-9_]+)?_policy$'))
  ) x
$$;

-- Rule 7: every foreign key is covered by a (non-partial) index whose leading key columns are
-- exactly the key's columns, in any order, except the allow-list (add 'schema.table.constraint'
-- with a reason, e.g. a key to a reference table whose rows are never deleted).
-- Allowed: keys to static reference data in private (USPS states, country calling codes):
-- those rows are never deleted or re-keyed, so no check ever searches the referencing side.
create function tests.foreign_key_index_offenders() returns text[]
language sql stable set search_path = '' as $$
  select coalesce(array_agg(o order by o collate "C"), '{}') from (
    select format('%s: foreign key %s (%s) has no index leading with its columns',
                  k.conrelid::regclass, k.conname,
                  array_to_string(array(select a.attname from unnest(k.conkey) with ordinality c (n, i)
                                        join pg_catalog.pg_attribute a
                                          on a.attrelid = k.conrelid and a.attnum = c.n
                                        order by c.i), ', ')) as o
    from pg_catalog.pg_constraint k
    join tests.our_relations() c on c.oid = k.conrelid
    where k.contype = 'f'
      and format('%s.%s', k.conrelid::regclass, k.conname) <> all (
        '{public.leads.leads_state_fkey,public.organizations.organizations_default_country_fkey}'::text[])
      and not exists (
        select 1 from pg_catalog.pg_index i
        where i.indrelid = k.conrelid and i.indpred is null
          and i.indnkeyatts >= cardinality(k.conkey)
          and (select array_agg(x order by x)
               from unnest((i.indkey::smallint[])[0:cardinality(k.conkey) - 1]) x)
            = (select array_agg(x order by x) from unnest(k.conkey) x)
      )
  ) x
$$;

-- Rule 8: every column of its own table a policy filters on (pg_depend of the policy) is a key
-- column of an index on that table that begins with the column itself or with org_id.
create function tests.policy_column_index_offenders() returns text[]
language sql stable set search_path = '' as $$
  with keys as (select * from tests.index_key_columns())
  select coalesce(array_agg(o order by o collate "C"), '{}') from (
    select distinct format('%s.%s (filtered by %s): not a key column of an index beginning '
                           'with it or org_id', p.table_id::regclass, a.attname, p.policy_name) as o
    from tests.our_policies() p
    join pg_catalog.pg_depend d
      on d.classid = 'pg_catalog.pg_policy'::regclass and d.objid = p.policy_id
     and d.refclassid = 'pg_catalog.pg_class'::regclass and d.refobjid = p.table_id
     and d.refobjsubid > 0
    join pg_catalog.pg_attribute a on a.attrelid = p.table_id and a.attnum = d.refobjsubid
    where not exists (
      select 1 from keys k
      where k.table_id = p.table_id and k.attnum = a.attnum
        and exists (select 1 from keys f
                    where f.index_id = k.index_id and f.pos = 1
                      and (f.attnum = a.attnum or f.attname = 'org_id'))
    )
  ) x
$$;

-- Rule 9: tenant tables (public, with org_id) have org_id not null, an index beginning with it,
-- and every multi-column index (PK and unique ones too) begins with it.
create function tests.tenant_offenders() returns text[]
language sql stable set search_path = '' as $$
  with tenant as (
    select c.oid, a.attnum, a.attnotnull
    from tests.our_relations() c
    join pg_catalog.pg_attribute a
      on a.attrelid = c.oid and a.attname = 'org_id' and not a.attisdropped
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
      -- The only exception allowed: the tenant table itself.
      and c.oid is distinct from pg_catalog.to_regclass('public.organizations')
  )
  select coalesce(array_agg(o order by o collate "C"), '{}') from (
    select format('%s: org_id is nullable', t.oid::regclass) as o
    from tenant t where not t.attnotnull
    union all
    select format('%s: no index begins with org_id', t.oid::regclass)
    from tenant t
    where not exists (select 1 from pg_catalog.pg_index i
                      where i.indrelid = t.oid and i.indpred is null and i.indkey[0] = t.attnum)
    union all
    select format('%s: multi-column index %s does not begin with org_id', t.oid::regclass,
                  i.indexrelid::regclass)
    from tenant t
    join pg_catalog.pg_index i on i.indrelid = t.oid
    where i.indnkeyatts > 1 and i.indkey[0] <> t.attnum
  ) x
$$;

-- Rule 10: every table and view, and every function, in public and private has a comment.
-- Partitions are exempt: they are made by code, and their parent carries the comment.
create function tests.comment_offenders() returns text[]
language sql stable set search_path = '' as $$
  select coalesce(array_agg(o order by o collate "C"), '{}') from (
    select format('%s: relation has no comment', c.oid::regclass) as o
    from tests.our_relations() c
    where not c.relispartition and pg_catalog.obj_description(c.oid, 'pg_class') is null
    union all
    select format('%s: function has no comment', p.oid::regprocedure)
    from tests.our_functions() p
    where pg_catalog.obj_description(p.oid, 'pg_proc') is null
  ) x
$$;

-- Rule 11a: no function in public or private is executable by anon or PUBLIC, except the
-- allow-list (add 'schema.fn(argtypes)' with a reason; empty now).
create function tests.function_execute_offenders() returns text[]
language sql stable set search_path = '' as $$
  select coalesce(array_agg(o order by o collate "C"), '{}') from (
    select format('%s: executable by %s', p.oid::regprocedure,
                  case when e.by_public then 'PUBLIC' else 'anon' end) as o
    from tests.our_functions() p
    cross join lateral (
      select exists (select 1
                     from aclexplode(coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner))) x
                     where x.grantee = 0 and x.privilege_type = 'EXECUTE') as by_public
    ) e
    where (e.by_public or pg_catalog.has_function_privilege('anon', p.oid, 'EXECUTE'))
      and p.oid::regprocedure::text <> all ('{}'::text[])
  ) x
$$;

-- Rule 11b: no table or view in public grants anything to anon (table or column grants).
create function tests.anon_table_offenders() returns text[]
language sql stable set search_path = '' as $$
  select coalesce(array_agg(o order by o collate "C"), '{}') from (
    select format('%s: anon has %s', c.oid::regclass, array_to_string(privs, ', ')) as o
    from tests.our_relations() c
    cross join lateral (
      select array(
        select priv
        from unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES',
                          'TRIGGER']) with ordinality as x (priv, i)
        where case when priv in ('SELECT', 'INSERT', 'UPDATE', 'REFERENCES')
                   then pg_catalog.has_any_column_privilege('anon', c.oid, priv)
                   else pg_catalog.has_table_privilege('anon', c.oid, priv) end
        order by i) as privs
    ) g
    where c.relnamespace = 'public'::regnamespace and cardinality(g.privs) > 0
  ) x
$$;

-- Rule 12: every updated_at column in public is kept by a BEFORE UPDATE FOR EACH ROW trigger
-- (on every column, enabled) calling private.set_updated_at().
create function tests.updated_at_offenders() returns text[]
language sql stable set search_path = '' as $$
  select coalesce(array_agg(format('%s: updated_at has no BEFORE UPDATE trigger calling '
                                   'private.set_updated_at()', c.oid::regclass)
                            order by c.oid::regclass::text), '{}')
  from tests.our_relations() c
  join pg_catalog.pg_attribute a
    on a.attrelid = c.oid and a.attname = 'updated_at' and not a.attisdropped
  where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
    and not exists (
      select 1 from pg_catalog.pg_trigger t
      where t.tgrelid = c.oid
        and t.tgfoid = pg_catalog.to_regprocedure('private.set_updated_at()')
        and t.tgtype & 1 = 1     -- FOR EACH ROW
        and t.tgtype & 2 = 2     -- BEFORE
        and t.tgtype & 16 = 16   -- UPDATE
        and cardinality(t.tgattr::smallint[]) = 0
        and t.tgenabled <> 'D'
    )
$$;

-- Rule 13: a security definer function in public (an RPC that bypasses RLS) checks its caller
-- in its own body: auth.uid(), private.has_role_on_org(), private.org_ids_with_role() or a
-- private.authorize_*() or private.visible_*() helper. Its owner's rights are otherwise
-- anyone's who may call it.
create function tests.definer_caller_check_offenders() returns text[]
language sql stable set search_path = '' as $$
  select coalesce(array_agg(format('%s: security definer in public without a check of its caller',
                                   p.oid::regprocedure)
                            order by p.oid::regprocedure::text), '{}')
  from tests.our_functions() p
  where p.pronamespace = 'public'::regnamespace and p.prosecdef
    and p.prosrc !~ '\m(auth\.uid|private\.has_role_on_org|private\.org_ids_with_role|private\.authorize_\w+|private\.visible_\w+)\('
$$;

-- Every rule's offenders together, and those naming a given probe.
create function tests.all_offenders() returns text[]
language sql stable set search_path = '' as $$
  select tests.rls_offenders() || tests.primary_key_offenders()
    || tests.definer_search_path_offenders() || tests.view_offenders()
    || tests.policy_call_offenders() || tests.policy_role_and_name_offenders()
    || tests.foreign_key_index_offenders() || tests.policy_column_index_offenders()
    || tests.tenant_offenders() || tests.comment_offenders()
    || tests.function_execute_offenders() || tests.anon_table_offenders()
    || tests.updated_at_offenders() || tests.definer_caller_check_offenders()
$$;

create function tests.naming(offenders text[], probe text) returns text[]
language sql immutable set search_path = '' as $$
  select coalesce(array_agg(o order by o collate "C"), '{}') from unnest(offenders) o
  where strpos(o, probe) > 0
$$;

-- ============================================================================================
-- The rules hold on the schema as migrated
-- ============================================================================================

select is(tests.rls_offenders(), '{}'::text[],
  'rule 1: every table in public has RLS enabled and a policy');
select is(tests.primary_key_offenders(), '{}'::text[],
  'rule 2: every table in public and private has a primary key');
select is(tests.definer_search_path_offenders(), '{}'::text[],
  'rule 3: every security definer function has search_path = ''''');
select is(tests.view_offenders(), '{}'::text[],
  'rule 4: views in public are security_invoker; no materialized view in public');
select is(tests.policy_call_offenders(), '{}'::text[],
  'rule 5: policies call auth.*() and private.*() only as (select …)');
select is(tests.policy_role_and_name_offenders(), '{}'::text[],
  'rule 6: policies are to authenticated and named <table>_<op>[_<qualifier>]_policy');
select is(tests.foreign_key_index_offenders(), '{}'::text[],
  'rule 7: every foreign key has an index leading with its columns');
select is(tests.policy_column_index_offenders(), '{}'::text[],
  'rule 8: every column a policy filters on is indexed (leading, or after org_id)');
select is(tests.tenant_offenders(), '{}'::text[],
  'rule 9: tenant tables: org_id not null, indexed, first in every multi-column index');
select is(tests.comment_offenders(), '{}'::text[],
  'rule 10: every table, view and function in public and private has a comment');
select is(tests.function_execute_offenders(), '{}'::text[],
  'rule 11: no function in public or private is executable by anon or PUBLIC');
select is(tests.anon_table_offenders(), '{}'::text[],
  'rule 11: no table or view in public grants anything to anon');
select is(tests.updated_at_offenders(), '{}'::text[],
  'rule 12: every updated_at in public is kept by private.set_updated_at()');
select is(tests.definer_caller_check_offenders(), '{}'::text[],
  'rule 13: every security definer function in public checks its caller');

-- ============================================================================================
-- The rules catch bad objects. Created after the checks above, rolled back with the file.
-- (Not in a savepoint: rolling one back would also undo pgTAP's record of the tests run in it.)
-- ============================================================================================

-- A table that follows every convention: no rule may name it.
create table public.probe_ok (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references public.organizations (id) on delete cascade,
  owner_id uuid references public.profiles (id) on delete set null,
  note text,
  updated_at timestamptz not null default now()
);
comment on table public.probe_ok is 'Probe: follows every schema rule.';
create index probe_ok_org_id_owner_id_idx on public.probe_ok (org_id, owner_id);
create index probe_ok_owner_id_idx on public.probe_ok (owner_id) include (org_id);
revoke all on public.probe_ok from anon;
alter table public.probe_ok enable row level security;
create trigger probe_ok_set_updated_at before update on public.probe_ok
  for each row execute function private.set_updated_at();
create policy probe_ok_select_policy on public.probe_ok for select to authenticated
  using (org_id = any (array(select private.org_ids_with_role()))
         or owner_id = (select auth.uid()));
create policy probe_ok_all_admin_policy on public.probe_ok for all to authenticated
  using ((select private.has_role_on_org(null)) and (select auth.jwt()) is not null);
create view public.probe_ok_view with (security_invoker = on) as select id from public.probe_ok;
comment on view public.probe_ok_view is 'Probe: a view that runs as the caller.';
revoke all on public.probe_ok_view from anon;
create function private.probe_ok_fn() returns integer
language sql stable security definer set search_path = '' as $$ select 1 $$;
comment on function private.probe_ok_fn() is 'Probe: a well-kept security definer function.';
revoke all on function private.probe_ok_fn() from public;

select is(tests.naming(tests.all_offenders(), 'probe_ok'), '{}'::text[],
  'no rule names a table, view and function that follow every convention');

-- Rule 1
create table public.probe_r1_no_rls (id integer primary key);
create table public.probe_r1_no_policy (id integer primary key);
alter table public.probe_r1_no_policy enable row level security;
select is(tests.naming(tests.rls_offenders(), 'probe_r1_'), array[
    'public.probe_r1_no_policy: has no policy',
    'public.probe_r1_no_rls: has no policy',
    'public.probe_r1_no_rls: row level security is not enabled'],
  'rule 1 names a table without RLS and a table without a policy');

-- Rule 2
create table private.probe_r2_no_pk (id integer unique);
create table public.probe_r2_no_pk (id integer not null);
select is(tests.naming(tests.primary_key_offenders(), 'probe_r2_'), array[
    'private.probe_r2_no_pk: has no primary key',
    'public.probe_r2_no_pk: has no primary key'],
  'rule 2 names tables without a primary key');

-- Rule 3
create function private.probe_r3_unset() returns integer
language sql security definer as $$ select 1 $$;
create function public.probe_r3_public() returns integer
language sql security definer set search_path = public as $$ select 1 $$;
create function private.probe_r3_invoker() returns integer
language sql as $$ select 1 $$;
select is(tests.naming(tests.definer_search_path_offenders(), 'probe_r3_'), array[
    'private.probe_r3_unset(): security definer with proconfig null, not {search_path=""}',
    'public.probe_r3_public(): security definer with proconfig {search_path=public}, not {search_path=""}'],
  'rule 3 names security definer functions without search_path = '''' (and only those)');

-- Rule 4
create view public.probe_r4_plain as select 1 as one;
create view public.probe_r4_off with (security_invoker = false) as select 1 as one;
create materialized view public.probe_r4_mat as select 1 as one;
select is(tests.naming(tests.view_offenders(), 'probe_r4_'), array[
    'public.probe_r4_mat: materialized view in public (RLS cannot protect it)',
    'public.probe_r4_off: view without security_invoker = true',
    'public.probe_r4_plain: view without security_invoker = true'],
  'rule 4 names views without security_invoker and materialized views');

-- Rule 5
create table public.probe_r5 (
  id integer primary key, org_id uuid not null, owner_id uuid, claims jsonb
);
alter table public.probe_r5 enable row level security;
create policy probe_r5_select_policy on public.probe_r5 for select to authenticated
  using (owner_id = auth.uid() or (auth.jwt() ->> 'role') = 'x'
         or owner_id = (select auth.uid()));
create policy probe_r5_update_policy on public.probe_r5 for update to authenticated
  using (org_id = any (array(select private.org_ids_with_role())))
  with check (private.has_role_on_org(org_id));
select is(tests.naming(tests.policy_call_offenders(), 'probe_r5_'), array[
    'probe_r5_select_policy on public.probe_r5: auth.jwt() is not wrapped in (select …)',
    'probe_r5_select_policy on public.probe_r5: auth.uid() is not wrapped in (select …)',
    'probe_r5_update_policy on public.probe_r5: private.has_role_on_org() is not wrapped in (select …)'],
  'rule 5 names policies calling auth.*() or private.*() per row');

-- Rule 6
create table public.probe_r6 (id integer primary key);
alter table public.probe_r6 enable row level security;
create policy probe_r6_select_policy on public.probe_r6 for select to anon, authenticated
  using (true);
create policy probe_r6_reader on public.probe_r6 for select to authenticated using (true);
create policy probe_r6_update_policy on public.probe_r6 for delete to authenticated using (true);
create policy probe_r6_insert_own_policy on public.probe_r6 for insert with check (true);
select is(tests.naming(tests.policy_role_and_name_offenders(), 'probe_r6_'), array[
    'probe_r6_insert_own_policy on public.probe_r6: roles are {public}, not {authenticated}',
    'probe_r6_reader on public.probe_r6: name is not probe_r6_select[_<qualifier>]_policy',
    'probe_r6_select_policy on public.probe_r6: roles are {anon,authenticated}, not {authenticated}',
    'probe_r6_update_policy on public.probe_r6: name is not probe_r6_delete[_<qualifier>]_policy'],
  'rule 6 names policies not to authenticated, or misnamed, or named for another command');

-- Rule 7
create table public.probe_r7 (
  id integer primary key,
  org_id uuid not null references public.organizations (id),
  user_id uuid references public.profiles (id),
  member_org uuid,
  member_user uuid,
  foreign key (member_org, member_user) references public.memberships (org_id, user_id),
  partial_ref uuid references public.profiles (id)
);
create index probe_r7_id_org_id_idx on public.probe_r7 (id, org_id);
create index probe_r7_user_id_idx on public.probe_r7 (user_id);
create index probe_r7_member_idx on public.probe_r7 (member_user, member_org, id);
create index probe_r7_partial_ref_idx on public.probe_r7 (partial_ref) where partial_ref is not null;
select is(tests.naming(tests.foreign_key_index_offenders(), 'probe_r7'), array[
    'public.probe_r7: foreign key probe_r7_org_id_fkey (org_id) has no index leading with its columns',
    'public.probe_r7: foreign key probe_r7_partial_ref_fkey (partial_ref) has no index leading with its columns'],
  'rule 7 names foreign keys without a leading, non-partial index (any column order is fine)');

-- Rule 8
create table public.probe_r8 (
  id integer primary key, org_id uuid not null, owner_id uuid, email text, note text, kind text
);
create index probe_r8_org_id_kind_idx on public.probe_r8 (org_id, kind);
create index probe_r8_email_idx on public.probe_r8 (lower(email));
create index probe_r8_id_note_idx on public.probe_r8 (id, note);
create index probe_r8_id_idx on public.probe_r8 (id) include (owner_id);
alter table public.probe_r8 enable row level security;
create policy probe_r8_select_policy on public.probe_r8 for select to authenticated
  using (org_id = any (array(select private.org_ids_with_role())) and kind = 'a'
         and lower(email) = (select private.confirmed_email())
         and note = 'x' and owner_id = (select auth.uid()));
select is(tests.naming(tests.policy_column_index_offenders(), 'probe_r8'), array[
    'public.probe_r8.note (filtered by probe_r8_select_policy): not a key column of an index beginning with it or org_id',
    'public.probe_r8.owner_id (filtered by probe_r8_select_policy): not a key column of an index beginning with it or org_id'],
  'rule 8 names policy columns only in a later position, or only INCLUDEd, in indexes');

-- Rule 9
create table public.probe_r9_nullable (id integer primary key, org_id uuid, kind text);
create index probe_r9_nullable_kind_org_id_idx on public.probe_r9_nullable (kind, org_id);
create table public.probe_r9_ok (
  id integer, org_id uuid not null, kind text, primary key (org_id, id)
);
create index probe_r9_ok_kind_idx on public.probe_r9_ok (kind) include (org_id);
create index probe_r9_ok_org_id_lower_kind_idx on public.probe_r9_ok (org_id, lower(kind));
select is(tests.naming(tests.tenant_offenders(), 'probe_r9_'), array[
    'public.probe_r9_nullable: multi-column index public.probe_r9_nullable_kind_org_id_idx does not begin with org_id',
    'public.probe_r9_nullable: no index begins with org_id',
    'public.probe_r9_nullable: org_id is nullable'],
  'rule 9 names a nullable, unindexed org_id and a multi-column index not led by it');

-- Rule 10
create table private.probe_r10 (id integer primary key);
create view public.probe_r10_view with (security_invoker) as select 1 as one;
create function private.probe_r10_fn() returns integer language sql as $$ select 1 $$;
select is(tests.naming(tests.comment_offenders(), 'probe_r10'), array[
    'private.probe_r10: relation has no comment',
    'private.probe_r10_fn(): function has no comment',
    'public.probe_r10_view: relation has no comment'],
  'rule 10 names tables, views and functions without a comment');

-- Rule 11
create function public.probe_r11_default() returns integer language sql as $$ select 1 $$;
create function private.probe_r11_public() returns integer language sql as $$ select 1 $$;
grant execute on function private.probe_r11_public() to public;
create function private.probe_r11_anon() returns integer language sql as $$ select 1 $$;
revoke all on function private.probe_r11_anon() from public;
grant execute on function private.probe_r11_anon() to anon;
create function private.probe_r11_closed() returns integer language sql as $$ select 1 $$;
revoke all on function private.probe_r11_closed() from public;
grant execute on function private.probe_r11_closed() to authenticated;
select is(tests.naming(tests.function_execute_offenders(), 'probe_r11_'), array[
    'private.probe_r11_anon(): executable by anon',
    'private.probe_r11_public(): executable by PUBLIC',
    'public.probe_r11_default(): executable by anon'],
  'rule 11 names functions executable by anon or PUBLIC');

create table public.probe_r11_default (id integer primary key);
create table public.probe_r11_column (id integer primary key, note text);
revoke all on public.probe_r11_column from anon;
grant select (note) on public.probe_r11_column to anon;
create table public.probe_r11_closed (id integer primary key);
revoke all on public.probe_r11_closed from anon;
select is(tests.naming(tests.anon_table_offenders(), 'probe_r11_'), array[
    'public.probe_r11_column: anon has SELECT',
    'public.probe_r11_default: anon has SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER'],
  'rule 11 names tables anon may use (default privileges, column grants)');

-- Rule 12
create table public.probe_r12_none (id integer primary key, updated_at timestamptz);
create table public.probe_r12_after (id integer primary key, updated_at timestamptz);
create trigger probe_r12_after_set_updated_at after update on public.probe_r12_after
  for each row execute function private.set_updated_at();
create table public.probe_r12_column (id integer primary key, note text, updated_at timestamptz);
create trigger probe_r12_column_set_updated_at before update of note on public.probe_r12_column
  for each row execute function private.set_updated_at();
create table public.probe_r12_ok (id integer primary key, updated_at timestamptz);
create trigger probe_r12_ok_set_updated_at before update on public.probe_r12_ok
  for each row execute function private.set_updated_at();
select is(tests.naming(tests.updated_at_offenders(), 'probe_r12_'), array[
    'public.probe_r12_after: updated_at has no BEFORE UPDATE trigger calling private.set_updated_at()',
    'public.probe_r12_column: updated_at has no BEFORE UPDATE trigger calling private.set_updated_at()',
    'public.probe_r12_none: updated_at has no BEFORE UPDATE trigger calling private.set_updated_at()'],
  'rule 12 names updated_at columns without a BEFORE UPDATE row trigger on every column');

-- Rule 13
create function public.probe_r13_open(id uuid) returns void
language sql security definer set search_path = '' as $$ delete from public.campaigns c where c.id = id $$;
create function public.probe_r13_checked(id uuid) returns void
language plpgsql security definer set search_path = '' as $$
begin
  perform private.authorize_campaign_action(id, 'probing');
end;
$$;
create function public.probe_r13_invoker(id uuid) returns void
language sql set search_path = '' as $$ delete from public.campaigns c where c.id = id $$;
select is(tests.naming(tests.definer_caller_check_offenders(), 'probe_r13_'), array[
    'public.probe_r13_open(uuid): security definer in public without a check of its caller'],
  'rule 13 names a public security definer function that never checks its caller');

select * from finish();
rollback;
