-- =============================================================================
-- Staging an upload quickly. A preview writes every row of a file (100,000 rows, 10 MB)
-- into public.lead_import_rows, where the rows wait for execute; two costs dominated that
-- write: a foreign-key check per row (a lookup and a lock of the same import row, 100,000
-- times) and the write-ahead log of a table that is only a transient copy of a file the
-- user still has. Now:
--
-- - the table is UNLOGGED: no WAL, not replicated, and emptied by crash recovery. An
--   import whose rows are gone cannot start executing (guard_import_status counts them)
--   and says to upload the file again;
-- - the reference to the import is checked once per statement, for every distinct import
--   the statement wrote, with the lock a foreign key takes (FOR KEY SHARE), and deleting
--   an import deletes its staged rows, as the foreign key's ON DELETE CASCADE did.
-- =============================================================================

alter table public.lead_import_rows drop constraint lead_import_rows_import_fkey;
alter table public.lead_import_rows set unlogged;
comment on table public.lead_import_rows is
  'Staged rows of an upload (unlogged: emptied by crash recovery): its cells as text, by the
   row number the file shows. Each row''s import is checked per statement
   (private.check_staged_rows_import).';

-- Every import the statement's rows name exists in their organization, and is locked
-- against deletion until the transaction ends (what a foreign key does, per statement).
create function private.check_staged_rows_import() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  named integer;
  found_imports integer;
  missing record;
begin
  perform 'PRAGMA:TABLE: staged_rows (org_id uuid, import_id uuid, row_number integer, cells jsonb)';
  select count(*) into named
  from (select distinct r.org_id, r.import_id from staged_rows r) n;
  select count(*) into found_imports
  from (
    select 1 from public.lead_imports i
    where (i.org_id, i.id) in (select r.org_id, r.import_id from staged_rows r)
    for key share of i
  ) locked;
  if found_imports < named then
    select n.org_id, n.import_id into missing
    from (select distinct r.org_id, r.import_id from staged_rows r) n
    where not exists (
      select 1 from public.lead_imports i where i.org_id = n.org_id and i.id = n.import_id)
    limit 1;
    raise exception 'lead_import_rows: no import % in organization %', missing.import_id,
      missing.org_id
      using errcode = '23503', table = 'lead_import_rows', column = 'import_id';
  end if;
  return null;
end;
$$;
comment on function private.check_staged_rows_import() is
  'The foreign key of lead_import_rows to lead_imports, checked once per statement.';
revoke all on function private.check_staged_rows_import() from public;

create trigger lead_import_rows_check_import_insert after insert on public.lead_import_rows
  referencing new table as staged_rows
  for each statement execute function private.check_staged_rows_import();
create trigger lead_import_rows_check_import_update after update on public.lead_import_rows
  referencing new table as staged_rows
  for each statement execute function private.check_staged_rows_import();

-- Deleting imports deletes their staged rows.
create function private.delete_staged_rows() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform 'PRAGMA:TABLE: deleted_imports (org_id uuid, id uuid)';
  delete from public.lead_import_rows r
  using deleted_imports d
  where r.org_id = d.org_id and r.import_id = d.id;
  return null;
end;
$$;
comment on function private.delete_staged_rows() is
  'Deletes the staged rows of deleted imports (the cascade of the old foreign key).';
revoke all on function private.delete_staged_rows() from public;

create trigger lead_imports_delete_staged_rows after delete on public.lead_imports
  referencing old table as deleted_imports
  for each statement execute function private.delete_staged_rows();

-- An import's key never changes (staged rows, errors and leads refer to it).
create function private.guard_import_key() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  raise exception 'lead_imports: an import''s id and org_id never change'
    using errcode = 'PT409';
end;
$$;
comment on function private.guard_import_key() is
  'Refuses a change of lead_imports.id or org_id.';
revoke all on function private.guard_import_key() from public;

create trigger lead_imports_guard_key before update of id, org_id on public.lead_imports
  for each row when (new.id is distinct from old.id or new.org_id is distinct from old.org_id)
  execute function private.guard_import_key();

-- An import starts executing only with every row of its upload still staged.
create or replace function private.guard_import_status() returns trigger
language plpgsql
set search_path = ''
as $$
declare
  staged integer;
begin
  if new.status = old.status then
    return new;
  end if;
  if not (
    (old.status in ('staged', 'failed') and new.status = 'executing')
    or (old.status = 'executing' and new.status in ('completed', 'failed', 'staged'))
  ) then
    raise exception 'import % is %: it cannot become %', old.id, old.status, new.status
      using errcode = 'PT409';
  end if;
  if new.status = 'executing' then
    select count(*) into staged from public.lead_import_rows r
    where r.org_id = new.org_id and r.import_id = new.id;
    if staged <> new.row_count then
      raise exception 'import %: only % of its % uploaded rows are still staged (staged rows do not survive a database restart): upload the file again',
        new.id, staged, new.row_count
        using errcode = 'PT409';
    end if;
  end if;
  return new;
end;
$$;
comment on function private.guard_import_status() is
  'staged/failed → executing (with every row still staged) → completed | failed | staged
   (all-or-nothing refused); completed is final.';
