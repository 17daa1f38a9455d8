-- =============================================================================
-- Tenancy: organizations, profiles (one per auth.users row), memberships with a
-- role per organization, the private helpers every policy uses, and RLS.
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Types
-- -----------------------------------------------------------------------------

create type public.member_role as enum ('admin', 'campaign_manager', 'operator', 'viewer');
comment on type public.member_role is
  'What a member may do in an organization: admin > campaign_manager > operator > viewer.';

-- -----------------------------------------------------------------------------
-- Tables
-- -----------------------------------------------------------------------------

create table public.organizations (
  id uuid primary key default gen_random_uuid(),
  name text not null
    constraint organizations_name_length check (char_length(btrim(name)) between 1 and 200),
  slug text not null
    constraint organizations_slug_unique unique
    constraint organizations_slug_format check (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$'),
  admin_count integer not null default 0
    constraint organizations_admin_count_nonnegative check (admin_count >= 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.organizations is 'A tenant: every other tenant table carries its org_id.';
comment on column public.organizations.admin_count is
  'Admins among the members, kept by trigger: the row every admin change locks, so the
   last-admin rule holds under concurrency.';
comment on column public.organizations.slug is
  'Stable, URL-safe handle (lowercase letters, digits, inner hyphens; up to 63).';

create table public.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  email text,
  full_name text constraint profiles_full_name_length check (char_length(full_name) <= 200),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.profiles is
  'One row per auth.users row, created by trigger; what members may see of each other.';
comment on column public.profiles.email is 'Copied from auth.users on insert and email change.';

create table public.memberships (
  org_id uuid not null references public.organizations (id) on delete cascade,
  user_id uuid not null references public.profiles (id) on delete cascade,
  role public.member_role not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (org_id, user_id)
);
comment on table public.memberships is 'Who belongs to which organization, with which role.';

create index memberships_user_id_org_id_idx on public.memberships (user_id, org_id);

-- -----------------------------------------------------------------------------
-- Grants: hosted default privileges give the API roles everything on new tables;
-- take that back and grant exactly what each role may do (RLS then decides rows).
-- -----------------------------------------------------------------------------

revoke all on public.organizations, public.profiles, public.memberships
  from anon, authenticated, service_role;

grant select on public.organizations to authenticated;
grant update (name) on public.organizations to authenticated;

grant select on public.profiles to authenticated;
grant update (full_name) on public.profiles to authenticated;

-- No INSERT: members join by accepting an invitation (see the invitations migration), so
-- nobody can be added to an organization, and shown to its members, without consent.
grant select, delete on public.memberships to authenticated;
grant update (role) on public.memberships to authenticated;

grant select, insert, update, delete on public.organizations, public.profiles, public.memberships
  to service_role;

-- -----------------------------------------------------------------------------
-- Triggers
-- -----------------------------------------------------------------------------

create function private.set_updated_at() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end;
$$;
comment on function private.set_updated_at() is 'Keeps updated_at true on every update.';

create trigger organizations_set_updated_at before update on public.organizations
  for each row execute function private.set_updated_at();
create trigger profiles_set_updated_at before update on public.profiles
  for each row execute function private.set_updated_at();
create trigger memberships_set_updated_at before update on public.memberships
  for each row execute function private.set_updated_at();

-- A profile for every user, as Supabase documents (trigger on auth.users).
create function private.sync_profile_from_auth_user() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.profiles (id, email, full_name)
  values (
    new.id,
    new.email,
    nullif(btrim(left(new.raw_user_meta_data ->> 'full_name', 200)), '')
  )
  on conflict (id) do update set email = excluded.email;
  return new;
end;
$$;
comment on function private.sync_profile_from_auth_user() is
  'Creates the profile of a new auth user and keeps its email in step.';

create trigger on_auth_user_created after insert on auth.users
  for each row execute function private.sync_profile_from_auth_user();
create trigger on_auth_user_email_changed after update of email on auth.users
  for each row when (old.email is distinct from new.email)
  execute function private.sync_profile_from_auth_user();

-- A membership never moves to another organization or user.
create function private.guard_membership_move() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.org_id <> old.org_id or new.user_id <> old.user_id then
    raise exception 'a membership cannot move to another organization or user'
      using errcode = '23514', hint = 'Remove the membership and invite the person again.';
  end if;
  return new;
end;
$$;
comment on function private.guard_membership_move() is
  'Keeps memberships pinned to their organization and user.';

create trigger memberships_guard_move before update of org_id, user_id on public.memberships
  for each row execute function private.guard_membership_move();

-- An organization always keeps an admin. Every change to its admins updates its row's
-- admin_count, so concurrent changes queue on that row lock: under READ COMMITTED the
-- second sees the first's result and is refused; under REPEATABLE READ it fails with a
-- serialization error. Two admins demoting each other can never leave none.
create function private.count_admins() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  was_admin boolean := tg_op in ('UPDATE', 'DELETE') and old.role = 'admin';
  is_admin boolean := tg_op in ('INSERT', 'UPDATE') and new.role = 'admin';
  remaining integer;
begin
  if is_admin and not was_admin then
    update public.organizations set admin_count = admin_count + 1 where id = new.org_id;
  elsif was_admin and not is_admin then
    update public.organizations set admin_count = admin_count - 1 where id = old.org_id
    returning admin_count into remaining;
    -- No row: the organization itself is being deleted, taking its admins with it.
    if found and remaining < 1 then
      raise exception 'organization % must keep at least one admin', old.org_id
        using errcode = '23514', hint = 'Make another member admin first.';
    end if;
  end if;
  return null;
end;
$$;
comment on function private.count_admins() is
  'Maintains organizations.admin_count and refuses to remove an organization''s last admin.';

create trigger memberships_count_admins after insert or update of role or delete
  on public.memberships
  for each row execute function private.count_admins();

-- -----------------------------------------------------------------------------
-- Enable RLS
-- -----------------------------------------------------------------------------

alter table public.organizations enable row level security;
alter table public.profiles enable row level security;
alter table public.memberships enable row level security;

-- -----------------------------------------------------------------------------
-- Helpers: policies call them as `= any (array(select private.fn(...)))` or
-- `(select private.fn())`: evaluated once per statement, and index-friendly inside OR. Security definer so they read memberships without recursing into RLS.
-- -----------------------------------------------------------------------------

create function private.org_ids_with_role(roles public.member_role[] default null)
returns setof uuid
language sql
stable
security definer
set search_path = ''
as $$
  select m.org_id
  from public.memberships m
  where m.user_id = (select auth.uid())
    and (roles is null or m.role = any (roles));
$$;
comment on function private.org_ids_with_role(public.member_role[]) is
  'Organizations where the caller holds one of the given roles (any role when null).';

create function private.has_role_on_org(org uuid, roles public.member_role[] default null)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1 from public.memberships m
    where m.org_id = org
      and m.user_id = (select auth.uid())
      and (roles is null or m.role = any (roles))
  );
$$;
comment on function private.has_role_on_org(uuid, public.member_role[]) is
  'Whether the caller is a member of org, holding one of roles when given.';

revoke all on function private.org_ids_with_role(public.member_role[]) from public;
revoke all on function private.has_role_on_org(uuid, public.member_role[]) from public;
grant execute on function private.org_ids_with_role(public.member_role[]) to authenticated;
grant execute on function private.has_role_on_org(uuid, public.member_role[]) to authenticated;

-- -----------------------------------------------------------------------------
-- Policies
-- -----------------------------------------------------------------------------

create policy organizations_select_policy on public.organizations
  for select to authenticated
  using (id = any (array(select private.org_ids_with_role())));

create policy organizations_update_policy on public.organizations
  for update to authenticated
  using (id = any (array(select private.org_ids_with_role('{admin}'))))
  with check (id = any (array(select private.org_ids_with_role('{admin}'))));

create policy profiles_select_policy on public.profiles
  for select to authenticated
  using (
    id = (select auth.uid())
    or exists (
      select 1 from public.memberships m
      where m.user_id = profiles.id
        and m.org_id = any (array(select private.org_ids_with_role()))
    )
  );

create policy profiles_update_policy on public.profiles
  for update to authenticated
  using (id = (select auth.uid()))
  with check (id = (select auth.uid()));

create policy memberships_select_policy on public.memberships
  for select to authenticated
  using (org_id = any (array(select private.org_ids_with_role())));

create policy memberships_update_policy on public.memberships
  for update to authenticated
  using (org_id = any (array(select private.org_ids_with_role('{admin}'))))
  with check (org_id = any (array(select private.org_ids_with_role('{admin}'))));

create policy memberships_delete_policy on public.memberships
  for delete to authenticated
  using (
    org_id = any (array(select private.org_ids_with_role('{admin}')))
    or user_id = (select auth.uid())
  );

-- -----------------------------------------------------------------------------
-- RPCs
-- -----------------------------------------------------------------------------

create function public.create_organization(name text, slug text)
returns public.organizations
language plpgsql
security definer
set search_path = ''
as $$
declare
  caller uuid := (select auth.uid());
  org public.organizations;
begin
  if caller is null then
    raise exception 'create_organization needs a signed-in user' using errcode = '42501';
  end if;
  insert into public.organizations (name, slug)
  values (btrim(create_organization.name), lower(btrim(create_organization.slug)))
  returning * into org;
  insert into public.memberships (org_id, user_id, role) values (org.id, caller, 'admin');
  return org;
exception
  when unique_violation then
    raise exception 'an organization with slug "%" already exists', lower(btrim(slug))
      using errcode = '23505';
end;
$$;
comment on function public.create_organization(text, text) is
  'Creates an organization with the caller as its first admin.';

revoke all on function public.create_organization(text, text) from public, anon;
grant execute on function public.create_organization(text, text) to authenticated;
