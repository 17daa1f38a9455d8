-- =============================================================================
-- Conflicts answer 409 through PostgREST. PostgREST turns SQLSTATE class 55 into HTTP 500,
-- so a refusal the caller caused (deleting a running campaign, editing a started one's
-- audience, an import status that cannot follow the current one) looked like a server
-- fault. These triggers now raise PT409, which PostgREST answers as 409 Conflict (and the
-- Edge Functions map to their 409 `conflict`); the messages are unchanged.
-- =============================================================================

create or replace function private.guard_campaign_change() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if tg_op = 'DELETE' then
    if old.status in ('scheduled', 'running', 'paused') and pg_catalog.pg_trigger_depth() = 1 then
      raise exception 'campaign "%" is %: cancel it before deleting it', old.name, old.status
        using errcode = 'PT409';
    end if;
    return old;
  end if;
  if old.status <> 'draft' and (
    new.template_id is distinct from old.template_id
    or new.audience is distinct from old.audience
    or new.rotation_strategy is distinct from old.rotation_strategy
  ) then
    raise exception 'campaign "%" is %: its template, rotation and audience are fixed once scheduled',
      old.name, old.status
      using errcode = 'PT409', hint = 'Duplicate the campaign to change them.';
  end if;
  return new;
end;
$$;
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
create or replace function private.guard_import_key() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  raise exception 'lead_imports: an import''s id and org_id never change'
    using errcode = 'PT409';
end;
$$;
