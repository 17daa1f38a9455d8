-- =============================================================================
-- Audit log: who did what to which row, with the values before and after, for the
-- tables whose changes matter to a tenant or a regulator. Written only by
-- statement-level triggers (set-based, so a 100k-row import costs one insert), read
-- only by an organization's admins, and append-only for everyone: no role, not even
-- the owner, may update, delete or truncate it.
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Tables
-- -----------------------------------------------------------------------------

create table public.audit_log (
  id bigint generated always as identity primary key,
  -- No foreign key: the trail outlives the organization, the user and the row.
  org_id uuid not null,
  occurred_at timestamptz not null default now(),
  actor_id uuid,
  actor_role text not null,
  table_name text not null,
  row_id text not null,
  action text not null constraint audit_log_action_check
    check (action in ('insert', 'update', 'delete')),
  before jsonb,
  after jsonb,
  transaction_id bigint not null default txid_current()
);
comment on table public.audit_log is
  'Append-only trail of changes to tenant data: actor, table, row, before and after.';
comment on column public.audit_log.actor_id is
  'The signed-in user (auth.uid()) behind the change; null for system work and migrations.';
comment on column public.audit_log.actor_role is
  'Database role the change ran as: authenticated, service_role, sms_system, postgres…';
comment on column public.audit_log.before is
  'Inserts: null. Updates: the changed columns'' old values. Deletes: the whole row.';
comment on column public.audit_log.after is
  'Inserts: the whole row. Updates: the changed columns'' new values. Deletes: null.';

create index audit_log_org_id_occurred_at_idx on public.audit_log (org_id, occurred_at desc);
create index audit_log_org_id_table_name_row_id_idx
  on public.audit_log (org_id, table_name, row_id);

-- -----------------------------------------------------------------------------
-- Grants: read only, and only for admins (RLS). Nobody writes directly.
-- -----------------------------------------------------------------------------

revoke all on public.audit_log from anon, authenticated, service_role;
grant select on public.audit_log to authenticated, service_role;

-- -----------------------------------------------------------------------------
-- Triggers: append-only, for every role
-- -----------------------------------------------------------------------------

create function private.refuse_audit_log_change() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  raise exception 'the audit log is append-only: % is not allowed', lower(tg_op)
    using errcode = '42501';
end;
$$;
comment on function private.refuse_audit_log_change() is
  'Refuses every update, delete and truncate of the audit log.';

create trigger audit_log_append_only before update or delete on public.audit_log
  for each row execute function private.refuse_audit_log_change();
create trigger audit_log_no_truncate before truncate on public.audit_log
  for each statement execute function private.refuse_audit_log_change();

-- -----------------------------------------------------------------------------
-- Enable RLS
-- -----------------------------------------------------------------------------

alter table public.audit_log enable row level security;

-- -----------------------------------------------------------------------------
-- Helpers: the audit trigger and the one call that attaches it to a table
-- -----------------------------------------------------------------------------

-- Statement-level, with transition tables. Arguments: the key column naming the row,
-- then the column holding the organization (org_id unless given).
create function private.audit_changes() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  key_column text := tg_argv[0];
  org_column text := coalesce(tg_argv[1], 'org_id');
  actor uuid := (select auth.uid());
  actor_role text := coalesce(nullif(current_setting('role', true), 'none'), session_user);
begin
  if tg_op = 'INSERT' then
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
comment on function private.audit_changes() is
  'Writes one audit_log row per inserted, updated (changed columns only) or deleted row.';

-- Creates the three statement-level audit triggers of a table.
create function private.attach_audit(target regclass, key_column text, org_column text default 'org_id')
returns void
language plpgsql
set search_path = ''
as $$
begin
  execute format(
    'create trigger audit_inserts after insert on %s referencing new table as new_rows '
    'for each statement execute function private.audit_changes(%L, %L)',
    target, key_column, org_column);
  execute format(
    'create trigger audit_updates after update on %s '
    'referencing old table as old_rows new table as new_rows '
    'for each statement execute function private.audit_changes(%L, %L)',
    target, key_column, org_column);
  execute format(
    'create trigger audit_deletes after delete on %s referencing old table as old_rows '
    'for each statement execute function private.audit_changes(%L, %L)',
    target, key_column, org_column);
end;
$$;
comment on function private.attach_audit(regclass, text, text) is
  'Migration helper: audits every insert, update and delete of a table.';

revoke all on function private.refuse_audit_log_change() from public;
revoke all on function private.audit_changes() from public;
revoke all on function private.attach_audit(regclass, text, text) from public;

select private.attach_audit('public.organizations', 'id', 'id');
select private.attach_audit('public.memberships', 'user_id');

-- -----------------------------------------------------------------------------
-- Policies
-- -----------------------------------------------------------------------------

create policy audit_log_select_policy on public.audit_log
  for select to authenticated
  using (org_id = any (array(select private.org_ids_with_role('{admin}'))));
