-- =============================================================================
-- The staging table of uploads: unlogged, its reference to the import checked per
-- statement (what the foreign key did per row), rows deleted with their import, an
-- import's key fixed, and no execution of an import whose rows are not all staged.
-- =============================================================================
begin;
set search_path to public, extensions;
select plan(12);
\ir _helpers.sql

create temp table ids (name text primary key, id uuid) on commit drop;
grant all on ids to authenticated, service_role;

select is((select relpersistence from pg_class where oid = 'public.lead_import_rows'::regclass),
  'u'::"char", 'lead_import_rows is unlogged');

select tests.authenticate_as('manager@acme.test');
insert into public.lead_imports (org_id, file_name, columns, row_count)
values (tests.org_id('acme'), 'staging.csv', '{Phone}', 3);
insert into ids select 'import', id from public.lead_imports where file_name = 'staging.csv';

select lives_ok(
  $$insert into public.lead_import_rows (org_id, import_id, row_number, cells)
    select tests.org_id('acme'), (select id from ids where name = 'import'), n, '["x"]'
    from generate_series(2, 3) n$$,
  'rows of an import of the organization are staged');
select throws_ok(
  $$insert into public.lead_import_rows (org_id, import_id, row_number, cells)
    values (tests.org_id('acme'), 'a9000000-0000-4000-8000-0000000000ff', 2, '["x"]')$$,
  '23503', 'lead_import_rows: no import a9000000-0000-4000-8000-0000000000ff in organization a0000000-0000-4000-8000-000000000000',
  'a row naming no import is refused');
select throws_ok(
  $$insert into public.lead_import_rows (org_id, import_id, row_number, cells)
    values (tests.org_id('acme'), (select id from ids where name = 'import'), 4, '["x"]'),
           (tests.org_id('acme'), 'a9000000-0000-4000-8000-0000000000fe', 5, '["x"]')$$,
  '23503', null, 'one bad row refuses the whole statement');
select is((select count(*)::integer from public.lead_import_rows
           where import_id = (select id from ids where name = 'import')), 2,
  'nothing of a refused statement is staged');

-- Another organization's import (Globex), seen from service_role, which bypasses RLS.
reset role;
set local role service_role;
insert into public.lead_imports (org_id, file_name, columns, row_count)
values (tests.org_id('globex'), 'other.csv', '{Phone}', 1);
insert into ids select 'globex_import', id from public.lead_imports where file_name = 'other.csv';
select throws_ok(
  $$insert into public.lead_import_rows (org_id, import_id, row_number, cells)
    values (tests.org_id('acme'), (select id from ids where name = 'globex_import'), 2, '["x"]')$$,
  '23503', null, 'a row cannot name another organization''s import');
select throws_ok(
  $$update public.lead_import_rows set import_id = (select id from ids where name = 'globex_import')
    where import_id = (select id from ids where name = 'import')$$,
  '23503', null, 'nor be moved to one');
select throws_ok(
  $$update public.lead_imports set org_id = tests.org_id('globex')
    where id = (select id from ids where name = 'import')$$,
  'PT409', 'lead_imports: an import''s id and org_id never change',
  'an import''s organization never changes');

-- Execution needs every uploaded row staged (a restart empties the unlogged table).
reset role;
select tests.authenticate_as('manager@acme.test');
select throws_ok(
  $$update public.lead_imports set status = 'executing'
    where id = (select id from ids where name = 'import')$$,
  'PT409',
  format('import %s: only 2 of its 3 uploaded rows are still staged (staged rows do not survive a database restart): upload the file again',
    (select id from ids where name = 'import')),
  'an import with rows missing cannot start executing');
insert into public.lead_import_rows (org_id, import_id, row_number, cells)
values (tests.org_id('acme'), (select id from ids where name = 'import'), 4, '["x"]');
select lives_ok(
  $$update public.lead_imports set status = 'executing'
    where id = (select id from ids where name = 'import')$$,
  'with every row staged it can');
update public.lead_imports set status = 'failed' where id = (select id from ids where name = 'import');

-- Deleting the import deletes its staged rows (the old ON DELETE CASCADE).
select lives_ok(
  $$delete from public.lead_imports where id = (select id from ids where name = 'import')$$,
  'a campaign manager deletes the import');
reset role;
select is((select count(*)::integer from public.lead_import_rows
           where import_id = (select id from ids where name = 'import')), 0,
  'its staged rows went with it');

select * from finish();
rollback;
