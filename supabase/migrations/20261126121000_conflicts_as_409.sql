-- =============================================================================
-- Conflicts answer 409 through PostgREST. PostgREST turns SQLSTATE class 55 into HTTP 500,
-- so a refusal the caller caused (deleting a running campaign, editing a started one's
-- template or audience) looked like a server fault. The campaign guard now raises PT409,
-- which PostgREST answers as 409 Conflict (and the Edge Functions map to their 409
-- `conflict`), as the import and lifecycle guards do; the messages are unchanged.
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
